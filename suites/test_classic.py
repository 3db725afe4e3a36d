"""The classic case: jack@store.example writes to jill@library.example.

store.example, library.example and example.edu are real Postfix servers; DNS serves their MX records.
"""

from harness import MailTopology, assert_dsn

from . import dsn_profile, status_or_undefined


def test_delivered_to_jills_mailbox(mail_topology: MailTopology) -> None:
    """jack -> jill@library.example lands in Jill's mailbox, relayed through library's MX."""
    sent = mail_topology.send("jack@store.example", "jill@library.example", subject="Lunch on Friday?")
    assert sent.accepted, sent.transcript.render()

    msg = mail_topology.mailbox("jill@library.example").wait_for(
        lambda m: m["Message-ID"] == sent.message["Message-ID"])

    assert msg["Subject"] == "Lunch on Friday?"
    assert msg["Return-Path"] == "<jack@store.example>"
    assert "by mx.library.example" in str(msg["Received"])  # the newest Received: line
    sent.verdict()  # settled: store's own line about the hand-over may come after Jill's mailbox has the message
    assert [d.status for d in mail_topology.deliveries("store")] == ["sent"]


def test_unknown_user_rejected_at_rcpt_and_bounced_by_the_sender(mail_topology: MailTopology) -> None:
    """nosuchuser@library.example: library rejects at RCPT (550 5.1.1); store owns the DSN; library sends none."""
    sent = mail_topology.send("jack@store.example", "nosuchuser@library.example")
    assert sent.accepted, "store.example takes responsibility for Jack's message"

    dsn = mail_topology.mailbox("jack@store.example").wait_for_dsn()

    # library.example knew at RCPT time: it rejected during the dialogue...
    [reject] = mail_topology.rejections("library")
    assert (reject.stage, reject.reply.code) == ("RCPT", 550)
    # 5.1.1 from a server that gives enhanced status codes (RFC 2034); Exim gives none ("550 Unrouteable address")
    assert reject.reply.enhanced == "5.1.1" or (reject.reply.enhanced is None
                                                and not mail_topology.node("library").enhanced_status_codes)
    # ...so it queued nothing and can send nothing (no backscatter).
    assert mail_topology.queued("library") == []
    assert mail_topology.notices("library") == []
    # store.example, which accepted the message from Jack, tells Jack.
    assert [n.kind for n in mail_topology.notices("store")] == ["non-delivery"]
    assert dsn["Return-Path"] == "<>"
    assert_dsn(dsn, action="failed", status=status_or_undefined(reject.reply.enhanced or "5.1.1"),
               recipient="nosuchuser@library.example", reporting_mta="mx.store.example",
               remote_mta="mx.library.example", diagnostic_contains=[reject.reply.text],
               profile=dsn_profile(mail_topology, "store"))
