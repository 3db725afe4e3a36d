"""Temporary failures: the sender's server keeps the message and retries (queue times compressed to seconds).
A "delayed" DSN may warn the sender; a failed one must come when the message expires."""

from harness import FaultApplier, MailTopology, QueueLifetime, Refuse, assert_dsn, evidence

from . import dsn_of, dsn_profile, status_or_undefined


def test_tempfail_then_delivered(mail_topology: MailTopology) -> None:
    """library says 451 4.3.2 once; the fault heals; store's next retry delivers. No DSN."""
    heal = mail_topology.apply(Refuse("library", "jill@library.example", "451 4.3.2 Mailbox temporarily unavailable"))
    sent = mail_topology.send("jack@store.example", "jill@library.example")
    # the harness's records of the log, whatever the MTA's words (never one MTA's log fields)
    mail_topology.wait_log(lambda e: e.node == "store" and any(d.status == "deferred"
                                                               for d in evidence.deliveries([e])),
                           what="store deferring")
    heal()

    mail_topology.mailbox("jill@library.example").wait_for(timeout=20)
    story = sent.verdict()
    story.assert_rejected_by("library", stage="RCPT", code=451, status="4.3.2")
    story.assert_delivered_to("jill@library.example")
    story.assert_no_dsn()


def test_tempfail_then_expired(mail_topology: MailTopology, mail_fault: FaultApplier) -> None:
    """library keeps saying 451: store warns Jack at its first deferral (delayed DSN), retries, and gives up when
    the message is 2 s old (failed). (Postfix counts whole seconds: a warning time of 1 s is due at the first
    deferral, and 2 s is the shortest lifetime that always retries before it expires.)"""
    mail_fault(Refuse("library", "jill@library.example", "451 4.3.2 Mailbox temporarily unavailable"),
               QueueLifetime("store", lifetime="2s", delay_warning="1s"))
    sent = mail_topology.send("jack@store.example", "jill@library.example")
    box = mail_topology.mailbox("jack@store.example")

    # each DSN by what it says (a server may warn more than once, RFC 3464 s2.3.3); its status may be the class's
    # undefined X.0.0 (suites.status_or_undefined)
    delayed = box.wait_for(dsn_of("delayed"), timeout=15, what="the delayed DSN")
    failed = box.wait_for(dsn_of("failed"), timeout=20, what="the failed DSN")
    assert_dsn(delayed, action="delayed", status=["4.3.2", "4.0.0"], reporting_mta="mx.store.example",
               remote_mta="mx.library.example", envelope=sent.original_envelope(),
               profile=dsn_profile(mail_topology, "store"))
    assert_dsn(failed, action="failed", status=status_or_undefined("4.3.2"), reporting_mta="mx.store.example",
               remote_mta="mx.library.example", envelope=sent.original_envelope(),
               profile=dsn_profile(mail_topology, "store"))
    story = sent.verdict()
    assert len([h for h in story.hops if h.kind == "deferred" and h.node == "store" and not h.dsn]) >= 2, \
        story.render()
    assert story.bounced_by("store", kind="delayed") and story.bounced_by("store", kind="failed")
    story.assert_no_dsn("library")


def test_tempfail_twice_then_accepted_by_a_mock_next_hop(mail_topology_with_mock: MailTopology) -> None:
    """example.edu (a scripted mock) answers 451 4.3.2 twice, then 250: store retries and delivers. No DSN."""
    from harness.mock import Script, rule, step

    world = mail_topology_with_mock
    world.mock("edu").script = Script().add(
        rule("rcpt", step("451 4.3.2 Busy, try again", times=2), "250 2.1.5 Ok", match="jill@example.edu"))
    sent = world.send("jack@store.example", "jill@example.edu")

    [got] = world.mock("edu").wait_for_messages(1, timeout=20)
    assert got.recipients == ("jill@example.edu",)
    story = sent.verdict()
    assert [h.kind for h in story.hops if h.node == "store" and not h.dsn] == ["accepted", "deferred", "deferred",
                                                                                "relayed"], story.render()
    story.assert_rejected_by("edu", stage="RCPT", code=451)
    story.assert_no_dsn()
