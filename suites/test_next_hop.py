"""The next hop is down, unreachable, or tarpitting: the sender's server owns the DSN (4.4.x, or the class's X.0.0),
with the client's own diagnostic where it writes one (Postfix: X-Postfix; Exim writes none), since no server ever
replied. Tried once here (lifetime 0) to keep it fast; a client waits 1 s (Postfix's shortest time-out) for a
connection or a greeting that never comes."""

import pytest

from harness import Down, Fault, FaultApplier, MailTopology, QueueLifetime, Tarpit, Unreachable, assert_dsn

from . import dsn_profile, own_diagnostic, status_or_undefined


@pytest.mark.parametrize(("fault", "status", "words"), [
    (Down("library"), "4.4.1", "Connection refused"),
    (Down("library", whole_host=True), "4.4.1", "timed out"),
    (Unreachable("library"), "4.4.1", "timed out"),
    (Tarpit("library"), "4.4.2", "timed out while receiving the initial server greeting"),
], ids=["next_hop_down", "next_hop_host_stopped", "unreachable", "tarpit_timeout"])
def test_next_hop_unavailable(mail_topology: MailTopology, mail_fault: FaultApplier, fault: Fault, status: str,
                              words: str) -> None:
    """store cannot hand the message over: it bounces to Jack itself."""
    mail_fault(fault, QueueLifetime("store", lifetime="0s"))
    sent = mail_topology.send("jack@store.example", "jill@library.example")

    dsn = mail_topology.mailbox("jack@store.example").wait_for_dsn(timeout=20)
    story = sent.verdict()
    assert story.bounced_by("store", to="jack@store.example")
    story.assert_no_dsn("library")
    # No server replied: the status may be the class's undefined X.0.0, and a Diagnostic-Code, where the DSN gives
    # one, names the cause (suites.status_or_undefined, suites.own_diagnostic).
    assert_dsn(dsn, action="failed", status=status_or_undefined(status), reporting_mta="mx.store.example",
               diagnostic_contains=own_diagnostic(dsn, words), envelope=sent.original_envelope(),
               profile=dsn_profile(mail_topology, "store"))
