"""The records every MTA's log reader gives (harness.mta.<kind>.evidence): a refusal in the dialogue, a delivery
attempt, a session that failed without a reply, a notification (DSN) a node created, a message given up on, a
message still queued. They are MTA-neutral: each reader fills them from its own MTA's words, and the verdict, the
report and the load accounting read only these.

Vocabulary shared by every reader:
- a delivery's `status` is one of sent, bounced (given up for good), deferred (tried again later), expired (given
  up when the message's queue lifetime ran out) or undeliverable;
- a server or client is written "HOST[ADDRESS]" (host "" when the server could not name it), as `split_host` reads
  it; stages are harness.smtp.Stage.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ..smtp import Reply, Stage

if TYPE_CHECKING:
    from .events import LogEvent

Outcome = Literal["refused", "timed out", "unreachable", "lost"]
_HOST = re.compile(r"^(?P<host>[^\[\]\s]*)\[(?P<addr>[^\]]*)\](?::(?P<port>\d+))?$")


def split_host(value: str) -> tuple[str, str]:
    """"mx.store.example[10.1.1.10]:25" -> ("mx.store.example", "10.1.1.10"); "unknown[10.1.1.1]" -> ("", ...);
    a value that is no HOST[ADDR] (local, none) -> ("", "")."""
    m = _HOST.match(value.strip())
    if not m:
        return "", ""
    host = m.group("host")
    return ("" if host == "unknown" else host), m.group("addr")


@dataclass(frozen=True)
class Rejection:
    """A server refused during the dialogue."""

    node: str
    stage: Stage  # RCPT, MAIL, DATA, END-OF-MESSAGE, CONNECT...
    reply: Reply
    sender: str
    recipient: str
    line: str
    client: str = ""  # as the server logged it: "mx.store.example[10.1.1.10]"
    seq: int = 0  # the event's position in the topology's log

    @property
    def client_host(self) -> str:
        """The client's host name ("" when the server could not name it)."""
        return split_host(self.client)[0]

    @property
    def client_address(self) -> str:
        return split_host(self.client)[1]


@dataclass(frozen=True)
class SessionFailure:
    """An SMTP session of a node's client that ended without a reply to go by: the connection was refused, timed
    out or could not be routed (stage CONNECT), or was lost or timed out later (at the greeting: BANNER, or at a
    command)."""

    node: str  # the node whose client logged it
    host: str  # the server it tried: "mx.library.example" ("" if the client had no name for it)
    address: str  # its address, "10.1.2.11"
    stage: Stage
    outcome: Outcome
    reason: str  # the client's words, whole
    queue_id: str = ""  # the delivery it was part of ("" while unknown)
    seq: int = 0
    line: str = ""


@dataclass(frozen=True)
class TlsSession:
    """A TLS session of a node's SMTP client with the server it delivered to, as the client's log said it (each MTA's
    reader fills it from its own words: harness.mta.<kind>.evidence)."""

    protocol: str
    """The protocol, "TLSv1.3" ("" when the log did not say)."""
    cipher: str
    """The cipher, in the client's words."""
    verified: bool
    """The server's certificate verified: issued by a CA the client trusts, for the name it checks."""
    said: str
    """The client's own word for the certificate's standing: Postfix's "Verified", "Trusted" (the CA checked, not the
    name), "Untrusted", "Anonymous"; Exim's "CV=yes" or "CV=no"."""
    problem: str = ""
    """Why the certificate did not verify, where the client said it ("certificate has expired")."""

    def describe(self) -> str:
        """"TLSv1.3, verified", or not verified and why ("certificate has expired"), or in the client's word."""
        if self.verified:
            return f"{self.protocol or 'TLS'}, verified"
        why = self.problem or self.said
        return f"{self.protocol or 'TLS'}, not verified{f' ({why})' if why else ''}"


