"""The verdict from log lines alone (no Docker): a fake topology that only has a spec and a log."""

from __future__ import annotations

import socket
from email.message import EmailMessage
from typing import get_args, get_type_hints

import pytest

from harness import VerdictError, evidence
from harness.errors import MailharnessError
from harness.smtp import STAGES, Envelope, Exchange, Reply, Stage, Transcript, UnknownStage, submit
from harness.verdict import Hop, gather
from harness.world import Sent

from .logworld import LogWorld as FakeWorld

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


def sent_to(rcpt: str) -> Sent:
    msg = EmailMessage()
    msg["Message-ID"] = MID
    t = Transcript("10.1.1.10:25", Envelope.of("jack@store.example", [rcpt]))
    t.exchanges.append(Exchange("END-OF-MESSAGE", "<message>", Reply(250, "2.0.0", "2.0.0 Ok: queued as 0384E176400"),
                                0.0))
    return Sent(t.envelope, t, msg, "store")


def test_unknown_user_story() -> None:
    story = gather(FakeWorld(UNKNOWN_USER), sent_to("nosuchuser@library.example"), timeout=0)
    assert story.accepted == ["store"] and story.pending == []
    story.assert_rejected_by("library.example", stage="RCPT", status="5.1.1", code=550)
    assert [(d.node, d.kind, d.to, d.delivered_at, d.message_id) for d in story.dsns] == [
        ("store", "failed", "jack@store.example", "store", DSN_MID)]
    story.assert_no_dsn("library")
    story.assert_no_backscatter()
    text = story.render()
    assert "1. store: accepted from harness" in text
    assert "library: rejected <nosuchuser@library.example> from store at RCPT: 550 5.1.1" in text
    assert "DSN (failed) from store to <jack@store.example>, delivered at store" in text


def test_questions_answer_and_assertions_raise() -> None:
    """`assert not story.delivered_to(x)` passes when x got nothing: the questions answer, never raise."""
    story = gather(FakeWorld(UNKNOWN_USER), sent_to("nosuchuser@library.example"), timeout=0)
    assert story.rejected_by("library", stage="RCPT", status="5.1.1") is True
    assert story.rejected_by("library", stage="MAIL") is False
    assert story.accepted_by("store") is True and story.accepted_by("library") is False
    assert story.delivered_to("nosuchuser@library.example") is False
    assert story.no_dsn("library") is True and story.no_dsn() is False
    assert story.no_backscatter() is True and story.unreachable("library") is False
    with pytest.raises(VerdictError, match="expected: delivered to nosuchuser@library.example"):
        story.assert_delivered_to("nosuchuser@library.example")
    with pytest.raises(UnknownStage):  # a mistake in the question is not an answer
        story.rejected_by("library", stage="HELLO")
    with pytest.raises(KeyError):
        story.accepted_by("no-such-node")


def test_failed_assertions_show_the_path_and_the_candidates() -> None:
    story = gather(FakeWorld(UNKNOWN_USER), sent_to("nosuchuser@library.example"), timeout=0)
    with pytest.raises(VerdictError) as exc:
        story.assert_rejected_by("library", stage="MAIL")
    text = str(exc.value)
    assert text.startswith("expected: rejected by library at MAIL")
    assert "nearest candidates:\n    library: rejected <nosuchuser@library.example> from store at RCPT" in text
    assert "what happened:\nmessage <jack@store.example> -> nosuchuser@library.example" in text
    with pytest.raises(VerdictError, match="expected: no DSN from any node"):
        story.assert_no_dsn()
    with pytest.raises(VerdictError, match="a failed DSN from library delivered to jack@store.example"):
        story.bounced_by("library")


def test_pending_copies_are_reported() -> None:
    lines = UNKNOWN_USER[:1] + [
        ("store", "Nov 29 13:05:05 mx postfix/smtp[118]: 0384E176400: to=<jill@library.example>, relay=mx.library"
                  ".example[10.1.1.11]:25, delay=1, delays=0/0/0/1, dsn=4.3.2, status=deferred (host mx.library.exa"
                  "mple[10.1.1.11] said: 451 4.3.2 try later (in reply to RCPT TO command))")]
    story = gather(FakeWorld(lines), sent_to("jill@library.example"), timeout=0)
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
    story = gather(FakeWorld(lines), sent, timeout=0)
    with pytest.raises(VerdictError, match="library accepted mail for nosuchuser@library.example, then bounced"):
        story.assert_no_backscatter()


