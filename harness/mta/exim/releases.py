"""The Exim releases the harness runs, as data: upstream major.minor -> the Debian release whose packages
(exim4-daemon-heavy) its image is built from; and Exim's stock configurations, as bundled examples. The core reads
them through harness.mta.versions."""

RELEASES = {"4.96": "bookworm", "4.98": "trixie"}
DEFAULT = "4.98"  # what Debian stable (13, trixie) ships
# The folder of containers/ whose packages.txt lists its base image's Debian packages: Exim's own, since Debian's
# exim4-daemon-heavy and postfix are both the mail-transport-agent and cannot be installed together.
BASE = "exim"
# Stock configurations (a bundled example each -> what it is): `mailharness matrix` runs each on every release.
STOCK = {
    "exim-debian": "Debian's /etc/exim4 for an internet site: update-exim4.conf.conf as `dpkg-reconfigure "
                   "exim4-config` writes it, with a small split conf.d/ in Debian's conventions (the example's own, "
                   "not the package's full set), made into the running configuration by update-exim4.conf",
    "exim-default": "a single configure in the spirit of Exim's own default (src/configure.default): the local "
                    "domains delivered to the Unix accounts' mailboxes in /var/mail, everything else by MX, relaying "
                    "for the host itself, `require verify = recipient` in the RCPT ACL",
}
