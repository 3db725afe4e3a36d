"""harness.evidence reads every Postfix line the verdict needs: failed sessions (refused, timed out, lost, turned
away at the greeting), the next hop's reply and its stage, Message-IDs, removals, expiries, "queued as"."""

from __future__ import annotations

import pytest

from harness import evidence
from harness.mta.postfix import evidence as postfix_evidence
from harness.mta.postfix.evidence.grammar import parse_line

P = "Dec 02 02:18:57 mx postfix"


def events(*lines: tuple[str, str]) -> list:
    return [parse_line(node, i, line) for i, (node, line) in enumerate(lines)]


@pytest.mark.parametrize(("text", "host", "addr", "stage", "outcome"), [
    ("connect to mx.library.example[10.84.8.11]:25: Connection refused", "mx.library.example", "10.84.8.11",
     "CONNECT", "refused"),
    ("connect to mx.library.example[10.84.8.11]:25: Connection timed out", "mx.library.example", "10.84.8.11",
     "CONNECT", "timed out"),
    ("connect to dead.library.example[10.84.8.254]:25: No route to host", "dead.library.example", "10.84.8.254",
     "CONNECT", "unreachable"),
    ("delivery temporarily suspended: connect to mx.x.example[10.1.2.3]:25: Connection refused", "mx.x.example",
     "10.1.2.3", "CONNECT", "refused"),
    ("lost connection with mx.x.example[10.1.2.3] while receiving the initial server greeting", "mx.x.example",
     "10.1.2.3", "BANNER", "lost"),
    ("conversation with mx.library.example[10.84.8.11] timed out while receiving the initial server greeting",
     "mx.library.example", "10.84.8.11", "BANNER", "timed out"),
    ("lost connection with mx.x.example[10.1.2.3] while performing the EHLO handshake", "mx.x.example", "10.1.2.3",
     "EHLO", "lost"),
    ("lost connection with mx.x.example[10.1.2.3] while sending RCPT TO", "mx.x.example", "10.1.2.3", "RCPT", "lost"),
    ("conversation with mx.x.example[10.1.2.3] timed out while sending message body", "mx.x.example", "10.1.2.3",
     "DATA", "timed out"),
    ("conversation with mx.x.example[10.1.2.3] timed out while sending end of data -- message may be sent more than "
     "once", "mx.x.example", "10.1.2.3", "END-OF-MESSAGE", "timed out"),
])
def test_postfix_words_for_a_failed_session(text: str, host: str, addr: str, stage: str, outcome: str) -> None:
    f = postfix_evidence.parse_session_failure(text, "store")
    assert f is not None
    assert (f.node, f.host, f.address, f.stage, f.outcome, f.reason) == ("store", host, addr, stage, outcome, text)


def test_other_words_are_no_failed_session() -> None:
    for text in ("delivered to maildir", "host mx[10.1.2.3] said: 550 5.1.1 no (in reply to RCPT TO command)",
                 "250 2.0.0 Ok: queued as ABC"):
        assert postfix_evidence.parse_session_failure(text) is None


def test_a_delivery_knows_the_reply_its_stage_or_how_its_session_failed() -> None:
    evs = events(
        ("store", f"{P}/smtp[69]: 74C7317227E: to=<jill@library.example>, relay=none, delay=0.02, delays=0/0/0/0, "
                  "dsn=4.4.1, status=deferred (connect to mx.library.example[10.84.8.11]:25: Connection refused)"),
        ("store", f"{P}/smtp[69]: 74C7317227F: to=<jill@library.example>, relay=mx.library.example[10.84.8.11]:25, "
                  "delay=0.1, delays=0/0/0/0.1, dsn=5.7.1, status=bounced (host mx.library.example[10.84.8.11] said: "
                  "550 5.7.1 content rejected (in reply to end of DATA command))"),
        ("store", f"{P}/smtp[69]: 74C7317228A: to=<jill@library.example>, relay=mx.library.example[10.84.8.11]:25, "
                  "delay=0.1, delays=0/0/0/0.1, dsn=4.7.0, status=deferred (host mx.library.example[10.84.8.11] "
                  "refused to talk to me: 554 5.7.0 go away)"),
        ("store", f"{P}/smtp[69]: 74C7317228B: to=<jill@library.example>, relay=mx.library.example[10.84.8.11]:25, "
                  "delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 85DF7184101)"),
        ("store", f"{P}/local[71]: 7A237172285: to=<jack@store.example>, relay=local, delay=0.01, delays=0/0/0/0, "
                  "dsn=2.0.0, status=sent (delivered to maildir)"),
    )
    refused, eod, banner, relayed, local = evidence.deliveries(evs)
    assert (refused.host, refused.address, refused.stage, refused.reply) == ("mx.library.example", "10.84.8.11",
                                                                             "CONNECT", None)
    assert refused.failure is not None and refused.failure.outcome == "refused"
    assert (eod.stage, eod.reply and (eod.reply.code, eod.reply.enhanced), eod.failure) == (
        "END-OF-MESSAGE", (550, "5.7.1"), None)
    assert (banner.stage, banner.reply and banner.reply.code, banner.host) == ("BANNER", 554, "mx.library.example")
    assert (relayed.queued_as, relayed.stage, relayed.forwarded) == ("85DF7184101", None, False)
    assert (local.host, local.queued_as, local.stage) == ("", "", None)


