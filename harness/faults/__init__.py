"""Faults: the catalogue, as data (here), and FaultError. Each fault names the node it breaks;
`harness.faults.interpret` says what it changes, `harness.faults.changes` what the applied ones imply, and
`harness.faults.ledger` applies and removes them.

    with world.fault(DiskFull("library")):
        world.send("jack@store.example", "jill@library.example")

`node` is a node's name, domain, or an address in its domain. Durations are Postfix time values ("3s").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ..errors import MailharnessError
from ..keywords import keywords


class FaultError(MailharnessError, RuntimeError):
    """A fault could not be applied to that node (wrong kind of node, unknown user, a fault its MTA cannot
    express...)."""


@keywords  # in __new__: every fault, and a fault of your own, says which keywords it takes
@dataclass(frozen=True)
class Fault:
    """The base of every fault: frozen data naming the node it breaks. A fault of your own subclasses it (as a
    frozen dataclass) and needs an interpretation (harness.faults.interpret)."""

    node: str
    """The node the fault breaks: its name ("library"), its domain ("library.example"), or an address in it."""

    def describe(self) -> str:
        """How reports name the fault: ``UnknownUser(library, user='jill')``."""
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if k != "node")
        return f"{type(self).__name__}({self.node}{', ' + fields if fields else ''})"


# -- recipients and mailboxes -------------------------------------------------------------------------------
@dataclass(frozen=True)
class UnknownUser(Fault):
    """`user` no longer exists on the node (removed from its recipient table): a correct server rejects at RCPT."""

    user: str = "jill"
    """The local part of the user who leaves ("jill")."""


@dataclass(frozen=True)
class AcceptUnknownUsers(Fault):
    """The backscatter misconfiguration: an empty `local_recipient_maps`. Mail for unknown users is accepted,
    then bounced to whatever sender it claimed, forged or not."""


@dataclass(frozen=True)
class DiskFull(Fault):
    """The file system under the mailboxes is full: delivery fails with ENOSPC after the message was accepted.
    `retry_for`: how long Postfix keeps the message before it bounces ("0s": try once, bounce at once)."""

    retry_for: str = "0s"
    """How long Postfix retries the delivery before it bounces, a Postfix time ("0s": once; "5s")."""


@dataclass(frozen=True)
class QueueFull(Fault):
    """The queue file system is (as good as) full: `452 4.3.1 Insufficient system storage` at MAIL FROM, before
    acceptance. Made with `queue_minfree` above the free space."""


@dataclass(frozen=True)
class MailboxFull(Fault):
    """`user`'s mailbox is at its size limit (`limit` bytes, mailbox_size_limit): the next message is accepted,
    then bounces with 5.2.2 at delivery. Where your configuration delivers to Dovecot (lmtp:), Dovecot's quota
    for `user` (a local part of the node's domain, or a full address) is `limit` bytes instead."""

    user: str = "jill"
    """Whose mailbox is full: a local part, or a full address."""
    limit: int = 1_000_000
    """The mailbox's size limit in bytes (Postfix's mailbox_size_limit, or Dovecot's quota)."""


@dataclass(frozen=True)
class SizeLimit(Fault):
    """The server refuses messages over `limit` bytes during the dialogue (message_size_limit: 552 5.3.4), and
    keeps the text it returns in its own DSNs under half of it (bounce_size_limit), so that it can still bounce.
    At least 10000 bytes: under that no server could send its own DSNs."""

    limit: int = 10_000
    """The largest message the node takes, in bytes (at least 10000)."""


# -- forwarding and refusals -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Forward(Fault):
    """`user`'s mail is forwarded to `to`, by an alias, a .forward file, or a virtual alias."""

    user: str = "jill"
    """Whose mail is forwarded: a local part of the node's domain."""
    to: str = "jill@example.edu"
    """Where it goes: an address (of the topology: mail never leaves it)."""
    via: Literal["alias", "forward", "virtual"] = "alias"
    """How: "alias" (/etc/aliases), "forward" (the user's ~/.forward) or "virtual" (virtual_alias_maps)."""

    def check(self) -> None:
        """FaultError unless `to` is one address (what every MTA's interpretation needs)."""
        if any(c.isspace() for c in self.to) or not self.to:
            raise FaultError(f"{self.describe()}: `to` must be one address")


@dataclass(frozen=True)
class Refuse(Fault):
    """The node answers RCPT TO:<address> with `reply` (4xx: temporarily, 5xx: permanently)."""

    address: str = "jill@example.edu"
    """The recipient address refused at RCPT TO."""
    reply: str = "550 5.1.1 Recipient refused by mailharness"
    """The reply: code, enhanced status and text ("450 4.2.0 Try later")."""

    def check(self) -> None:
        """FaultError unless the reply starts with a 4xx or 5xx code and is one line, and the address one word
        (what every MTA's interpretation needs)."""
        code = self.reply.split()[0] if self.reply.split() else ""
        if not (len(code) == 3 and code[0] in "45" and code.isdigit()):
            raise FaultError(f"{self.describe()}: the reply must start with a 4xx or 5xx code")
        if not self.address or any(c.isspace() for c in self.address) or "\n" in self.reply:
            raise FaultError(f"{self.describe()}: the address must be one word and the reply one line")


@dataclass(frozen=True)
class QueueLifetime(Fault):
    """Compressed queue times on the node: retries every second or two, gives up after `lifetime`, and sends a
    "delayed" DSN after `delay_warning` ("0": none).

    Postfix counts in whole seconds: a message expires at the first attempt that ends once its age (whole seconds
    since its arrival's second) reaches `lifetime`, so "0s" tries once, and "2s" (the default) is the shortest
    lifetime that always retries at least once before the message bounces (about two seconds in all). The queue
    manager sends the warning at the first deferral once the message is `delay_warning` less one second old:
    "1s" warns at the first deferral."""

    lifetime: str = "2s"
    """How long a message may stay queued before it bounces (maximal_queue_lifetime), a Postfix time."""
    delay_warning: str = "0"
    """When a "delayed" DSN is sent (delay_warning_time), a Postfix time; "0": never."""


# -- what the server accepts on the wire --------------------------------------------------------------------------
@dataclass(frozen=True)
class BareNewlineAccepted(Fault):
    """The node's SMTP server takes a bare line feed for a line end everywhere, the end of data included
    (<LF>.<LF>, <LF>.<CR><LF>): the behaviour before the fixes for SMTP smuggling (CVE-2023-51764), which RFC 5321
    s4.1.1.4 forbids. A client that passes such a sequence on (an outbound relay) can then have a second message
    accepted, with a forged sender, from the relay's address. On Postfix: ``smtpd_forbid_bare_newline = no``
    (Postfix 3.9's default is normalize; 3.7's, as Debian 12 ships it, is already no). See docs/smuggling.md."""


# -- transport security (RFC 3207 STARTTLS; the topology's own CA: harness.pki) ------------------------------------
TlsLevel = Literal["none", "may", "encrypt", "verify", "secure"]
CertificateKind = Literal["expired", "wrong_name", "self_signed", "untrusted"]


@dataclass(frozen=True)
class TlsPolicy(Fault):
    """The node's SMTP client's TLS policy towards every next hop (a setting the scenarios need, as QueueLifetime
    is; the baseline is "none"). In Postfix's words (smtp_tls_security_level): "none" (never TLS), "may"
    (opportunistic, RFC 3207 s4: TLS when the server offers it, else in clear), "encrypt" (TLS or no delivery; the
    certificate is not checked), "verify" (TLS with a certificate issued by a CA the node trusts, for the MX host's
    name), "secure" (the same, for a name under the next hop's domain, which insecure DNS cannot redirect;
    RFC 6125). Every node trusts the topology's own CA (harness.pki)."""

    level: TlsLevel = "may"
    """none, may, encrypt, verify or secure."""


@dataclass(frozen=True)
class NoStartTLS(Fault):
    """The node's SMTP server no longer offers STARTTLS (RFC 3207): its EHLO reply leaves it out, and the command
    is refused. A client whose policy requires TLS must defer and never send the message in clear. On Postfix:
    ``smtpd_tls_security_level = none``; on Exim: ``tls_advertise_hosts`` empty; on a mock node, whatever its
    script advertises."""


@dataclass(frozen=True)
class BadCertificate(Fault):
    """The node's SMTP server presents a certificate a client that verifies must refuse: "expired", "wrong_name"
    (issued for another host), "self_signed" or "untrusted" (issued by a CA no node trusts); each made for the
    node by the harness (harness.pki). STARTTLS still works: a client that only encrypts goes on."""

    kind: CertificateKind = "expired"
    """expired, wrong_name, self_signed or untrusted."""


@dataclass(frozen=True)
class StripStartTLS(Fault):
    """A man in the middle removes STARTTLS from the node's EHLO reply as its clients see it, and answers their
    STARTTLS command itself (502): the server still offers TLS, the clients never learn it (a downgrade attack,
    RFC 3207 s6). A client whose policy requires TLS must defer and never send the message in clear; `may` sends
    it in clear. The man in the middle is real: DNS gives the node's host name the address of a relay in the
    topology that rewrites the server's replies on the wire (containers/dns/mitm.py). One stripped server per port
    at a time (the relay has one address)."""


_LOGIN_WORD = re.compile(r"^[A-Za-z0-9._@+-]+$")


@dataclass(frozen=True)
class SaslLogin(Fault):
    """The node's SMTP client logs in (AUTH PLAIN or LOGIN, RFC 4954) to its next hops, as a satellite does to its
    provider's relayhost: a setting the scenarios need, as TlsPolicy is. Whether the password ever travels in clear
    is the question it lets a scenario ask: with TlsPolicy "encrypt" it must go inside TLS only, whatever the next
    hop offers. Postfix: smtp_sasl_auth_enable, smtp_sasl_password_maps (a static: table),
    smtp_sasl_security_options = noanonymous (PLAIN and LOGIN allowed, as a satellite sets it); a next hop that
    offers no AUTH gets the message without a login. Exim: the smtp transport's hosts_require_auth, plaintext
    authenticators whose client_send gives the login; a next hop that offers no AUTH defers the message."""

    user: str = "satellite@library.example"
    """The login, letters, digits and . _ @ + - (what every MTA's configuration syntax takes unquoted)."""
    password: str = "Tr0ub4dor-3"
    """The password, the same characters."""

    def check(self) -> None:
        """FaultError unless the login and the password are words every MTA's syntax takes as they are."""
        for what, value in (("user", self.user), ("password", self.password)):
            if not _LOGIN_WORD.match(value):
                raise FaultError(f"{self.describe()}: the {what} may hold letters, digits and . _ @ + - only")


# -- the next hop's availability -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Down(Fault):
    """The node's SMTP service is stopped while the host stays up: connections are refused. With `whole_host`
    (and always for a mock node) the container itself is stopped: connections time out after
    `client_timeout` (the other Postfix nodes' smtp_connect_timeout; 1 s, Postfix's shortest), as for a host that
    is gone. The other nodes know the host's address when it goes (harness.faults.ledger makes sure); a time-out longer
    than 5 s may still end as "No route to host": the kernel checks a silent neighbour again after 5 s
    (docs/time-outs.md)."""

    whole_host: bool = False
    """Stop the whole container (connections time out) instead of the SMTP service only (connections refused)."""
    client_timeout: str = "1s"
    """With `whole_host`: how long the other Postfix nodes try to connect (smtp_connect_timeout), a Postfix time."""


@dataclass(frozen=True)
class Unreachable(Fault):
    """The node is cut from the network: connections time out. Clients give up after `client_timeout` (the other
    Postfix nodes' smtp_connect_timeout; 1 s, Postfix's shortest; see Down for a longer one)."""

    client_timeout: str = "1s"
    """How long the other Postfix nodes try to connect (smtp_connect_timeout), a Postfix time."""


@dataclass(frozen=True)
class Tarpit(Fault):
    """The node accepts connections and never says a word (its processes frozen): clients time out waiting for
    the greeting after `client_timeout` (the other Postfix nodes' smtp_helo_timeout; 1 s, Postfix's shortest)."""

    client_timeout: str = "1s"
    """How long the other Postfix nodes wait for the greeting (smtp_helo_timeout), a Postfix time."""


# -- DNS -------------------------------------------------------------------------------------------------------
DnsKind = Literal["nxdomain", "servfail", "no_mx", "null_mx", "dead_mx"]


@dataclass(frozen=True)
class Dns(Fault):
    """The node's domain in DNS: nxdomain (it does not exist), servfail (its server fails), no_mx (no MX record;
    an A record for the domain itself), null_mx (RFC 7505 "MX 0 ."), dead_mx (the MX points at an address of the
    topology's network where no host is: the sending node's ARP probes go unanswered, and its connection fails
    with "No route to host" after 0.8 s, harness.mta.base.NEIGHBOUR_SYSCTLS)."""

    kind: DnsKind = "nxdomain"
    """What DNS answers for the node's domain: "nxdomain", "servfail", "no_mx", "null_mx" or "dead_mx"."""
