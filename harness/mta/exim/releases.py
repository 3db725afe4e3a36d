"""The Exim releases the harness runs, as data: upstream major.minor -> the Debian release whose packages
(exim4-daemon-heavy) its image is built from; and Exim's stock configurations (harness.mta.stock). The core reads
them through harness.mta.versions."""

from ..stock import ImageFile, Stock, Text

RELEASES = {"4.96": "bookworm", "4.98": "trixie"}
DEFAULT = "4.98"  # what Debian stable (13, trixie) ships
# The folder of containers/ whose packages.txt lists its base image's Debian packages: Exim's own, since Debian's
# exim4-daemon-heavy and postfix are both the mail-transport-agent and cannot be installed together.
BASE = "exim"

# What `dpkg-reconfigure exim4-config` writes for an internet site whose mail name is library.example, listening
# on every interface (the question's default is 127.0.0.1 ; ::1: no mail from outside), mbox delivery in
# /var/mail, the configuration not split (the question's default): the keys in the order the package writes them.
DEBIAN_INTERNET_SITE = """\
# /etc/exim4/update-exim4.conf.conf for an internet site (mailharness matrix: the answers to
# `dpkg-reconfigure exim4-config` for the mail server of library.example, as the package writes them)
dc_eximconfig_configtype='internet'
dc_other_hostnames='library.example'
dc_local_interfaces=''
dc_readhost=''
dc_relay_domains=''
dc_minimaldns='false'
dc_relay_nets=''
dc_smarthost=''
CFILEMODE='644'
dc_use_split_config='false'
dc_hide_mailname=''
dc_mailname_in_oh='true'
dc_localdelivery='mail_spool'
"""

# Stock configurations: `mailharness matrix` runs each on every release, the recipes on the release's own image.
STOCK = (
    Stock(
        name="exim-stock-debian", title="Debian's internet site",
        what="Debian's internet-site configuration: the exim4-config package's own /etc/exim4/exim4.conf.template "
             "(the single file, not split), unchanged, made into the running configuration by update-exim4.conf "
             "from update-exim4.conf.conf with the answers `dpkg-reconfigure exim4-config` writes for an internet "
             "site for library.example (" + "; ".join(
                 f"`{line}`" for line in DEBIAN_INTERNET_SITE.splitlines() if line and not line.startswith("#")) +
             ") and /etc/mailname library.example",
        recipe=(Text("update-exim4.conf.conf", DEBIAN_INTERNET_SITE), Text("mailname", "library.example\n"))),
    Stock(
        name="exim-stock-default", title="Exim's own default configure",
        what="Exim's own default configure as the exim4 package ships it "
             "(/usr/share/doc/exim4-base/examples/example.conf), unchanged; its local_domains is `@` (the host's "
             "own name only), so the host is named library.example, the domain the check is told "
             "(--mta-domain library.example)",
        recipe=(ImageFile("/usr/share/doc/exim4-base/examples/example.conf", "configure"),),
        arguments=("--mta-domain", "library.example")),
)
