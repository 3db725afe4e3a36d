"""The Postfix releases the harness runs, as data: upstream major.minor -> the Debian release whose packages its
image is built from; and Postfix's stock configurations, as bundled examples. The core reads them through
harness.mta.versions."""

RELEASES = {"3.7": "bookworm", "3.10": "trixie"}
DEFAULT = "3.10"  # what Debian stable (13, trixie) ships
# The folder of containers/ whose packages.txt lists its base image's Debian packages (shared with dns, mock-smtp).
BASE = "base"
# Stock configurations (a bundled example each -> what it is): `mailharness matrix` runs each on every release.
STOCK = {
    "postfix-debian": "Debian's own main.cf for an Internet Site, as `dpkg-reconfigure postfix` writes it (mail for "
                      "library.example to the Unix accounts' mbox in /var/mail, /etc/aliases, /etc/mailname, the "
                      "snakeoil certificate, relaying deferred by `defer_unauth_destination`), with the package's "
                      "master.cf",
}
