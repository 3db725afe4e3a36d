"""Forwarding: the forwarding server has accepted the message, so when the next hop refuses the forward, the
forwarder bounces, to the ORIGINAL envelope sender (Postfix keeps it; no SRS). Final-Recipient names the forward
target (or, as Exim reports it, the address Jack wrote to: RFC 3464 leaves it to the reporting MTA)."""

from typing import Literal

import pytest

from harness import FaultApplier, Forward, MailTopology, Refuse, assert_dsn, evidence

from . import dsn_profile, own_diagnostic, reported_recipient, status_or_undefined

Via = Literal["alias", "forward", "virtual"]  # how library forwards: an alias, a .forward file, a virtual alias


@pytest.mark.parametrize("via", ["alias", "forward", "virtual"])
def test_forward_refused(mail_topology: MailTopology, mail_fault: FaultApplier, via: Via) -> None:
    """jill@library.example forwards to jill@example.edu, which refuses (550 5.1.1): library bounces to Jack."""
    mail_fault(Forward("library", user="jill", to="jill@example.edu", via=via),
               Refuse("edu", "jill@example.edu", "550 5.1.1 No such user here"))
    sent = mail_topology.send("jack@store.example", "jill@library.example")

    story = sent.verdict()
    story.assert_accepted_by("library")
    story.assert_rejected_by("edu", stage="RCPT", status="5.1.1", recipient="jill@example.edu")
    dsn = story.bounced_by("library", to="jack@store.example")
    story.assert_no_dsn("store")
    story.assert_no_dsn("edu")
    assert_dsn(dsn, action="failed", status=status_or_undefined("5.1.1"), reporting_mta="mx.library.example",
               remote_mta="mx.example.edu",
               recipient=reported_recipient(dsn, "jill@example.edu", "jill@library.example"),
               diagnostic_contains="No such user here", envelope=sent.original_envelope(),
               profile=dsn_profile(mail_topology, "library"))


def test_forward_tempfail_is_retried_not_bounced(mail_topology: MailTopology, mail_fault: FaultApplier) -> None:
    """The forward's next hop says 451: library keeps the message and retries; Jack hears nothing yet."""
    mail_fault(Forward("library"), Refuse("edu", "jill@example.edu", "451 4.3.2 Try again later"))
    sent = mail_topology.send("jack@store.example", "jill@library.example")

    mail_topology.wait_log(lambda e: e.node == "library" and any(d.status == "deferred"
                                                                 for d in evidence.deliveries([e])),
                           what="a deferral")
    story = sent.verdict(timeout=0)
    story.assert_rejected_by("edu", stage="RCPT", code=451)
    assert ("library", story.pending[0][1]) in story.pending, "library still holds the message"
    story.assert_no_dsn()


def test_mail_loop(mail_topology: MailTopology, mail_fault: FaultApplier) -> None:
    """library forwards Jill to example.edu, which forwards her back: the loop is detected (5.4.6) and Jack gets
    one DSN. Which server of the loop sees it first is each MTA's own way (Postfix: its Delivered-To: header comes
    back; Exim: the count of Received: lines, RFC 5321 s6.3): the first of library and edu that bounces."""
    mail_fault(Forward("library", to="jill@example.edu"), Forward("edu", to="jill@library.example"))
    sent = mail_topology.send("jack@store.example", "jill@library.example")

    story = sent.verdict()
    [by] = [n for n in ("library", "edu") if story.dsns_from(n)] or ["library"]
    dsn = story.bounced_by(by, to="jack@store.example")
    assert_dsn(dsn, action="failed", status=status_or_undefined("5.4.6"),
               reporting_mta=mail_topology.node(by).hostname, diagnostic_contains=own_diagnostic(dsn, "loop"),
               envelope=sent.original_envelope(), profile=dsn_profile(mail_topology, by))
