"""The server under test for the conformance suite: the default topology's library.example, or YOUR Postfix
configuration in its place (`pytest --mta-config library=DIR`, `mailharness check DIR`).

Requirements are tests marked with `@requirement(ref=..., hint=...)`: when one fails, the report names the RFC
and the Postfix parameters that usually cause it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NoReturn

import pytest

from .. import mta
from ..mta.facts import UNKNOWN_LOCAL_PART, Outbound, Route
from ..world import MailTopology
from .byoc import ConfigInfo

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


def judged(outcome: str, longrepr: object, wasxfail: str | None = None) -> tuple[str, str]:
    """A test report's outcome as a verdict: ("not-judged", reason) for a skip that says "not judged: ...",
    ("not-applicable", reason) for one that says "not applicable: ...", ("expected-failure", reason) for an
    expected failure (pytest's xfail, `wasxfail` its reason: a departure from an RFC the scenario knows the server
    makes, suites.known_departures), otherwise (outcome, "")."""
    if outcome == "skipped" and wasxfail is not None:
        return "expected-failure", wasxfail.removeprefix("reason: ")
    if outcome == "skipped" and isinstance(longrepr, tuple) and len(longrepr) == 3:
        msg = str(longrepr[2]).removeprefix("Skipped: ")
        for prefix, verdict in ((NOT_JUDGED, "not-judged"), (NOT_APPLICABLE, "not-applicable")):
            if msg.startswith(prefix):
                return verdict, msg.removeprefix(prefix)
    return outcome, ""


def requirement(ref: str, hint: str, causes: str = "") -> pytest.MarkDecorator:
    """Mark a test as a conformance requirement: `ref` the RFC and section, `hint` what to change when it fails;
    `causes`, a topic ("unknown-recipients", "relay") whose causes the configuration under test may show by
    itself: when it fails, those come first (Target.causes)."""
    return pytest.mark.requirement(ref=ref, hint=hint, causes=causes)


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
        self.require_inbound()
        return self.info.relay_domains[0] if self.info is not None and self.info.relay_domains else ""

    @property
    def listens(self) -> bool:
        """Clients outside the node can connect to it (its configuration does not listen on loopback only)."""
        return self.world.spec.node(self.node).listens

    def require_inbound(self) -> None:
        """N/A for a requirement on the mail the server receives, when it receives none from outside: it listens
        on loopback only, or serves no domain."""
        if self.info is not None and self.info.inbound_na:
            not_applicable(f"{self.info.inbound_na}: it receives no mail from outside")

    @property
    def outbound(self) -> Outbound:
        """How the server sends through its relayhost (stood in for by the node RELAYHOST). N/A when it names no
        relayhost; NOT JUDGED, with the reason, when the relayhost cannot be stood in for."""
        relay = self.info.outbound if self.info is not None else None
        if relay is None:
            not_applicable("the configuration names no relayhost: it sends to each domain's MX itself, as the "
                           "inbound requirements' servers do (outbound requirements judge servers that send "
                           "through a relayhost)")
        if not relay.host:
            not_judged(relay.why)
        return relay

    def route(self, rcpt: str) -> Route | None:
        """Where `rcpt`'s mail ends, as the MTA's lookups say (None: the harness's baseline, or not asked)."""
        if self.info is None:
            return None
        return next((r for r in self.info.routes if r.address == rcpt.lower()), None)

    def delivers_over_lmtp(self, rcpt: str) -> bool:
        """`rcpt`'s mail is handed over LMTP (to Dovecot): the LMTP server is then a Remote-MTA of its DSNs."""
        route = self.route(rcpt)
        return route is not None and route.kind == "lmtp"

    def final_address(self, rcpt: str) -> str:
        """The address `rcpt`'s mail ends at, after aliases (the mailbox a quota must be put on)."""
        route = self.route(rcpt)
        return route.final if route is not None and route.final else rcpt

    def require_readable(self) -> None:
        """NOT JUDGED when tables that decide what the server accepts cannot be read in the topology: its smtpd
        would answer every recipient of its domains with a temporary lookup failure."""
        if self.info is not None and self.info.unreadable:
            not_judged(f"{'; '.join(self.info.unreadable)}: the node cannot read these tables either (no database "
                       "in the topology), so it would answer its domains' recipients with a temporary lookup "
                       "failure; give it a readable copy with --mta-table PARAM=FILE (a texthash table)")

    @property
    def unknown_recipient(self) -> str:
        """An address Postfix's own lookups confirm unknown (skips as NOT JUDGED, with the reason, if none)."""
        self.require_inbound()
        self.require_readable()
        if self.info is None:
            return f"{UNKNOWN_LOCAL_PART}@{self.domain}"
        if not self.info.unknown:
            not_judged(self.info.unknown_reason)
        return self.info.unknown

    def known_recipient(self, delivered_here: bool = False, kinds: tuple[str, ...] = ()) -> str:
        """A recipient the MTA's own lookups know; with `delivered_here`, one whose mail ends in a mailbox of this
        server (after its aliases: a full disk or a quota there bites); with `kinds`, one whose route is of one
        of these kinds ("lmtp": handed to Dovecot on the node). NOT JUDGED, with the reason and the way out, if
        there is none."""
        self.require_inbound()
        self.require_readable()
        if not self.recipient:
            not_judged(self.info.known_reason if self.info else "no recipient known")
        if not (delivered_here or kinds) or self.info is None:
            return self.recipient
        stored = [r for r in self.info.routes if (r.stored_here or not delivered_here) and (r.kind in kinds or
                                                                                          not kinds)]
        if stored:
            return stored[0].address
        seen = "; ".join(f"{r.address}: {r.kind} ({r.via})" for r in self.info.routes[:4]) or "none asked"
        not_judged(f"no known recipient's mail ends in a mailbox on this server ({seen}); pass one that does with "
                   "--mta-recipient")

    def confirm_quota(self, rcpt: str, limit: int) -> None:
        """After a MailboxFull of `limit` bytes on `rcpt`'s final mailbox, a probe: a small message to `rcpt` is
        delivered, and the server that stores it reports that mailbox's quota at `limit` (to its precision) and one
        more message counted against it. NOT JUDGED otherwise, with what was seen: the quota is not where the mail
        ends, and a message over it accepted there would say nothing of the server. (A node that reports no quota,
        the harness's own mbox spool, is not asked.)"""
        node, final = self.world.mta(self.node), self.final_address(rcpt)
        before = node.quota(final)
        if before is None:
            return
        story = self.world.send(self.sender, rcpt, via=self.node, subject="mailharness quota probe",
                                body="probe\n").verdict()
        after = node.quota(final)
        assert after is not None
        counted = after.messages is not None and after.messages > (before.messages or 0)
        if not (counted and after.limit is not None and abs(after.limit - limit) < 1024):
            hops = "; ".join(h.render(story.names) for h in story.hops) or "nothing logged"
            not_judged(f"the quota put on {final}'s mailbox ({limit} bytes) does not hold where {rcpt}'s mail "
                       f"ends: a probe message to {rcpt} ({hops}), then {after.said} (before the probe: "
                       f"{before.said})")

    def failing_delivery(self) -> tuple[str, str]:
        """A known recipient, and the node whose refusal makes its delivery fail after this server accepted it:
        "" where its mail is stored here (the failure is then a full mail disk), or the next hop of the topology
        its mail is relayed to (a backend behind a gateway), which refuses it. NOT JUDGED, with the routes seen and
        the way out, when no known recipient's route fits either."""
        self.require_inbound()
        if self.info is None or any(r.stored_here for r in self.info.routes):
            return self.known_recipient(delivered_here=True), ""
        for r in self.info.routes:
            if r.kind != "relay":
                continue
            try:
                hop = self.world.spec.node(r.final)
            except KeyError:
                continue  # relayed outside the topology: no stand-in to refuse it
            if hop.name != self.node:
                return r.address, hop.name
        return self.known_recipient(delivered_here=True), ""  # NOT JUDGED, saying which routes were seen

    @property
    def shown(self) -> str:
        """How messages and reports name the server: the host name its configuration gives it (mail.acme.test)
        when it runs yours, else its node name (TopologySpec.display_names)."""
        return self.world.spec.display_names.get(self.node, self.node)

    @property
    def description(self) -> str:
        if self.info is None:
            return f"{self.node} ({self.domain}) with the harness's baseline Postfix configuration"
        return f"{self.shown} (node {self.node}, {self.domain}) with the configuration in {self.info.directory}"

    def causes(self, topic: str) -> list[str]:
        """The causes of a failure about `topic` that the configuration's own values show ([] with the harness's
        baseline, or when none is visible)."""
        if self.info is None or not topic:
            return []
        kind = self.world.spec.node(self.node).kind
        params = dict(self.info.params)
        names = mta.cause_settings(kind, topic)
        if names:  # as the node runs them: its release's defaults, not the inspection's
            params.update(self.world.mta(self.node).settings(names))
        return mta.causes(kind, topic, params)

    def overrides(self) -> list[str]:
        kind = self.world.spec.node(self.node).kind
        return [f"{what}: {why}" for what, why in mta.overrides(kind)] if self.info is not None else []

    def hint(self, topic: str) -> str:
        """What usually causes a failure about `topic` on this server's MTA, in its own words ("" when the
        requirement's own hint says it: harness.mta.hint)."""
        return mta.hint(self.world.spec.node(self.node).kind, topic) if topic else ""
