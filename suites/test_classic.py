"""The classic case: jack@store.example writes to jill@library.example.

store.example, library.example and example.edu are real Postfix servers; DNS serves their MX records.
"""

from harness import MailTopology, assert_dsn


def test_delivered_to_jills_mailbox(mail_topology: MailTopology) -> None:
    """jack -> jill@library.example lands in Jill's mailbox, relayed through library's MX."""
    sent = mail_topology.send("jack@store.example", "jill@library.example", subject="Lunch on Friday?")
    assert sent.accepted, sent.transcript.render()

    msg = mail_topology.mailbox("jill@library.example").wait_for(
        lambda m: m["Message-ID"] == sent.message["Message-ID"])

    assert msg["Subject"] == "Lunch on Friday?"
    assert msg["Return-Path"] == "<jack@store.example>"
    assert "by mx.library.example" in str(msg["Received"])  # the newest Received: line
    assert [d.status for d in mail_topology.deliveries("store")] == ["sent"]


def test_unknown_user_rejected_at_rcpt_and_bounced_by_the_sender(mail_topology: MailTopology) -> None:
    """nosuchuser@library.example: library rejects at RCPT (550 5.1.1); store owns the DSN; library sends none."""
    sent = mail_topology.send("jack@store.example", "nosuchuser@library.example")
    assert sent.accepted, "store.example takes responsibility for Jack's message"

    dsn = mail_topology.mailbox("jack@store.example").wait_for_dsn()

    # library.example knew at RCPT time: it rejected during the dialogue...
    [reject] = mail_topology.rejections("library")
    assert (reject.stage, reject.reply.code, reject.reply.enhanced) == ("RCPT", 550, "5.1.1")
    # ...so it queued nothing and can send nothing (no backscatter).
    assert mail_topology.queued("library") == []
    assert mail_topology.notices("library") == []
    # store.example, which accepted the message from Jack, tells Jack.
    assert [n.kind for n in mail_topology.notices("store")] == ["non-delivery"]
    assert dsn["Return-Path"] == "<>"
    assert_dsn(dsn, action="failed", status="5.1.1", recipient="nosuchuser@library.example",
               reporting_mta="mx.store.example", remote_mta="mx.library.example",
               diagnostic_contains=[reject.reply.text], profile="postfix")
