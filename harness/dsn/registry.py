"""How rule modules declare their checks, and what a check is given."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal

from harness.dsn.catalog import BY_ID
from harness.dsn.context import DsnEnvelope, OriginalEnvelope
from harness.dsn.findings import Issue
from harness.dsn.model import DSN, RecipientBlock

from ..errors import UsageError

Need = Literal["envelope", "dsn_envelope", "scripted_replies"]


@dataclass(frozen=True)
class Inputs:
    dsn: DSN
    envelope: OriginalEnvelope | None = None
    dsn_envelope: DsnEnvelope | None = None
    scripted_replies: Mapping[str, str] = field(default_factory=dict)  # recipient address -> SMTP reply

    def has(self, need: Need) -> bool:
        if need == "envelope":
            return self.envelope is not None
        if need == "dsn_envelope":
            return self.dsn_envelope is not None
        return bool(self.scripted_replies)


Check = Callable[[Inputs], Iterator[Issue]]


@dataclass(frozen=True)
class Registered:
    rule: str
    needs: tuple[Need, ...]
    check: Check


CHECKS: list[Registered] = []


def check(rule: str, *needs: Need) -> Callable[[Check], Check]:
    """Register a check for a checklist rule; it runs only when every context it needs is given."""
    if rule not in BY_ID:
        raise UsageError(f"{rule} is not a checklist rule id")

    def register(fn: Check) -> Check:
        CHECKS.append(Registered(rule, needs, fn))
        return fn

    return register


def who(index: int, r: RecipientBlock) -> str:
    """How a message names a recipient block: its address, or its position when it has none."""
    return r.address or f"recipient #{index + 1}"
