"""The verdict from log lines alone (no Docker): a fake topology that only has a spec and a log."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

import pytest

from harness import VerdictError, default_topology
from harness.events import EventLog, LogEvent
from harness.smtp import Envelope, Exchange, Reply, Transcript
from harness.verdict import gather
from harness.world import Sent

MID = "<1@store.example>"
DSN_MID = "<20261129.069DB176404@mx.store.example>"
UNKNOWN_USER = [
    ("store", f"Nov 29 13:05:05 mx postfix/cleanup[117]: 0384E176400: message-id={MID}"),
    ("library", "Nov 29 13:05:05 mx postfix/smtpd[114]: NOQUEUE: reject: RCPT from mx.store.example[10.1.1.10]: 550 "
                "5.1.1 <nosuchuser@library.example>: Recipient address rejected: User unknown in local recipient "
                "table; from=<jack@store.example> to=<nosuchuser@library.example> proto=ESMTP helo=<mx.store.example>"),
    ("store", "Nov 29 13:05:05 mx postfix/smtp[118]: 0384E176400: to=<nosuchuser@library.example>, relay=mx.library."
              "example[10.1.1.11]:25, delay=0.01, delays=0/0/0/0.01, dsn=5.1.1, status=bounced (host mx.library.exampl"
              "e[10.1.1.11] said: 550 5.1.1 <nosuchuser@library.example>: Recipient address rejected: User unknown in "
              "local recipient table (in reply to RCPT TO command))"),
    ("store", f"Nov 29 13:05:05 mx postfix/cleanup[117]: 069DB176404: message-id={DSN_MID}"),
    ("store", "Nov 29 13:05:05 mx postfix/bounce[119]: 0384E176400: sender non-delivery notification: 069DB176404"),
    ("store", "Nov 29 13:05:05 mx postfix/qmgr[113]: 0384E176400: removed"),
    ("store", "Nov 29 13:05:05 mx postfix/local[120]: 069DB176404: to=<jack@store.example>, relay=local, delay=0.01, "
              "delays=0/0/0/0, dsn=2.0.0, status=sent (delivered to maildir)"),
    ("store", "Nov 29 13:05:05 mx postfix/qmgr[113]: 069DB176404: removed"),
]


class FakeWorld:
    def __init__(self, lines: list[tuple[str, str]]) -> None:
        self.spec = default_topology()
        self.nodes: dict[str, Any] = {}
        self.events = EventLog()
        for node, line in lines:
            self.events.add(node, line)

    def log(self, node: str | None = None) -> list[LogEvent]:
        return self.events.since(0, node)


def sent_to(rcpt: str) -> Sent:
    msg = EmailMessage()
    msg["Message-ID"] = MID
    t = Transcript("10.1.1.10:25", Envelope.of("jack@store.example", [rcpt]))
    t.exchanges.append(Exchange("EOD", "<message>", Reply(250, "2.0.0", "2.0.0 Ok: queued as 0384E176400"), 0.0))
    return Sent(t.envelope, t, msg, "store")


def test_unknown_user_story() -> None:
    story = gather(FakeWorld(UNKNOWN_USER), sent_to("nosuchuser@library.example"), timeout=0)  # type: ignore[arg-type]
    assert story.accepted == ["store"] and story.pending == []
    assert story.rejected_by("library.example", stage="RCPT", status="5.1.1", code=550)
    assert [(d.node, d.kind, d.to, d.delivered_at, d.message_id) for d in story.dsns] == [
        ("store", "failed", "jack@store.example", "store", DSN_MID)]
    assert story.no_dsn("library") and story.no_backscatter()
    text = story.render()
    assert "1. store: accepted from harness" in text
    assert "library: rejected <nosuchuser@library.example> from store at RCPT: 550 5.1.1" in text
    assert "DSN (failed) from store to <jack@store.example>, delivered at store" in text


def test_failed_assertions_show_the_path_and_the_candidates() -> None:
    story = gather(FakeWorld(UNKNOWN_USER), sent_to("nosuchuser@library.example"), timeout=0)  # type: ignore[arg-type]
    with pytest.raises(VerdictError) as exc:
        story.rejected_by("library", stage="MAIL")
    text = str(exc.value)
    assert text.startswith("expected: rejected by library at MAIL")
    assert "nearest candidates:\n    library: rejected <nosuchuser@library.example> from store at RCPT" in text
    assert "what happened:\nmessage <jack@store.example> -> nosuchuser@library.example" in text
    with pytest.raises(VerdictError, match="expected: no DSN from any node"):
        story.no_dsn()
    with pytest.raises(VerdictError, match="a failed DSN from library delivered to jack@store.example"):
        story.bounced_by("library")


def test_pending_copies_are_reported() -> None:
    lines = UNKNOWN_USER[:1] + [
        ("store", "Nov 29 13:05:05 mx postfix/smtp[118]: 0384E176400: to=<jill@library.example>, relay=mx.library"
                  ".example[10.1.1.11]:25, delay=1, delays=0/0/0/1, dsn=4.3.2, status=deferred (host mx.library.exa"
                  "mple[10.1.1.11] said: 451 4.3.2 try later (in reply to RCPT TO command))")]
    story = gather(FakeWorld(lines), sent_to("jill@library.example"), timeout=0)  # type: ignore[arg-type]
    assert story.pending == [("store", "0384E176400")]
    assert "still queued at store: 0384E176400" in story.render()
    [hop] = [h for h in story.hops if h.kind == "deferred"]
    assert (hop.peer, hop.stage, hop.reply and hop.reply.code) == ("library", "RCPT", 451)


def test_backscatter_is_recognised() -> None:
    lines = [
        ("library", f"Nov 29 13:05:05 mx postfix/cleanup[1]: 7BF75178073: message-id={MID}"),
        ("library", "Nov 29 13:05:05 mx postfix/local[2]: 7BF75178073: to=<nosuchuser@library.example>, relay=local,"
                    " delay=0.01, delays=0/0/0/0, dsn=5.1.1, status=bounced (unknown user: \"nosuchuser\")"),
        ("library", "Nov 29 13:05:05 mx postfix/bounce[3]: 7BF75178073: sender non-delivery notification: 7E83B178079"),
    ]
    sent = sent_to("nosuchuser@library.example")
    story = gather(FakeWorld(lines), sent, timeout=0)  # type: ignore[arg-type]
    with pytest.raises(VerdictError, match="library accepted mail for nosuchuser@library.example, then bounced"):
        story.no_backscatter()