@dataclass(frozen=True)
class Delivery:
    """One delivery attempt's outcome for one recipient, as the node's delivery agent logged it."""

    node: str
    queue_id: str
    recipient: str
    relay: str  # where it went as logged: "HOST[ADDR]:PORT" for SMTP, else the local agent's name
    dsn: str  # the enhanced status ("5.1.1"); "" when the node logged none
    status: str  # sent, bounced, deferred, expired, undeliverable
    detail: str  # the rest of what the node said (the next hop's reply, the local agent's words)
    agent: str  # the program or transport that logged it
    line: str
    seq: int = 0
    reply: Reply | None = None  # the next hop's reply when it gave one
    stage: Stage | None = None  # where that reply (or the failed session) came
    failure: SessionFailure | None = None  # the session failed without a reply (refused, timed out, lost)
    host: str = ""  # the server talked to, or tried ("" for local delivery)
    address: str = ""
    forwarded: bool = False
    """The node's own aliases or a .forward sent the mail on (a new copy), rather than storing it."""
    original: str = ""
    """The recipient as the message first had it, where an alias or forward rewrote it ("" when not rewritten)."""
    conn_use: int = 1
    """How many deliveries the SMTP client's connection had carried, this one included (>= 2: a cached one)."""
    tls: TlsSession | None = None
    """The TLS session the delivery went over, as the client's log said it; None: in clear, or not said (a failed
    session, a local delivery)."""

    @property
    def queued_as(self) -> str:
        """The next hop's queue id when it accepted the message (its 250 reply names it, in its MTA's words)."""
        if self.status != "sent" or not self.host:
            return ""
        from ..mta.readers import queued_as

        return queued_as(self.detail)


@dataclass(frozen=True)
class Notice:
    """A DSN the node created about one of its messages."""

    node: str
    queue_id: str  # the original message's queue id
    dsn_queue_id: str
    kind: str  # non-delivery, delay, delivery (success)
    line: str
    seq: int = 0


@dataclass(frozen=True)
class Expiry:
    """The node gave up on a message because its time in the queue ran out."""

    node: str
    queue_id: str
    seq: int
    line: str


@dataclass(frozen=True)
class Hold:
    """The node set a message aside: it tries no delivery of it until an operator or a timer releases it. Exim
    freezes a bounce it cannot deliver ("Frozen (delivery error message)"); Postfix puts a message on hold (a HOLD
    action of header_checks, `postsuper -h`). A message held is settled as far as a story goes: nothing more
    happens to it by itself."""

    node: str
    queue_id: str
    seq: int
    line: str
    why: str
    """What the node said ("Frozen (delivery error message)", "placed on hold")."""


def still_held(events: Sequence[LogEvent], node: str | None, read_hold: Callable[[LogEvent], Hold | None],
               ends_hold: Callable[[LogEvent], bool]) -> list[Hold]:
    """The holds an MTA's reader finds (`read_hold`) that no later line of the same message ended (`ends_hold`: a
    release, or a removal), in the order of the log: each reader's `holds`, in its own MTA's words."""
    held: dict[tuple[str, str], Hold] = {}
    for e in events:
        if node is not None and e.node != node:
            continue
        if (h := read_hold(e)) is not None:
            held[(e.node, h.queue_id)] = h
        elif e.queue_id and ends_hold(e):
            held.pop((e.node, e.queue_id), None)
    return sorted(held.values(), key=lambda h: h.seq)


@dataclass(frozen=True)
class QueueEntry:
    """One message still in a node's queue, as the node's queue listing shows it."""

    node: str
    queue_id: str
    queue_name: str  # incoming, active, deferred, hold, frozen, corrupt
    sender: str
    recipients: tuple[str, ...]
    reasons: tuple[str, ...]  # why each recipient is delayed ("" when the MTA gave none yet)

    def __str__(self) -> str:
        why = "; ".join(dict.fromkeys(r for r in self.reasons if r))
        return (f"{self.node} {self.queue_name} {self.queue_id} from <{self.sender}> to "
                f"{', '.join(self.recipients)}" + (f" ({why})" if why else ""))


def original_recipient(d: Delivery) -> str:
    """The recipient this delivery is about as its message first had it (the alias, not what it became)."""
    return d.original or d.recipient


def is_mailbox_delivery(d: Delivery) -> bool:
    """The message reached a mailbox on this node: sent, to no next hop, and not forwarded on."""
    return d.status == "sent" and not d.host and not d.address and not d.forwarded


def is_final_failure(d: Delivery) -> bool:
    """The node gave up on this recipient for good: the failure a DSN reports (bounced, or expired)."""
    return d.status in ("bounced", "expired")


def connection_use(d: Delivery) -> int:
    """How many deliveries the SMTP client's connection had carried, this one included (1: a new connection)."""
    return d.conn_use
