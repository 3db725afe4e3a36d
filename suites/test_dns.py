"""DNS trouble at the sender's server: permanent answers (NXDOMAIN, null MX) bounce at once; temporary ones
(SERVFAIL, a dead MX) are retried and bounce when the message expires (here: tried once). A dead MX is an address
of the network where no host is: the sender's ARP probes go unanswered and its connection fails with "No route to
host" (after 0.8 s: two probes 0.4 s apart, harness.mta.postfix.node; docs/time-outs.md)."""

import pytest

from harness import Dns, FaultApplier, MailTopology, QueueLifetime, assert_dsn
from harness.faults import DnsKind

from . import dsn_profile, own_diagnostic, status_or_undefined


@pytest.mark.parametrize(("kind", "status", "words"), [
    ("nxdomain", "5.4.4", "Host or domain name not found"),
    ("servfail", "4.4.3", "Host or domain name not found"),
    ("null_mx", "5.1.10", "does not accept mail"),
    ("dead_mx", "4.4.1", ["dead.library.example", "No route to host"]),
], ids=["nxdomain", "servfail", "null_mx", "dead_mx"])
def test_dns_failure(mail_topology: MailTopology, mail_fault: FaultApplier, kind: DnsKind, status: str,
                     words: str | list[str]) -> None:
    """library.example's DNS breaks: store bounces to Jack with a DNS-shaped status."""
    mail_fault(Dns("library", kind), QueueLifetime("store", lifetime="0s"))
    sent = mail_topology.send("jack@store.example", "jill@library.example")

    dsn = mail_topology.mailbox("jack@store.example").wait_for_dsn(timeout=20)
    story = sent.verdict()
    assert story.bounced_by("store", to="jack@store.example")
    # No server replied: the status may be the class's undefined X.0.0, and a Diagnostic-Code, where the DSN gives
    # one, names the cause (suites.status_or_undefined, suites.own_diagnostic).
    statuses = [*status_or_undefined(status), *([status[:3]] if kind == "null_mx" else [])]
    assert_dsn(dsn, action="failed", status=statuses,
               reporting_mta="mx.store.example", diagnostic_contains=own_diagnostic(dsn, words),
               envelope=sent.original_envelope(), profile=dsn_profile(mail_topology, "store"))


def test_no_mx(mail_topology: MailTopology, mail_fault: FaultApplier) -> None:
    """No MX record, but an A record for the domain: RFC 5321 s5.1's implicit MX delivers the mail."""
    mail_fault(Dns("library", "no_mx"))
    sent = mail_topology.send("jack@store.example", "jill@library.example")

    mail_topology.mailbox("jill@library.example").wait_for()
    story = sent.verdict()
    story.assert_delivered_to("jill@library.example")
    story.assert_no_dsn()
