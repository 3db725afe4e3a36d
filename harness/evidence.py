"""What the nodes' logs say happened since the last reset: rejections, queued messages, deliveries, failed sessions,
bounces.

This is the raw material of the verdict: plain records read from Postfix's own log lines. Everything the harness
knows about the wording of Postfix's logs is here, and only here (the verdict links these records, the report
draws them); stages are `harness.smtp.Stage`, the same names the harness's SMTP client uses.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from .events import LogEvent
from .smtp import Reply, Stage, stage_of

__all__ = [
    "Delivery", "Expiry", "Notice", "Outcome", "Rejection", "SessionFailure", "Stage", "deliveries", "expirations",
    "is_local_delivery", "is_removal", "message_ids", "notices", "parse_session_failure", "problems", "queued",
    "queued_as", "rejections", "removed", "session_failures", "split_host",
]

_REJECT = re.compile(r"^reject: (?P<stage>[A-Z-]+) from (?P<client>\S+): (?P<code>\d{3}) (?P<text>.*?); "
                     r"from=<(?P<sender>[^>]*)>(?: to=<(?P<rcpt>[^>]*)>)?")  # no to= at MAIL FROM
_HOST = re.compile(r"^(?P<host>[^\[\]\s]*)\[(?P<addr>[^\]]*)\](?::(?P<port>\d+))?$")
_SAID = re.compile(r"said: (?P<code>\d{3})[ -](?P<text>.*?)(?: \(in reply to (?P<cmd>.+?)\))?$")
_REFUSED_TO_TALK = re.compile(r"^host (?P<host>\S+) refused to talk to me: (?P<code>\d{3})[ -](?P<text>.*)$")
_QUEUED_AS = re.compile(r"queued as (\w+)")
_NOTICE = re.compile(r"^sender (?P<kind>non-delivery|delay|delivery status) notification: (?P<qid>\w+)")
_PROCESS = re.compile(r"(?:^|\s)(?P<prog>[\w/.-]+)\[(?P<pid>\d+)\]: ")
# Postfix's SMTP client, when a session with a server fails without a reply to go by (smtp_connect.c and
# smtp_trouble.c): "connect to HOST[ADDR]:PORT: WHY", "lost connection with HOST[ADDR] while WHERE",
# "conversation with HOST[ADDR] timed out while WHERE"; the queue manager may prefix "delivery temporarily
# suspended: " when it has marked the destination as down.
_SUSPENDED = "delivery temporarily suspended: "
_CONNECT = re.compile(r"^connect to (?P<server>\S+?): (?P<why>.+)$")
_LOST = re.compile(r"^(?:lost connection with (?P<lost>\S+)|conversation with (?P<slow>\S+) timed out) "
                   r"while (?P<where>.+?)$")
# "while ..." (smtp_proto.c's `where` and xfer_states) and "(in reply to ... command)" (xfer_request) -> Stage
_WHERE: tuple[tuple[str, Stage], ...] = (
    ("receiving the initial server greeting", "BANNER"), ("performing the EHLO handshake", "EHLO"),
    ("performing the HELO handshake", "HELO"), ("performing the LHLO handshake", "EHLO"),
    ("receiving the STARTTLS response", "STARTTLS"), ("sending XFORWARD", "MAIL"), ("sending MAIL FROM", "MAIL"),
    ("sending RCPT TO", "RCPT"), ("sending DATA command", "DATA"), ("sending message body", "DATA"),
    ("sending end of data", "END-OF-MESSAGE"), ("sending final RSET", "RSET"), ("sending RSET probe", "RSET"),
    ("sending QUIT", "QUIT"),
)
_IN_REPLY_TO: dict[str, Stage] = {"end of DATA": "END-OF-MESSAGE", "final RSET": "RSET", "RSET probe": "RSET",
                                  "XFORWARD name/address": "MAIL", "XFORWARD helo/protocol": "MAIL"}
_LOCAL_RELAYS = ("local", "none", "virtual")  # relay= values that name no SMTP server
_PROBLEMS = ("fatal:", "panic:", "error:", "warning:")

Outcome = Literal["refused", "timed out", "unreachable", "lost"]


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
    """A server refused during the dialogue (Postfix logs `NOQUEUE: reject: RCPT from ...`)."""

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
        """The client's host name ("" when the server could not name it: Postfix's "unknown")."""
        return split_host(self.client)[0]

    @property
    def client_address(self) -> str:
        return split_host(self.client)[1]


@dataclass(frozen=True)
class SessionFailure:
    """An SMTP session of a node's client that ended without a reply to go by: the connection was refused, timed
    out or could not be routed (stage CONNECT), or was lost or timed out later (at the greeting: BANNER, or at a
    command). Read from Postfix's lines "connect to HOST[ADDR]:25: Connection refused", "lost connection with
    HOST[ADDR] while receiving the initial server greeting", "conversation with HOST[ADDR] timed out while ..."."""

    node: str  # the node whose client logged it
    host: str  # the server it tried: "mx.library.example" ("" if Postfix had no name for it)
    address: str  # its address, "10.1.2.11"
    stage: Stage
    outcome: Outcome
    reason: str  # Postfix's words, whole
    queue_id: str = ""  # the delivery it was part of ("" while its process has logged no queue id after it)
    seq: int = 0
    line: str = ""


