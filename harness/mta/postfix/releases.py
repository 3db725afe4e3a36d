"""The Postfix releases the harness runs, as data: upstream major.minor -> the Debian release whose packages its
image is built from. The core reads them through harness.mta.versions."""

RELEASES = {"3.7": "bookworm", "3.10": "trixie"}
DEFAULT = "3.10"  # what Debian stable (13, trixie) ships
# The folder of containers/ whose packages.txt lists its base image's Debian packages (shared with dns, mock-smtp).
BASE = "base"