# -- failed sessions: at submission and at every hop (a story that misses nothing) ---------------------------------
def sent_with(*exchanges: Exchange, via: str = "store", rcpt: str = "jill@library.example") -> Sent:
    msg = EmailMessage()
    msg["Message-ID"] = MID
    t = Transcript("10.1.1.10:25", Envelope.of("jack@store.example", [rcpt]), list(exchanges))
    return Sent(t.envelope, t, msg, via)


def test_a_submission_refused_at_connect_is_a_hop() -> None:
    with socket.socket() as s:  # a port where nothing listens: the real client's real refusal
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t = submit("127.0.0.1", Envelope.of("jack@store.example", ["jill@library.example"]), b"x", port=port)
    msg = EmailMessage()
    msg["Message-ID"] = MID
    story = gather(FakeWorld([]), Sent(t.envelope, t, msg, "library"), timeout=0)
    assert story.render().splitlines()[1:] == [
        f"  1. library: unreachable from harness at CONNECT: connect to 127.0.0.1:{port}: Connection refused",
        "  no DSN was emitted"]
    [hop] = story.session_failures()
    assert (hop.node, hop.kind, hop.peer, hop.stage) == ("library", "unreachable", "harness", "CONNECT")
    story.assert_unreachable("library", stage="connect", by="harness")
    with pytest.raises(VerdictError, match="expected: no session with store"):
        story.assert_unreachable("store")


@pytest.mark.parametrize(("stage", "text", "line"), [
    ("BANNER", "conversation with 10.1.1.11:25 timed out while receiving the initial server greeting (no reply "
               "within 3s)", "1. library: session with harness lost at BANNER: conversation with 10.1.1.11:25 timed "
                             "out while receiving the initial server greeting (no reply within 3s)"),
    ("MAIL", "lost connection with 10.1.1.11:25 while sending MAIL FROM (SMTPServerDisconnected: Connection "
             "unexpectedly closed)",
     "1. library: session with harness lost at MAIL: lost connection with 10.1.1.11:25 while sending MAIL FROM "
     "(SMTPServerDisconnected: Connection unexpectedly closed)"),
], ids=["tarpit", "dropped"])
def test_a_submission_session_lost_is_a_hop(stage: str, text: str, line: str) -> None:
    ok = [Exchange("BANNER", "", Reply(220, None, "mx.library.example ESMTP"), 0.0),
          Exchange("EHLO", "EHLO x", Reply(250, None, "mx.library.example"), 0.0)] if stage == "MAIL" else []
    sent = sent_with(*ok, Exchange(stage, "", Reply(0, None, text), 0.0), via="library")  # type: ignore[arg-type]
    story = gather(FakeWorld([]), sent, timeout=0)
    assert f"  {line}" in story.render().splitlines()
    story.assert_unreachable("library", stage=stage.lower(), by="harness")


N = "Dec 02 02:18:57 mx postfix"
DOWN_MID = "<179617793744.13604.10629141342932247069@store.example>"
NEXT_HOP_DOWN = [  # suites/test_next_hop.py::test_next_hop_unavailable[next_hop_down], as Postfix 3.7 logged it
    ("store", f"{N}/cleanup[68]: 74C7317227E: message-id={DOWN_MID}"),
    ("store", f"{N}/qmgr[64]: 74C7317227E: from=<jack@store.example>, size=878, nrcpt=1 (queue active)"),
    ("store", f"{N}/smtp[69]: connect to mx.library.example[10.84.8.11]:25: Connection refused"),
    ("store", f"{N}/smtp[69]: 74C7317227E: to=<jill@library.example>, relay=none, delay=0.02, delays=0.01/0.01/0/0, "
              "dsn=4.4.1, status=deferred (connect to mx.library.example[10.84.8.11]:25: Connection refused)"),
    ("store", f"{N}/qmgr[64]: 74C7317227E: from=<jack@store.example>, status=expired, returned to sender"),
    ("store", f"{N}/cleanup[68]: 7A237172285: message-id=<20261202021857.7A237172285@mx.store.example>"),
    ("store", f"{N}/bounce[70]: 74C7317227E: sender non-delivery notification: 7A237172285"),
    ("store", f"{N}/qmgr[64]: 74C7317227E: removed"),
    ("store", f"{N}/local[71]: 7A237172285: to=<jack@store.example>, relay=local, delay=0.01, delays=0/0.01/0/0, "
              "dsn=2.0.0, status=sent (delivered to maildir)"),
    ("store", f"{N}/qmgr[64]: 7A237172285: removed"),
]
TARPIT_DETAIL = "conversation with mx.library.example[10.84.8.11] timed out while receiving the initial server greeting"


