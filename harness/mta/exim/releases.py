"""The Exim releases the harness runs, as data: upstream major.minor -> the Debian release whose packages
(exim4-daemon-heavy) its image is built from. The core reads them through harness.mta.versions."""

RELEASES = {"4.96": "bookworm", "4.98": "trixie"}
DEFAULT = "4.98"  # what Debian stable (13, trixie) ships
# The folder of containers/ whose packages.txt lists its base image's Debian packages: Exim's own, since Debian's
# exim4-daemon-heavy and postfix are both the mail-transport-agent and cannot be installed together.
BASE = "exim"
