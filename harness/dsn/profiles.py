"""Profiles: how a rule's requirement becomes a finding's level (docs/dsn-checklist.md, "Profiles")."""

from __future__ import annotations

from typing import Literal, get_args

from harness.dsn.catalog import info
from harness.dsn.findings import Issue, Level

from ..errors import UsageError

Profile = Literal["strict", "postfix", "exim", "lenient"]
PROFILES: tuple[str, ...] = get_args(Profile)

# Postfix's known, deliberate departures: (rule, variant). Its field order is a warning everywhere.
POSTFIX_DEPARTURES = frozenset(
    {
        ("R-2", "present-without-orcpt"),
    }
)
# Exim's known departures (Exim 4.96 and 4.98, seen in the harness's runs): its success DSN (NOTIFY=SUCCESS) says
# Auto-Submitted: auto-generated where RFC 3834 s5 wants auto-replied, and writes Original-Recipient although the
# RCPT had no ORCPT (as Postfix does).
EXIM_DEPARTURES = frozenset(
    {
        ("H-2", "auto-generated"),
        ("R-2", "present-without-orcpt"),
    }
)
# Rules whose MUST is an error only in strict (the checklist says so for R-9).
STRICT_ONLY = frozenset({"R-9"})


def check_profile(profile: str) -> Profile:
    if profile not in PROFILES:
        raise UsageError(f"unknown profile {profile!r}: choose one of {', '.join(PROFILES)}")
    return profile  # type: ignore[return-value]


def level_for(issue: Issue, profile: Profile) -> Level:
    requirement = issue.requirement or info(issue.rule).requirement
    if requirement not in ("MUST", "MUST NOT"):
        return "warning"  # SHOULD, SHOULD NOT, derived and lint rules warn in every profile
    if profile == "lenient":
        return "error" if issue.unusable else "warning"
    if issue.unusable:
        return "error"
    if profile == "postfix" and (issue.rule, issue.variant) in POSTFIX_DEPARTURES:
        return "warning"
    if profile == "exim" and (issue.rule, issue.variant) in EXIM_DEPARTURES:
        return "warning"
    if profile != "strict" and issue.rule in STRICT_ONLY:
        return "warning"
    return "error"
