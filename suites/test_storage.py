"""Storage faults: where a full disk or a size limit bites decides who must tell the sender.

Before acceptance (a full queue, a size limit) the server refuses during the dialogue and the client owns the
bounce. After acceptance (a full mailbox disk, a mailbox over its limit) the server that said 250 has taken
responsibility: it must send the DSN itself, to the original envelope sender (RFC 5321 s6.1).
"""

from harness import DiskFull, FaultApplier, MailboxFull, MailTopology, QueueFull, SizeLimit, assert_dsn

from . import dsn_profile, status_or_undefined


def test_disk_full(mail_topology: MailTopology, mail_fault: FaultApplier) -> None:
    """ENOSPC at delivery, tried once: library accepted, so library bounces to Jack (4.3.0, no Remote-MTA)."""
    mail_fault(DiskFull("library"))
    sent = mail_topology.send("jack@store.example", "jill@library.example")

    story = sent.verdict()
    story.assert_accepted_by("library")
    dsn = story.bounced_by("library", to="jack@store.example")
    # The log says why; the DSN itself says "x-unix; input/output error" (Postfix's wording).
    assert any("No space left on device" in h.detail for h in story.hops), story.render()
    assert_dsn(dsn, action="failed", status=status_or_undefined("4.3.0"), reporting_mta="mx.library.example",
               remote_mta=None, recipient="jill@library.example", envelope=sent.original_envelope(),
               profile=dsn_profile(mail_topology, "library"))
    story.assert_no_backscatter()


def test_disk_full_retried_then_expired(mail_topology: MailTopology, mail_fault: FaultApplier) -> None:
    """ENOSPC, retried for 2 s (queue times compressed; Postfix's shortest lifetime that always retries): tried at
    least twice, and the DSN comes when the message expires."""
    mail_fault(DiskFull("library", retry_for="2s"))
    sent = mail_topology.send("jack@store.example", "jill@library.example")

    dsn = mail_topology.mailbox("jack@store.example").wait_for_dsn(timeout=20)
    story = sent.verdict()
    # tried at least twice: deferred, then deferred again or failed for good at the next try (Exim logs the last
    # try as the failure itself, Postfix as one more deferral before the expiry)
    assert len([h for h in story.hops if h.kind in ("deferred", "bounced") and h.node == "library"
                and not h.dsn]) >= 2, story.render()
    assert any(h.kind == "expired" and h.node == "library" for h in story.hops), story.render()
    assert story.bounced_by("library")
    assert_dsn(dsn, action="failed", status=status_or_undefined("4.3.0"), reporting_mta="mx.library.example",
               remote_mta=None, envelope=sent.original_envelope(), profile=dsn_profile(mail_topology, "library"))


def test_queue_full(mail_topology: MailTopology, mail_fault: FaultApplier) -> None:
    """A full queue file system: 452 4.3.1 at MAIL FROM, before acceptance; nobody sends a DSN."""
    mail_fault(QueueFull("store"))
    sent = mail_topology.send("jack@store.example", "jill@library.example")

    assert not sent.accepted
    story = sent.verdict()
    story.assert_rejected_by("store", stage="MAIL", code=452, status="4.3.1")
    story.assert_no_dsn()


def test_quota(mail_topology: MailTopology, mail_fault: FaultApplier) -> None:
    """Jill's mailbox is at its size limit: accepted by library, then bounced by library with 5.2.2."""
    mail_fault(MailboxFull("library", user="jill"))
    sent = mail_topology.send("jack@store.example", "jill@library.example")

    story = sent.verdict()
    dsn = story.bounced_by("library", to="jack@store.example")
    assert_dsn(dsn, action="failed", status=status_or_undefined("5.2.2"), reporting_mta="mx.library.example",
               remote_mta=None, envelope=sent.original_envelope(), profile=dsn_profile(mail_topology, "library"))
    story.assert_no_backscatter()


def test_too_large(mail_topology: MailTopology, mail_fault: FaultApplier) -> None:
    """library takes at most 10000 bytes and says so in EHLO (SIZE 10000, RFC 1870): it never takes the message,
    and store bounces to Jack itself (5.3.4). Either store declines on its own from EHLO's SIZE (Postfix: its own
    diagnostic, no Remote-MTA, since no reply was refused) or it declares the size at MAIL and library refuses there
    with 552 (Exim: the DSN quotes library's reply, with Remote-MTA); RFC 1870 s6 allows both."""
    mail_fault(SizeLimit("library", limit=10_000))
    sent = mail_topology.send("jack@store.example", "jill@library.example", body="x" * 12_000 + "\n")

    story = sent.verdict()
    story.assert_no_dsn("library")
    assert not story.accepted_by("library"), story.render()
    dsn = story.bounced_by("store", to="jack@store.example")
    if story.rejected_by("library", stage="MAIL"):  # store declared the size (SIZE=), library refused it
        story.assert_rejected_by("library", stage="MAIL", code=552)
        assert_dsn(dsn, action="failed", status=[*status_or_undefined("5.3.4"), "5.2.3"],
                   reporting_mta="mx.store.example", remote_mta="mx.library.example", diagnostic_contains="552",
                   envelope=sent.original_envelope(), profile=dsn_profile(mail_topology, "store"))
    else:  # store declined on its own, from library's EHLO
        assert_dsn(dsn, action="failed", status=["5.3.4", "5.2.3"], reporting_mta="mx.store.example",
                   remote_mta=None, diagnostic_contains="exceeds size limit 10000 of server mx.library.example",
                   envelope=sent.original_envelope(), profile=dsn_profile(mail_topology, "store"))