def test_a_held_copy_is_settled_and_shown() -> None:
    """A message set aside (on hold, or Exim's frozen bounce) is not pending: nothing more happens to it until it is
    released, so the story does not wait for it; the hop says so."""
    lines = UNKNOWN_USER[:1] + [
        ("store", "Nov 29 13:05:05 mx postfix/cleanup[117]: 0384E176400: hold: header Subject: hold me from client"
                  "[10.1.1.1]; from=<jack@store.example> to=<jill@library.example> proto=ESMTP helo=<client>")]
    story = gather(FakeWorld(lines), sent_to("jill@library.example"), timeout=0)
    assert story.pending == [], story.render()
    [hop] = [h for h in story.hops if h.kind == "held"]
    assert hop.render() == "store: held (hold: header Subject: hold me from client[10.1.1.1]: no delivery is tried " \
        "until it is released)"
    released = lines + [("store", "Nov 29 13:05:06 mx postfix/postsuper[130]: 0384E176400: released from hold")]
    assert gather(FakeWorld(released), sent_to("jill@library.example"), timeout=0).pending == \
        [("store", "0384E176400")], "released: queued again"


def accepted_as(qid: str, mid: str = MID) -> Sent:
    sent = sent_with(Exchange("END-OF-MESSAGE", "<message>", Reply(250, "2.0.0", f"2.0.0 Ok: queued as {qid}"), 0.0))
    del sent.message["Message-ID"]
    sent.message["Message-ID"] = mid
    return sent


def test_a_next_hop_refusing_connections_is_named_with_its_stage() -> None:
    story = gather(FakeWorld(NEXT_HOP_DOWN), accepted_as("74C7317227E", DOWN_MID), timeout=0)
    assert story.render().splitlines()[1:5] == [
        "  1. store: accepted from harness: 250 2.0.0 Ok: queued as 74C7317227E",
        "  2. store -> library: deferred <jill@library.example> at CONNECT (4.4.1, connect to mx.library.example"
        "[10.84.8.11]:25: Connection refused)",
        "  3. store: expired (returned to sender)",
        "  4. store: DSN delivered <jack@store.example> (2.0.0, delivered to maildir)"]
    story.assert_unreachable("library", stage="CONNECT", by="store")
    assert story.pending == []


def test_a_next_hop_that_never_greets_is_named_with_its_stage() -> None:
    lines = [NEXT_HOP_DOWN[0],
             ("store", f"{N}/smtp[69]: 74C7317227E: to=<jill@library.example>, relay=mx.library.example[10.84.8.11]:25,"
                       f" delay=2, delays=0.01/0.01/2/0, dsn=4.4.2, status=deferred ({TARPIT_DETAIL})")]
    story = gather(FakeWorld(lines), accepted_as("74C7317227E", DOWN_MID), timeout=0)
    [hop] = [h for h in story.hops if h.kind == "deferred"]
    assert (hop.peer, hop.stage, hop.reply, hop.status, hop.detail) == ("library", "BANNER", None, "4.4.2",
                                                                       TARPIT_DETAIL)
    story.assert_unreachable("library", stage="banner")


