"""The Postfix releases the harness runs, as data: upstream major.minor -> the Debian release whose packages its
image is built from; and Postfix's stock configurations (harness.mta.stock). The core reads them through
harness.mta.versions."""

from ..stock import FOLDER, Command, ImageFile, Stock

RELEASES = {"3.7": "bookworm", "3.10": "trixie"}
DEFAULT = "3.10"  # what Debian stable (13, trixie) ships
# The folder of containers/ whose packages.txt lists its base image's Debian packages (shared with dns, mock-smtp).
BASE = "base"

# What the postfix package's postinst sets on a new install (`postconf -e`, after main.cf.debian and, the snakeoil
# key being there, main.cf.tls) from the answers to `dpkg-reconfigure postfix` for an Internet Site whose mail name
# is library.example on the host mx.library.example, every other answer its default: in the postinst's order.
# (mydestination is the default postfix.config computes for those names; mailbox_command is set only where
# main.cf.debian has it, to the value it has, so it is left as it is.)
INTERNET_SITE = (
    "smtpd_relay_restrictions=permit_mynetworks permit_sasl_authenticated defer_unauth_destination",
    "myhostname=mx.library.example",
    "alias_maps=hash:/etc/aliases",
    "alias_database=hash:/etc/aliases",
    "myorigin=/etc/mailname",
    "mydestination=$myhostname, library.example, mx.library.example, localhost.library.example, localhost",
    "relayhost=",
    "mynetworks=127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128",
    "mailbox_size_limit=0",
    "recipient_delimiter=+",
    "inet_interfaces=all",
    "inet_protocols=all",
)

# Stock configurations: `mailharness matrix` runs each on every release, the recipes on the release's own image.
STOCK = (
    Stock(
        name="postfix-stock-debian", title="Debian's Internet Site",
        what="Debian's main.cf for an Internet Site as the postfix package's installer makes it: the package's own "
             "/usr/share/postfix/main.cf.debian and main.cf.tls (the snakeoil certificate) as the release ships "
             "them, then `postconf -e` of what its postinst sets from the answers to `dpkg-reconfigure postfix` "
             "for library.example on mx.library.example (" + "; ".join(f"`{s}`" for s in INTERNET_SITE) + "); "
             "the package's master.cf",
        recipe=(ImageFile("/usr/share/postfix/main.cf.debian", "main.cf"),
                ImageFile("/usr/share/postfix/main.cf.tls", "main.cf"),
                Command(("postconf", "-c", FOLDER, "-e", *INTERNET_SITE)))),
)
