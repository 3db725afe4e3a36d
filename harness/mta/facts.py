"""What an MTA package reads from a user's configuration (`ConfigInfo`), and the errors of reading it: the
MTA-neutral part of "bring your own configuration" (harness.sut.byoc builds the topology from it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import MailharnessError

# A local part no configuration is expected to know: the harness's first guess at an unknown recipient.
UNKNOWN_LOCAL_PART = "no-such-user-4711"


@dataclass(frozen=True)
class Route:
    """Where a recipient's mail ends, as the MTA's own lookups say. `kind`: mailbox (this server stores it itself),
    lmtp (it hands it to an LMTP server on the node, Dovecot), relay (a next hop), other (a command, a file, an
    error or discard transport, or what the lookups cannot tell). `final`: the address the mail ends at, after
    aliases; `via`: how (the alias chain and the transport), for messages."""

    address: str
    kind: str
    final: str
    via: str = ""

    @property
    def stored_here(self) -> bool:
        """The mail ends in a mailbox on this server's node (a full disk or a quota there bites)."""
        return self.kind in ("mailbox", "lmtp")


@dataclass(frozen=True)
class Outbound:
    """How a server sends its mail through a relayhost (a smarthost: a null client, a satellite, an application
    host), as its configuration says: what a stand-in for the relayhost must be. `host` is "" when no stand-in
    can answer for it (`why` says why: an IP address, implicit TLS)."""

    relayhost: str  # as the configuration names it ("[smtp.provider.test]:587")
    host: str  # the name the stand-in answers for ("smtp.provider.test")
    port: int
    login: tuple[str, str] | None  # (user, password) it authenticates with (SASL); None: no AUTH
    tls: str  # its TLS policy towards the relayhost: "", "none", "may", "encrypt", "verify", "secure", "dane"...
    origin: str  # the domain its unqualified senders get (myorigin), as the relayhost sees them
    why: str = ""  # why no stand-in can answer for the relayhost, when host is ""
    local_clients: bool = False  # clients on the host itself (127.0.0.1) may send through it over SMTP (mynetworks)
    # where `tls` comes from, in the MTA's words ("smtp_tls_policy_maps: [smtp.provider.test]:587 encrypt")
    tls_said: str = ""
    # a policy the configuration states for the relayhost where the MTA never looks it up (an smtp_tls_policy_maps
    # key in another form than the next hop's), and what it says: the operator's intent, which `tls` does not carry
    tls_stated: str = ""
    tls_stated_said: str = ""

    @property
    def tls_required(self) -> bool:
        """Mail to the relayhost may only go over TLS (as the MTA applies its policy)."""
        return requires_tls(self.tls)

    @property
    def tls_intended(self) -> bool:
        """The configuration requires TLS to the relayhost somewhere: as the MTA applies it, or in an entry the MTA
        never looks up."""
        return self.tls_required or requires_tls(self.tls_stated)

    @property
    def verifies(self) -> bool:
        """The certificate must be trusted (and name the host), which a stand-in's is not (issued by the topology's
        own CA, which the configuration does not name; DANE's TLSA records need DNSSEC, which the topology lacks)."""
        return self.tls in ("verify", "secure", "dane", "dane-only", "fingerprint")


# TLS policy levels (Postfix's words) that never send in clear. "dane" is opportunistic: TLS is mandatory only where
# DNSSEC-validated TLSA records exist (RFC 7672 s2.2), which the topology cannot give.
REQUIRED_TLS = ("encrypt", "dane-only", "fingerprint", "verify", "secure")


def requires_tls(level: str) -> bool:
    """The client policy `level` never sends in clear."""
    return level in REQUIRED_TLS


class ProbeError(MailharnessError, RuntimeError):
    """The probe container (where the MTA reads the configuration) could not be started or answered nonsense."""


class ConfigError(MailharnessError, ValueError):
    """The directory is not a configuration the harness can use (before the MTA even looks at it)."""


@dataclass(frozen=True)
class ConfigInfo:
    directory: Path
    params: dict[str, str]  # the values the MTA gives the settings the harness reads
    hostname: str
    domain: str
    local_domains: tuple[str, ...]
    virtual_domains: tuple[str, ...]
    relay_domains: tuple[str, ...]
    recipients: tuple[str, ...]  # addresses the MTA's lookups know, best first (delivered by this server first)
    local_users: tuple[str, ...]  # Unix accounts the node gets (the local class's recipients)
    notes: tuple[str, ...] = field(default=())
    unknown: str = ""  # an address the MTA's lookups confirm unknown, or "" (unknown_reason says why)
    unknown_reason: str = ""
    known_reason: str = ""  # why no known recipient was found, when none was
    delivered_here: bool = True  # the first recipient's mail is delivered by this server (not relayed on)
    files: tuple[tuple[str, bytes], ...] = ()  # files it names outside its folder, as the node gets them
    relay_unknown: str = ""  # an address of a relay domain the MTA's lookups confirm unknown, or ""
    relay_unknown_reason: str = ""
    stand_ins: tuple[str, ...] = ()  # the services it names that the node stands in for
    lmtp_delivery: bool = False  # the first known recipient's mail is delivered over LMTP
    routes: tuple[Route, ...] = ()  # where each of `recipients` ends, in the same order
    # "PARAM = TABLE" for each table that decides what the server serves or accepts and that the harness cannot
    # read (SQL, LDAP...): the node cannot either (no database in the topology), so mail to its domains gets a
    # temporary lookup failure; `--mta-table PARAM=FILE` puts a readable copy in its place
    unreadable: tuple[str, ...] = ()
    outbound: Outbound | None = None  # it sends through a relayhost: the outbound requirements apply
    # why requirements about mail it receives do not apply ("" when they do): it listens on loopback only, or
    # serves no domain
    inbound_na: str = ""
    # where the TLS files it names come from: "folder" (its own folder), "host" (this host, at their paths),
    # "image" (the image's, such as Debian's snakeoil), "made" (by the harness: self-signed); "" when it names none
    tls_files: str = ""

    @property
    def domains(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.local_domains + self.virtual_domains + self.relay_domains))
