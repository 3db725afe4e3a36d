"""The DSNs real Postfix produces in the topology, validated with the STRICT profile: the only findings are
Postfix's documented departures (R-2: Original-Recipient without ORCPT; R-10: field order)."""

from __future__ import annotations

from harness import DiskFull, FaultApplier, MailTopology, QueueLifetime, Refuse, parse_dsn, validate
from harness.dsn import DSN

DEPARTURES_ERRORS = {"R-2"}
DEPARTURES_WARNINGS = {"R-10", "R-2"}


def _check(world: MailTopology, sent_envelope: object, message: object) -> set[str]:
    dsn = parse_dsn(message)  # type: ignore[arg-type]
    assert isinstance(dsn, DSN), dsn
    findings = validate(dsn, "strict", envelope=sent_envelope)  # type: ignore[arg-type]
    errors = {f.rule for f in findings if f.level == "error"}
    warnings = {f.rule for f in findings if f.level == "warning"}
    assert errors <= DEPARTURES_ERRORS, [str(f) for f in findings]
    assert warnings <= DEPARTURES_WARNINGS, [str(f) for f in findings]
    return errors | warnings


def test_unknown_user_dsn(mail_topology: MailTopology) -> None:
    sent = mail_topology.send("jack@store.example", "nosuchuser@library.example")
    rules = _check(mail_topology, sent.original_envelope(), mail_topology.mailbox("jack@store.example").wait_for_dsn())
    assert "R-2" in rules, "Postfix writes Original-Recipient although no ORCPT was given"


def test_unknown_user_dsn_with_orcpt_is_clean_of_r2(mail_topology: MailTopology) -> None:
    sent = mail_topology.send("jack@store.example", "nosuchuser@library.example", orcpt=True, envid="e-1")
    rules = _check(mail_topology, sent.original_envelope(), mail_topology.mailbox("jack@store.example").wait_for_dsn())
    assert "R-2" not in rules


def test_disk_full_dsn(mail_topology: MailTopology, mail_fault: FaultApplier) -> None:
    mail_fault(DiskFull("library"))
    sent = mail_topology.send("jack@store.example", "jill@library.example", ret="HDRS")
    _check(mail_topology, sent.original_envelope(), mail_topology.mailbox("jack@store.example").wait_for_dsn())


def test_delayed_dsn(mail_topology: MailTopology, mail_fault: FaultApplier) -> None:
    mail_fault(Refuse("library", "jill@library.example", "451 4.3.2 later"), QueueLifetime("store", "60s", "1s"))
    sent = mail_topology.send("jack@store.example", "jill@library.example", notify=["DELAY", "FAILURE"])
    _check(mail_topology, sent.original_envelope(), mail_topology.mailbox("jack@store.example").wait_for_dsn())