def test_failed_sessions_on_their_own_line_belong_to_the_next_delivery_of_their_process() -> None:
    evs = events(
        ("store", f"{P}/smtp[69]: connect to mx1.x.example[10.1.2.3]:25: Connection refused"),
        ("store", f"{P}/smtp[70]: connect to mx9.y.example[10.1.2.9]:25: Connection timed out"),
        ("store", f"{P}/smtp[69]: lost connection with mx2.x.example[10.1.2.4] while receiving the initial server "
                  "greeting"),
        ("store", f"{P}/smtp[69]: 0384E176400: to=<a@x.example>, relay=mx3.x.example[10.1.2.5]:25, delay=1, "
                  "delays=0/0/1/0, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 2222222222B)"),
        ("library", f"{P}/smtp[69]: connect to mx1.x.example[10.1.2.3]:25: Connection refused"),
    )
    fs = evidence.session_failures(evs)
    assert [(f.node, f.host, f.stage, f.outcome, f.queue_id) for f in fs] == [
        ("store", "mx1.x.example", "CONNECT", "refused", "0384E176400"),
        ("store", "mx9.y.example", "CONNECT", "timed out", ""),  # its process has logged no delivery yet
        ("store", "mx2.x.example", "BANNER", "lost", "0384E176400"),
        ("library", "mx1.x.example", "CONNECT", "refused", ""),  # same pid, another node: not store's delivery
    ]
    assert evidence.session_failures(evs, node="library") == fs[3:]


def test_the_rest_of_the_log_the_verdict_reads() -> None:
    evs = events(
        ("store", f"{P}/cleanup[68]: 74C7317227E: message-id=<1@store.example>"),
        ("store", f"{P}/qmgr[64]: 74C7317227E: from=<jack@store.example>, status=expired, returned to sender"),
        ("store", f"{P}/qmgr[64]: 74C7317227E: removed"),
        ("store", f"{P}/smtpd[65]: warning: hostname unknown does not resolve"),
        ("store", f"{P}/local[71]: 7A237172285: to=<Jack@store.example>, relay=local, delay=0.01, delays=0/0/0/0, "
                  "dsn=2.0.0, status=sent (delivered to maildir)"),
        ("library", f"{P}/smtpd[80]: NOQUEUE: reject: MAIL from unknown[10.1.1.1]: 452 4.3.1 Insufficient system "
                    "storage; from=<jack@store.example> proto=ESMTP helo=<client.mailharness.test>"),
    )
    assert evidence.message_ids(evs) == {("store", "74C7317227E"): "<1@store.example>"}
    assert [(x.node, x.queue_id) for x in evidence.expirations(evs)] == [("store", "74C7317227E")]
    assert evidence.removed(evs) == {("store", "74C7317227E")} and evidence.is_removal(evs[2])
    assert evidence.problems(evs) == ["[store] postfix/smtpd: warning: hostname unknown does not resolve"]
    assert evidence.is_local_delivery(evs[4], "store", "jack@store.example")
    assert not evidence.is_local_delivery(evs[4], "library", "jack@store.example")
    assert evidence.queued_as("250 2.0.0 Ok: queued as 85DF7184101") == "85DF7184101"
    [r] = evidence.rejections(evs)
    assert (r.stage, r.recipient, r.client_host, r.client_address) == ("MAIL", "", "", "10.1.1.1")
