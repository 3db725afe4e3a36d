"""What the nodes' logs say happened since the last reset: rejections, queued messages, deliveries, bounces.

This is the raw material of the verdict: plain records read from Postfix's own log lines.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .events import LogEvent
from .smtp import Reply

_REJECT = re.compile(r"^reject: (?P<stage>[A-Z-]+) from (?P<client>\S+): (?P<code>\d{3}) (?P<text>.*?); "
                     r"from=<(?P<sender>[^>]*)> to=<(?P<rcpt>[^>]*)>")


@dataclass(frozen=True)
class Rejection:
    """A server refused during the dialogue (Postfix logs `NOQUEUE: reject: RCPT from ...`)."""

    node: str
    stage: str  # RCPT, MAIL, DATA, END-OF-MESSAGE, CONNECT...
    reply: Reply
    sender: str
    recipient: str
    line: str
    client: str = ""  # as the server logged it: "mx.store.example[10.1.1.10]"
    seq: int = 0  # the event's position in the topology's log


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


@dataclass(frozen=True)
class Notice:
    """A DSN the node created: `postfix/bounce: QID: sender non-delivery notification: NEWQID`."""

    node: str
    queue_id: str  # the original message's queue id
    dsn_queue_id: str
    kind: str  # non-delivery, delay, delivery (success)
    line: str


def rejections(events: Sequence[LogEvent], node: str | None = None) -> list[Rejection]:
    out = []
    for e in events:
        if (node is None or e.node == node) and e.queue_id == "NOQUEUE":
            m = _REJECT.match(e.text)
            if m:
                reply = Reply.parse(int(m.group("code")), m.group("text"))
                out.append(Rejection(e.node, m.group("stage"), reply, m.group("sender"), m.group("rcpt"), e.line,
                                     m.group("client"), e.seq))
    return out


def queued(events: Sequence[LogEvent], node: str | None = None) -> list[str]:
    """Queue ids of messages the node accepted into its queue (cleanup logged a message-id)."""
    return [e.queue_id for e in events if (node is None or e.node == node) and e.program == "postfix/cleanup"
            and e.queue_id and e.queue_id != "NOQUEUE" and "message-id=" in e.text]


def deliveries(events: Sequence[LogEvent], node: str | None = None) -> list[Delivery]:
    out = []
    for e in events:
        if (node is None or e.node == node) and e.queue_id and "status" in e.fields and e.to is not None:
            out.append(Delivery(e.node, e.queue_id, e.to, e.get("relay") or "", e.get("dsn") or "",
                                e.get("status") or "", e.get("detail") or "", e.program, e.line))
    return out


_NOTICE = re.compile(r"^sender (?P<kind>non-delivery|delay|delivery status) notification: (?P<qid>\w+)")


def notices(events: Sequence[LogEvent], node: str | None = None) -> list[Notice]:
    out = []
    for e in events:
        if (node is None or e.node == node) and e.program == "postfix/bounce" and e.queue_id:
            m = _NOTICE.match(e.text)
            if m:
                out.append(Notice(e.node, e.queue_id, m.group("qid"), m.group("kind"), e.line))
    return out
