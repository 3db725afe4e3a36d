"""The server under test for the conformance suite: the default topology's library.example, or YOUR Postfix
configuration in its place (`pytest --mta-config library=DIR`, `mailharness check DIR`).

Requirements are tests marked with `@requirement(ref=..., hint=...)`: when one fails, the report names the RFC
and the Postfix parameters that usually cause it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NoReturn

import pytest

from ..mta.facts import UNKNOWN_LOCAL_PART
from ..world import MailTopology
from .byoc import OVERRIDES, ConfigInfo

NOT_JUDGED = "not judged: "
NOT_APPLICABLE = "not applicable: "


def not_judged(reason: str) -> NoReturn:
    """The requirement applies, and the harness cannot judge it here (say why, and the way out): NOT JUDGED, a
    skip whose reason starts with "not judged: "."""
    pytest.skip(NOT_JUDGED + reason)


def not_applicable(reason: str) -> NoReturn:
    """The requirement does not apply to this server (say why: "DSN not offered in EHLO"): N/A, a skip whose
    reason starts with "not applicable: ". Neither it nor NOT JUDGED makes the run fail."""
    pytest.skip(NOT_APPLICABLE + reason)


def judged(outcome: str, longrepr: object) -> tuple[str, str]:
    """A test report's outcome as a verdict: ("not-judged", reason) for a skip that says "not judged: ...",
    ("not-applicable", reason) for one that says "not applicable: ...", otherwise (outcome, "")."""
    if outcome == "skipped" and isinstance(longrepr, tuple) and len(longrepr) == 3:
        msg = str(longrepr[2]).removeprefix("Skipped: ")
        for prefix, verdict in ((NOT_JUDGED, "not-judged"), (NOT_APPLICABLE, "not-applicable")):
            if msg.startswith(prefix):
                return verdict, msg.removeprefix(prefix)
    return outcome, ""


def requirement(ref: str, hint: str) -> pytest.MarkDecorator:
    """Mark a test as a conformance requirement: `ref` the RFC and section, `hint` what to change when it fails."""
    return pytest.mark.requirement(ref=ref, hint=hint)


@dataclass(frozen=True)
class Target:
    """The server the requirements are checked on, and what is known about its configuration."""

    world: MailTopology
    node: str  # its node name in the topology
    domain: str
    recipient: str  # a recipient it should accept
    sender: str = "jack@store.example"  # a sender on another node of the topology, whose mailbox we can read
    info: ConfigInfo | None = None  # None: the harness's own baseline configuration

    @property
    def relay_domain(self) -> str:
        """A domain the server relays to a backend (gateway configurations), or ""."""
        return self.info.relay_domains[0] if self.info is not None and self.info.relay_domains else ""

    @property
    def delivers_over_lmtp(self) -> bool:
        """The known recipient's mail is delivered over LMTP (its MTA's package read that from the configuration):
        the LMTP server is then a Remote-MTA of its DSNs."""
        return self.info is not None and self.info.lmtp_delivery

    @property
    def unknown_recipient(self) -> str:
        """An address Postfix's own lookups confirm unknown (skips as NOT JUDGED, with the reason, if none)."""
        if self.info is None:
            return f"{UNKNOWN_LOCAL_PART}@{self.domain}"
        if not self.info.unknown:
            not_judged(self.info.unknown_reason)
        return self.info.unknown

    def known_recipient(self, delivered_here: bool = False) -> str:
        """A recipient Postfix's own lookups know (with `delivered_here`, one whose mail this server delivers
        itself); NOT JUDGED, with the reason, if there is none."""
        if not self.recipient:
            not_judged(self.info.known_reason if self.info else "no recipient known")
        if delivered_here and self.info is not None and not self.info.delivered_here:
            not_judged(f"{self.recipient}'s mail is passed on, not delivered by this server (no recipient of a "
                       "local or virtual mailbox domain known); pass one with --mta-recipient")
        return self.recipient

    @property
    def description(self) -> str:
        if self.info is None:
            return f"{self.node} ({self.domain}) with the harness's baseline Postfix configuration"
        return f"{self.node} ({self.domain}) with the configuration in {self.info.directory}"

    def overrides(self) -> list[str]:
        return [f"{what}: {why}" for what, why in OVERRIDES] if self.info is not None else []