def test_a_failed_attempt_before_another_server_took_the_message_is_a_hop() -> None:
    lines = [
        ("store", f"{N}/cleanup[68]: 0384E176400: message-id={MID}"),
        ("store", f"{N}/smtp[69]: connect to mx.library.example[10.1.1.11]:25: Connection timed out"),
        ("store", f"{N}/smtp[77]: lost connection with mx.example.edu[10.1.1.12] while sending RCPT TO"),  # another
        ("store", f"{N}/smtp[77]: 1111111111A: to=<x@example.edu>, relay=mx.example.edu[10.1.1.12]:25, delay=1, "
                  "delays=0/0/0/1, dsn=4.4.2, status=deferred (lost connection with mx.example.edu[10.1.1.12] while "
                  "sending RCPT TO)"),  # ... process's delivery, of another message
        ("store", f"{N}/smtp[69]: 0384E176400: to=<jill@library.example>, relay=backup.library.example[10.1.1.99]:25,"
                  " delay=1, delays=0/0/1/0, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 2222222222B)"),
        ("store", f"{N}/qmgr[64]: 0384E176400: removed"),
    ]
    story = gather(FakeWorld(lines), accepted_as("0384E176400"), timeout=0)
    assert [h.render() for h in story.hops] == [
        "store: accepted from harness: 250 2.0.0 Ok: queued as 0384E176400",
        "library: unreachable from store at CONNECT: connect to mx.library.example[10.1.1.11]:25: Connection timed out",
        "store -> backup.library.example: relayed <jill@library.example> (2.0.0, 250 2.0.0 Ok: queued as 2222222222B)"]


# -- one Stage vocabulary, read in any case ----------------------------------------------------------------------
def test_rejected_by_reads_the_stage_in_any_case() -> None:
    banner = gather(FakeWorld([]), sent_with(Exchange("BANNER", "", Reply(554, "5.7.1", "5.7.1 go away"), 0.0)),
                    timeout=0)
    banner.assert_rejected_by("store", stage="banner")
    banner.assert_rejected_by("store", stage="BANNER", code=554)
    # The client's refusal at the end of data and the server's own log line of it are one hop, whatever the case.
    eom = [("store", "Nov 29 13:05:05 mx postfix/cleanup[117]: NOQUEUE: reject: END-OF-MESSAGE from unknown[10.1.1.1]:"
                     " 550 5.7.1 Message content rejected; from=<jack@store.example> to=<jill@library.example> "
                     "proto=ESMTP helo=<client.mailharness.test>")]
    sent = sent_with(Exchange("END-OF-MESSAGE", "<message>", Reply(550, "5.7.1", "5.7.1 Message content rejected"),
                              0.0))
    story = gather(FakeWorld(eom), sent, timeout=0)
    [hop] = story.rejections()
    assert (hop.node, hop.peer, hop.stage) == ("store", "harness", "END-OF-MESSAGE")
    for spelling in ("eod", "EOD", "end-of-message", "END-OF-MESSAGE", "end of DATA"):
        story.assert_rejected_by("store", stage=spelling, status="5.7.1")
    with pytest.raises(UnknownStage):
        story.assert_rejected_by("store", stage="HELLO")
    with pytest.raises(VerdictError, match="expected: rejected by store at RCPT"):
        story.assert_rejected_by("store", stage="rcpt")


def test_one_stage_type_for_the_client_the_logs_and_the_verdict() -> None:
    assert evidence.Stage is Stage and get_args(Stage) == STAGES
    assert get_type_hints(Hop)["stage"] == Stage | None
    assert get_type_hints(Exchange)["stage"] == Stage
    assert get_type_hints(evidence.Rejection)["stage"] == Stage
    assert get_type_hints(evidence.SessionFailure)["stage"] == Stage


# -- the story once in the report, however often it is asked for ---------------------------------------------------
def test_asking_for_the_verdict_twice_keeps_one_story() -> None:
    world = FakeWorld(UNKNOWN_USER)
    sent = sent_to("nosuchuser@library.example")
    sent.world = world
    first = sent.verdict(timeout=0)
    second = sent.verdict(timeout=0)
    assert world.stories == [second] and second.render() == first.render()
    other = sent_to("jill@library.example")
    other.world = world
    other.verdict(timeout=0)
    sent.verdict(timeout=0)
    assert [s.sent for s in world.stories] == [sent, other]