def parse_session_failure(text: str, node: str = "", *, queue_id: str = "", seq: int = 0,
                          line: str = "") -> SessionFailure | None:
    """A SessionFailure from Postfix's words (a log line's text or a delivery's status detail), else None."""
    reason = text.strip()
    words = reason.removeprefix(_SUSPENDED)
    m = _CONNECT.match(words)
    if m:
        host, addr = split_host(m.group("server"))
        why = m.group("why").lower()
        outcome: Outcome = "refused" if "refused" in why else "timed out" if "timed out" in why else "unreachable"
        return SessionFailure(node, host, addr, "CONNECT", outcome, reason, queue_id, seq, line)
    m = _LOST.match(words)
    if m:
        host, addr = split_host(m.group("lost") or m.group("slow") or "")
        where = m.group("where")
        found: Stage = next((st for prefix, st in _WHERE if where.startswith(prefix)), "DATA")
        return SessionFailure(node, host, addr, found, "lost" if m.group("lost") else "timed out", reason, queue_id,
                              seq, line)
    return None


@dataclass(frozen=True)
class Delivery:
    """One delivery attempt's outcome, as a delivery agent logged it (`to=<..>, relay=.., dsn=.., status=..`)."""

    node: str
    queue_id: str
    recipient: str
    relay: str
    dsn: str
    status: str  # sent, bounced, deferred, expired, undeliverable
    detail: str
    agent: str  # postfix/smtp, postfix/local, postfix/error...
    line: str
    seq: int = 0
    reply: Reply | None = None  # the next hop's reply when it gave one ("host X said: 550 ...")
    stage: Stage | None = None  # where that reply (or the failed session) came
    failure: SessionFailure | None = None  # the session failed without a reply (refused, timed out, lost)
    host: str = ""  # the server talked to, or tried ("" for local delivery)
    address: str = ""

    @property
    def forwarded(self) -> bool:
        """The local delivery agent sent the mail on (an alias or a .forward): "forwarded as QUEUEID"."""
        return self.status == "sent" and self.detail.startswith("forwarded")

    @property
    def queued_as(self) -> str:
        """The next hop's queue id when it accepted the message ("250 2.0.0 Ok: queued as ABC")."""
        return queued_as(self.detail) if self.status == "sent" and self.host else ""


def _delivery(e: LogEvent) -> Delivery:
    relay, detail, status = e.get("relay") or "", e.get("detail") or "", e.get("status") or ""
    host, addr = ("", "") if relay in _LOCAL_RELAYS else split_host(relay)
    reply: Reply | None = None
    at: Stage | None = None
    said = _SAID.search(detail)
    talk = _REFUSED_TO_TALK.match(detail.removeprefix(_SUSPENDED))
    failure = None if said or talk else parse_session_failure(detail, e.node, queue_id=e.queue_id or "",
                                                               seq=e.seq, line=e.line)
    if said:
        reply = Reply.parse(int(said.group("code")), said.group("text"))
        cmd = (said.group("cmd") or "").removesuffix(" command")
        at = _IN_REPLY_TO.get(cmd) or stage_of(cmd) if cmd else None
    elif talk:  # the greeting (or a 421 to EHLO/HELO) turned the client away
        reply, at = Reply.parse(int(talk.group("code")), talk.group("text")), "BANNER"
        host, addr = split_host(talk.group("host"))
    elif failure is not None:
        at = failure.stage
        host, addr = (failure.host, failure.address) if failure.host or failure.address else (host, addr)
    return Delivery(e.node, e.queue_id or "", e.to or "", relay, e.get("dsn") or "", status, detail, e.program,
                    e.line, e.seq, reply, at, failure, host, addr)


def rejections(events: Sequence[LogEvent], node: str | None = None) -> list[Rejection]:
    out = []
    for e in events:
        if (node is None or e.node == node) and e.queue_id == "NOQUEUE":
            m = _REJECT.match(e.text)
            at = stage_of(m.group("stage")) if m else None
            if m and at is not None:
                reply = Reply.parse(int(m.group("code")), m.group("text"))
                out.append(Rejection(e.node, at, reply, m.group("sender"), m.group("rcpt") or "", e.line,
                                     m.group("client"), e.seq))
    return out


