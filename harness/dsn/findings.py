"""Findings: what a rule reports (Issue) and what the validator returns after a profile set its level (Finding)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from harness.dsn.catalog import Requirement, info

Level = Literal["error", "warning"]


@dataclass(frozen=True)
class Issue:
    """Raw output of a rule, before a profile decides its level.

    `requirement` overrides the rule's when one rule mixes MUST and SHOULD parts; `variant` names a specific
    departure a profile may downgrade; `unusable` marks what makes the DSN unusable (errors even in lenient).
    """

    rule: str
    message: str
    requirement: Requirement | None = None
    variant: str = ""
    unusable: bool = False


@dataclass(frozen=True)
class Finding:
    """One departure of a DSN from the checklist (docs/dsn-rules.md), at the level the profile gives it: what
    `validate` returns and `assert_dsn`'s failure lists. ``str(finding)``: ``S-2 error (RFC 3464 s2.2.2): ...``."""

    rule: str
    """The checklist's rule id ("S-2")."""
    level: Level
    """"error" or "warning", as the profile set it (only errors fail `assert_dsn`)."""
    ref: str
    """The RFC and section ("RFC 3464 s2.2.2")."""
    message: str
    """One line naming the field and the offending value."""
    requirement: Requirement = "MUST"
    """The RFC's strength: MUST, SHOULD or MAY."""
    variant: str = ""
    """The name of a specific departure a profile may downgrade ("" for none)."""

    def __str__(self) -> str:
        return f"{self.rule} {self.level} ({self.ref}): {self.message}"

    @property
    def is_error(self) -> bool:
        """Whether the level is "error"."""
        return self.level == "error"

    def as_dict(self) -> dict[str, str]:
        """rule, level, message and ref (what `mailharness dsn-lint --json` prints)."""
        return {"rule": self.rule, "level": self.level, "message": self.message, "ref": self.ref}


def quote(value: str | None, limit: int = 80) -> str:
    """A value for a one-line message: repr-like quotes, control characters escaped, long values cut."""
    if value is None:
        return "(absent)"
    text = value.replace("\\", "\\\\").replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")
    text = "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"'{text}'"


def one_line(text: str) -> str:
    """Control characters (line breaks included) escaped, so that every message is one printable line."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def finding_from(issue: Issue, level: Level) -> Finding:
    rule = info(issue.rule)
    return Finding(
        rule=issue.rule,
        level=level,
        ref=rule.ref,
        message=one_line(issue.message) or issue.rule,
        requirement=issue.requirement or rule.requirement,
        variant=issue.variant,
    )