def test_verdict_error_is_a_mailharness_error_and_an_assertion() -> None:
    assert issubclass(VerdictError, MailharnessError) and issubclass(VerdictError, AssertionError)
    story = gather(FakeWorld(UNKNOWN_USER), sent_to("nosuchuser@library.example"), timeout=0)
    with pytest.raises(MailharnessError, match="expected: no DSN from any node"):
        story.assert_no_dsn()


def test_notify_never_is_judged_on_the_recipient_as_sent_not_as_rewritten() -> None:
    """jill@example.edu (NOTIFY=NEVER) and jill@library.example, whom library's virtual alias rewrites to
    jill@example.edu: library's DSN is about jill@library.example (orig_to), not backscatter for the NEVER one
    (the explorer's finding on the default topology)."""
    from harness.smtp import Recipient

    lines = [
        ("store", f"Nov 29 13:05:05 mx postfix/cleanup[117]: 0384E176400: message-id={MID}"),
        ("store", "Nov 29 13:05:05 mx postfix/smtp[118]: 0384E176400: to=<jill@example.edu>, relay=mx.example.edu[10."
                  "1.1.12]:25, delay=0.01, delays=0/0/0/0.01, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 11111111"
                  "11A)"),
        ("store", "Nov 29 13:05:05 mx postfix/smtp[118]: 0384E176400: to=<jill@library.example>, relay=mx.library.exa"
                  "mple[10.1.1.11]:25, delay=0.01, delays=0/0/0/0.01, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as "
                  "2222222222B)"),
        ("store", "Nov 29 13:05:05 mx postfix/qmgr[113]: 0384E176400: removed"),
        ("library", f"Nov 29 13:05:05 mx postfix/cleanup[217]: 2222222222B: message-id={MID}"),
        ("library", "Nov 29 13:05:05 mx postfix/smtp[218]: 2222222222B: to=<jill@example.edu>, orig_to=<jill@library"
                    ".example>, relay=mx.example.edu[10.1.1.12]:25, delay=0.01, delays=0/0/0/0.01, dsn=5.7.1, status="
                    "bounced (host mx.example.edu[10.1.1.12] said: 550 5.7.1 Refused (in reply to RCPT TO command))"),
        ("library", "Nov 29 13:05:05 mx postfix/cleanup[217]: 3333333333C: message-id=<dsn@mx.library.example>"),
        ("library", "Nov 29 13:05:05 mx postfix/bounce[219]: 2222222222B: sender non-delivery notification: "
                    "3333333333C"),
        ("library", "Nov 29 13:05:05 mx postfix/qmgr[213]: 2222222222B: removed"),
        ("library", "Nov 29 13:05:05 mx postfix/qmgr[213]: 3333333333C: removed"),
        ("edu", f"Nov 29 13:05:05 mx postfix/cleanup[317]: 1111111111A: message-id={MID}"),
        ("edu", "Nov 29 13:05:05 mx postfix/local[318]: 1111111111A: to=<jill@example.edu>, relay=local, delay=0.01, "
                "delays=0/0/0/0, dsn=2.0.0, status=sent (delivered to maildir)"),
        ("edu", "Nov 29 13:05:05 mx postfix/qmgr[313]: 1111111111A: removed"),
    ]
    sent = sent_to("jill@library.example")
    env = Envelope.of("jack@store.example", [Recipient("jill@example.edu", ("NEVER",)), "jill@library.example"])
    sent = Sent(env, sent.transcript, sent.message, "store")
    story = gather(FakeWorld(lines), sent, timeout=0)
    [dsn] = story.dsns
    assert (dsn.node, dsn.kind, dsn.about, dsn.about_original) == (
        "library", "failed", ("jill@example.edu",), ("jill@library.example",))
    story.assert_no_backscatter()
    never_only = Envelope.of("jack@store.example", [Recipient("jill@library.example", ("NEVER",))])
    story = gather(FakeWorld(lines), Sent(never_only, sent.transcript, sent.message, "store"), timeout=0)
    with pytest.raises(VerdictError, match="a DSN from library about NOTIFY=NEVER recipient"):
        story.assert_no_backscatter()
