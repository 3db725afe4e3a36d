"""Run one scenario on a running topology and judge its story.

    outcome = run_scenario(world, scenario)
    outcome.violations  # [] when every guarantee held

Everything goes through the public API (reset, apply, send, wait_log, verdict, mailbox), the same calls the
generated regression test makes, so that what the explorer saw is what the test will see.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..faults import Down
from ..faults.interpret import FaultError
from ..mock import Script, rule, step
from ..smtp import Recipient
from ..verdict import Story
from ..world import MailTopology, Sent
from .guarantees import Violation, judge, judged
from .scenario import MockStep, Scenario, Targets

VERDICT_TIMEOUT = 6.0  # seconds a story may take to settle (queue times are compressed; a tempfail with no
# lifetime of its own stays queued, and counts as "still being retried")


SUBMIT_TIMEOUT = 5.0  # our client's patience with a server that does not answer (a tarpit, a cut network)


class NotApplicable(Exception):
    """The scenario cannot be set up on this topology (a fault the node refuses): not a finding, not tried."""


@dataclass
class Outcome:
    scenario: Scenario
    violations: list[Violation]
    outcomes: list[str] = field(default_factory=list)  # per recipient: delivered, refused, bounced, retrying
    story: str = ""
    held: list[str] = field(default_factory=list)  # next hops held down until the faults started (start=after)
    seconds: float = 0.0
    not_judged: str = ""  # why the harness could not judge (a server error, a lost log)
    verdict: Story | None = field(default=None, repr=False, compare=False)  # while its topology still runs


def mock_script(steps: tuple[MockStep, ...]) -> Script:
    script = Script()
    for s in steps:
        if s.kind == "refuse":
            script = script.add(rule("rcpt", "550 5.1.1 No such user here (mock)"))
        elif s.kind == "tempfail":
            script = script.add(rule("rcpt", "451 4.3.2 Try again later (mock)"))
        elif s.kind == "tempfail_then_accept":
            script = script.add(rule("rcpt", step("451 4.3.2 Busy, try again (mock)", times=s.times),
                                     "250 2.1.5 Ok"))
        else:
            script = script.hide("DSN")
    return script


def next_hops(scenario: Scenario, world: MailTopology, t: Targets) -> list[str]:
    """The nodes store hands the message to (those it is held from when the faults start after acceptance)."""
    via = scenario.via(t)
    nodes = []
    for r in scenario.unique_recipients(t):
        name = world.spec.node(r.address(t)).name
        if name != via:
            nodes.append(name)
    return list(dict.fromkeys(nodes))


def run_scenario(world: MailTopology, scenario: Scenario, t: Targets | None = None) -> Outcome:
    t = t or Targets()
    t0 = time.monotonic()
    world.reset()
    if scenario.variant == "mock":
        world.mock("edu").script = mock_script(scenario.mock)
    faults = scenario.all_faults(t)
    held: list[str] = []
    heals: list[Callable[[], None]] = []
    try:
        if scenario.start == "before":
            world.apply(*faults)
            sent = _send(world, scenario, t)
        else:
            held = next_hops(scenario, world, t)
            heals = [world.apply(Down(n)) for n in held]
            sent = _send(world, scenario, t)
            if sent.accepted and held:
                world.wait_log(lambda e: e.node == "store" and e.get("status") == "deferred",
                               what="store holding the message")
            else:
                held = []
            for heal in heals:
                heal()
            world.apply(*faults)
    except FaultError as exc:
        raise NotApplicable(str(exc)) from exc
    story = sent.verdict(timeout=VERDICT_TIMEOUT)
    j = judged(world, story)
    violations = judge(j)
    outcomes = []
    for fate in j.fates.values():
        outcomes.append("refused" if fate.refused else "delivered" if fate.delivered else "bounced" if fate.bounced_at
                        else "retrying" if story.pending else "dropped")
    out = Outcome(scenario, violations, outcomes, story.render(), held, time.monotonic() - t0, verdict=story)
    fatal = [e for e in story.errors if " fatal: " in e or " panic: " in e]  # warnings do not stop a judgement
    if fatal:
        out.not_judged = "a server logged errors: " + "; ".join(fatal[:2])
        out.violations = []
    return out


def _send(world: MailTopology, s: Scenario, t: Targets) -> Sent:
    rcpts = [Recipient(r.address(t), r.notify, r.address(t) if r.orcpt else None) for r in s.unique_recipients(t)]
    body = ("x" * 76 + "\n") * (s.size // 77) if s.size else None
    return world.send(s.sender_address(), rcpts, ret=s.ret, envid=s.envid, via=s.via(t), body=body,
                      timeout=SUBMIT_TIMEOUT)