def message_ids(events: Sequence[LogEvent]) -> dict[tuple[str, str], str]:
    """(node, queue id) -> Message-ID, for every message a node queued (cleanup logs `message-id=<...>`)."""
    return {(e.node, e.queue_id): e.text.split("message-id=", 1)[1].strip() for e in events
            if e.program == "postfix/cleanup" and e.queue_id and e.queue_id != "NOQUEUE" and "message-id=" in e.text}


def queued(events: Sequence[LogEvent], node: str | None = None) -> list[str]:
    """Queue ids of messages the node accepted into its queue (cleanup logged a message-id)."""
    return [qid for (n, qid) in message_ids(events) if node is None or n == node]


def deliveries(events: Sequence[LogEvent], node: str | None = None) -> list[Delivery]:
    """Every delivery attempt's outcome, with the next hop's reply and its stage, or how its session failed."""
    return [_delivery(e) for e in events
            if (node is None or e.node == node) and e.queue_id and "status" in e.fields and e.to is not None]


def session_failures(events: Sequence[LogEvent], node: str | None = None) -> list[SessionFailure]:
    """Failed sessions the SMTP client logged on their own line ("connect to ...: Connection refused" before it
    tries the next server, or before its delivery line), each with the queue id of the delivery it was part of:
    the next queue id the same client process logged after it."""
    out: list[SessionFailure] = []
    waiting: dict[tuple[str, str, str], list[int]] = {}  # (node, program, pid) -> failures without a queue id
    for e in events:
        if node is not None and e.node != node:
            continue
        p = _PROCESS.search(e.line)
        proc = (e.node, e.program, p.group("pid") if p else "")
        if e.queue_id and e.queue_id != "NOQUEUE":
            for i in waiting.pop(proc, []):
                out[i] = replace(out[i], queue_id=e.queue_id)
        elif e.program.endswith(("/smtp", "/lmtp")) and not e.queue_id:
            f = parse_session_failure(e.text, e.node, seq=e.seq, line=e.line)
            if f is not None:
                waiting.setdefault(proc, []).append(len(out))
                out.append(f)
    return out


@dataclass(frozen=True)
class Notice:
    """A DSN the node created: `postfix/bounce: QID: sender non-delivery notification: NEWQID`."""

    node: str
    queue_id: str  # the original message's queue id
    dsn_queue_id: str
    kind: str  # non-delivery, delay, delivery (success)
    line: str


def notices(events: Sequence[LogEvent], node: str | None = None) -> list[Notice]:
    out = []
    for e in events:
        if (node is None or e.node == node) and e.program == "postfix/bounce" and e.queue_id:
            m = _NOTICE.match(e.text)
            if m:
                out.append(Notice(e.node, e.queue_id, m.group("qid"), m.group("kind"), e.line))
    return out


@dataclass(frozen=True)
class Expiry:
    """The queue manager gave up on a message (`QID: from=<..>, status=expired, returned to sender`)."""

    node: str
    queue_id: str
    seq: int
    line: str


def expirations(events: Sequence[LogEvent], node: str | None = None) -> list[Expiry]:
    return [Expiry(e.node, e.queue_id, e.seq, e.line) for e in events
            if (node is None or e.node == node) and e.queue_id and e.get("status") == "expired"]


def is_removal(e: LogEvent) -> bool:
    """The queue manager is done with a message: `QID: removed`."""
    return e.text == "removed" and bool(e.queue_id)


def removed(events: Sequence[LogEvent]) -> set[tuple[str, str]]:
    """(node, queue id) of every message removed from its queue."""
    return {(e.node, e.queue_id) for e in events if e.queue_id and is_removal(e)}


def is_local_delivery(e: LogEvent, node: str, address: str) -> bool:
    """Postfix's local delivery agent on `node` delivered a message to `address`'s mailbox."""
    return (e.node == node and e.program == "postfix/local" and e.get("status") == "sent"
            and (e.to or "").lower() == address.lower())


def problems(events: Sequence[LogEvent]) -> list[str]:
    """What the servers said went wrong with themselves (fatal, panic, error, warning lines), once each."""
    return list(dict.fromkeys(f"[{e.node}] {e.program}: {e.text}" for e in events if e.text.startswith(_PROBLEMS)))


def queued_as(text: str) -> str:
    """The queue id in a server's "250 2.0.0 Ok: queued as ABC" ("" if none)."""
    m = _QUEUED_AS.search(text)
    return m.group(1) if m else ""
