"""validate: run every checklist rule that the given context allows, under a profile."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from harness.dsn import rules_codes, rules_envelope, rules_mime, rules_permessage, rules_recipient, rules_request
from harness.dsn.catalog import ORDER
from harness.dsn.context import DsnEnvelope, OriginalEnvelope
from harness.dsn.findings import Finding, Issue, finding_from
from harness.dsn.model import DSN, NotADSN
from harness.dsn.parse import Source, parse_dsn
from harness.dsn.profiles import check_profile, level_for
from harness.dsn.registry import CHECKS, Inputs
from harness.keywords import keywords

# The rule modules register their checks on import.
RULE_MODULES = (rules_mime, rules_permessage, rules_recipient, rules_codes, rules_envelope, rules_request)


@keywords
def validate(
    dsn: DSN | NotADSN | Source,
    profile: str = "strict",
    *,
    envelope: OriginalEnvelope | None = None,
    dsn_envelope: DsnEnvelope | None = None,
    scripted_replies: Mapping[str, str] | None = None,
    allow_rules: Iterable[str] = (),
) -> tuple[Finding, ...]:
    """Check a DSN against the checklist. Returns the findings, errors and warnings, in checklist order.

    Rules needing `envelope` (the original message's SMTP envelope), `dsn_envelope` (the DSN's own) or
    `scripted_replies` (recipient -> the SMTP reply the harness scripted) run only when those are given.
    A message that is not a DSN yields no findings, except one M-3 error when it declares
    report-type=delivery-status but has no readable delivery-status part. `allow_rules` drops findings of
    those rule ids.
    """
    prof = check_profile(profile)
    parsed = dsn if isinstance(dsn, (DSN, NotADSN)) else parse_dsn(dsn)
    allowed = frozenset(allow_rules)
    if isinstance(parsed, NotADSN):
        if not parsed.declared_dsn or "M-3" in allowed:
            return ()
        issue = Issue("M-3", f"no readable delivery-status part: {parsed.reason}", unusable=True)
        return (finding_from(issue, level_for(issue, prof)),)
    inputs = Inputs(
        dsn=parsed,
        envelope=envelope,
        dsn_envelope=dsn_envelope,
        scripted_replies=dict(scripted_replies or {}),
    )
    issues: list[Issue] = []
    for registered in CHECKS:
        if registered.rule in allowed or not all(inputs.has(n) for n in registered.needs):
            continue
        issues.extend(registered.check(inputs))
    issues.sort(key=lambda i: ORDER[i.rule])
    return tuple(finding_from(i, level_for(i, prof)) for i in issues)


def errors(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    return tuple(f for f in findings if f.level == "error")


def warnings(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    return tuple(f for f in findings if f.level == "warning")


def verdict(findings: Iterable[Finding]) -> str:
    """'error', 'warning' or 'clean'."""
    levels = {f.level for f in findings}
    return "error" if "error" in levels else "warning" if "warning" in levels else "clean"
