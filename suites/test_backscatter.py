"""Backscatter: a server that accepts mail for users it does not have bounces it later, to whatever sender the
message claimed. A correct server rejects at RCPT (RFC 5321 s6.2), and nothing goes to the forged address."""

from harness import AcceptUnknownUsers, FaultApplier, MailTopology, VerdictError


def test_backscatter(mail_topology: MailTopology) -> None:
    """A spammer forges jill@example.edu as sender to nosuchuser@library.example: library rejects at RCPT."""
    sent = mail_topology.send("jill@example.edu", "nosuchuser@library.example", via="library")

    story = sent.verdict()
    story.assert_rejected_by("library", stage="RCPT", status="5.1.1")
    story.assert_no_dsn()
    story.assert_no_backscatter()


def test_backscatter_misconfiguration_is_caught(mail_topology: MailTopology, mail_fault: FaultApplier) -> None:
    """With an empty local_recipient_maps, library accepts, bounces to the forged sender, and the verdict says so."""
    mail_fault(AcceptUnknownUsers("library"))
    sent = mail_topology.send("jill@example.edu", "nosuchuser@library.example", via="library")

    mail_topology.mailbox("jill@example.edu").wait_for_dsn()
    story = sent.verdict()
    assert story.bounced_by("library", to="jill@example.edu")
    try:
        story.assert_no_backscatter()
    except VerdictError as exc:
        assert "should have rejected at RCPT" in str(exc)
    else:
        raise AssertionError("the verdict missed the backscatter:\n" + story.render())


def test_null_sender_gets_no_dsn(mail_topology: MailTopology) -> None:
    """A bounce that bounces (MAIL FROM:<>) must not produce another DSN (RFC 3461 s5.2, RFC 5321 s4.5.5)."""
    sent = mail_topology.send("", "nosuchuser@library.example", via="store")

    story = sent.verdict()
    story.assert_rejected_by("library", stage="RCPT", status="5.1.1")
    story.assert_no_dsn()
    story.assert_no_backscatter()
