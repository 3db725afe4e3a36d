"""The search: hypothesis generates scenarios, each is run and judged; a violation is shrunk, then the smallest
scenario is run twice more to make sure it is deterministic.

One search runs in one process on its own topologies (one per variant, started when first needed). Rounds: a
round ends at the first violation hypothesis finds and shrinks; the next round counts that violation's kind as
known (a scenario showing only known kinds passes), so each round can find a new one, until the budget is spent.
Every finding is kept in the example database (a folder) and tried first by the next run.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hseed
from hypothesis.database import DirectoryBasedExampleDatabase

from ..errors import UsageError
from ..sut.options import UserConfig
from ..topology import TopologySpec
from ..world import MailTopology
from .guarantees import GUARANTEES, Violation
from .run import NotApplicable, Outcome, run_scenario
from .scenario import Scenario, Targets, Variant, from_json, to_json
from .strategies import canonical, scenarios

FINDINGS_KEY = b"mailharness-explore:findings"  # our own entries in the example database: scenarios as JSON


@dataclass(frozen=True)
class Config:
    """What one search needs; plain data, so that a worker process can be given it."""

    variants: tuple[Variant, ...] = ("default",)
    budget: float = 60.0
    seed: int = 0
    database: str = ""  # a folder; "" keeps nothing between runs
    mta_config: str = ""  # [NODE=]DIR: your configuration in place of a node (variant "config")
    shrink_time: float = 0.0  # extra seconds for shrinking and confirming; 0: half the budget, at most 120 s
    stop_after: int = 0  # stop once this many findings are confirmed (0: search the whole budget)
    canonical: bool = True  # begin with the canonical cases (False: hypothesis alone, for measuring it)
    # What you vouch for of your configuration, as for `mailharness check` (harness.sut.options):
    mta_recipient: str = ""  # --mta-recipient: an address it accepts
    mta_domains: tuple[str, ...] = ()  # --mta-domain: domains it serves
    mta_tables: tuple[str, ...] = ()  # --mta-table PARAM=FILE: readable copies of its tables
    mta: tuple[str, ...] = ()  # --mta [NODE=]KIND[@VERSION]: the releases every topology's nodes run

    def user(self) -> UserConfig | None:
        """Your configuration (None without mta_config)."""
        if not self.mta_config:
            return None
        node, _, directory = self.mta_config.rpartition("=")
        return UserConfig(directory, node or "library", self.mta_recipient, self.mta_domains, self.mta_tables)


@dataclass
class Discovery:
    violation: Violation
    scenario: Scenario
    story: str
    held: list[str]
    targets: Targets
    found_after: float  # seconds since the search began
    reproduced: int = 0  # of 2 re-runs of the smallest scenario
    tried: int = 0  # scenarios run before it was found
    record: dict[str, Any] = field(default_factory=dict)  # the HTML report's record of its last confirming run


@dataclass
class Stats:
    tried: int = 0
    not_applicable: int = 0
    not_judged: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    fault_kinds: set[str] = field(default_factory=set)
    violations: Counter[str] = field(default_factory=Counter)  # by guarantee, scenarios showing it
    seconds: float = 0.0

    def add(self, o: Outcome) -> None:
        self.tried += 1
        self.outcomes.update(o.outcomes)
        self.fault_kinds.update(type(f).__name__ for f in o.scenario.faults)
        self.fault_kinds.update(f"mock:{m.kind}" for m in o.scenario.mock)
        if o.not_judged:
            self.not_judged += 1
        self.violations.update({v.guarantee for v in o.violations})

    def merge(self, other: Stats) -> None:
        self.tried += other.tried
        self.not_applicable += other.not_applicable
        self.not_judged += other.not_judged
        self.outcomes.update(other.outcomes)
        self.fault_kinds |= other.fault_kinds
        self.violations.update(other.violations)
        self.seconds = max(self.seconds, other.seconds)


class _Stop(BaseException):
    """The budget is spent (a BaseException: hypothesis lets it through instead of shrinking it)."""


class _Found(Exception):
    def __init__(self, outcome: Outcome, violation: Violation) -> None:
        super().__init__(f"{violation.guarantee}: {violation.what}")
        self.outcome, self.violation = outcome, violation


def _found_class(signature: tuple[str, str], classes: dict[tuple[str, str], type[_Found]]) -> type[_Found]:
    """One exception class per kind of violation, so that hypothesis keeps distinct ones apart while shrinking."""
    if signature not in classes:
        classes[signature] = type(f"Found{len(classes)}", (_Found,), {})
    return classes[signature]


class Worlds:
    """The topologies of one search, one per variant, started when first needed, stopped at the end."""

    def __init__(self, config: Config, stack: ExitStack, given: dict[str, MailTopology] | None = None,
                 targets: Targets | None = None) -> None:
        self.config, self.stack = config, stack
        self.worlds: dict[str, MailTopology] = dict(given or {})
        self.targets = targets or Targets()
        user = config.user()
        if user is not None and targets is None:
            info = user.inspect()
            known = info.recipients[0] if info.recipients else f"postmaster@{info.domain}"
            self.targets = Targets(info.domain, known, user.node)

    def spec(self, variant: Variant) -> TopologySpec:
        """The topology of a variant, with the releases of --mta."""
        from ..plugin.settings import apply_mta, parse_mta
        from ..sut.byoc import topology_for_config
        from ..topology import default_topology, topology_with_mock_next_hop

        user = self.config.user()
        if variant == "config":
            if user is None:
                raise UsageError("the variant config needs a configuration (mta_config)")
            spec, _ = topology_for_config(user.directory, user.node, recipient=user.recipient, domains=user.domains,
                                          tables=user.table_pairs())
        else:
            spec = topology_with_mock_next_hop() if variant == "mock" else default_topology()
        return apply_mta(spec, parse_mta(self.config.mta))

    def __call__(self, variant: Variant) -> MailTopology:
        if variant not in self.worlds:
            self.worlds[variant] = self.stack.enter_context(MailTopology(self.spec(variant)))
        return self.worlds[variant]


def search(config: Config, on_progress: Callable[[Stats], None] = lambda s: None,
           on_finding: Callable[[Discovery], None] = lambda f: None, *, worlds: dict[str, MailTopology] | None = None,
           targets: Targets | None = None) -> tuple[list[Discovery], Stats]:
    """Search until the budget is spent; return the findings (one per kind of violation, smallest first found).
    `worlds`: topologies already running, by variant (the others are started and stopped here)."""
    with ExitStack() as stack:
        return _Search(config, Worlds(config, stack, worlds, targets), on_progress, on_finding).run()


class _Search:
    def __init__(self, config: Config, worlds: Worlds, on_progress: Callable[[Stats], None],
                 on_finding: Callable[[Discovery], None]) -> None:
        self.config, self.worlds = config, worlds
        self.on_progress, self.on_finding = on_progress, on_finding
        self.stats = Stats()
        self.cache: dict[Scenario, Outcome] = {}
        self.known: set[tuple[str, str]] = set()
        self.findings: list[Discovery] = []
        self.t0 = time.monotonic()
        self.end = self.t0 + config.budget
        self.shrink = config.shrink_time or min(120.0, max(10.0, config.budget / 2))
        self.db = DirectoryBasedExampleDatabase(config.database) if config.database else None

    def evaluate(self, s: Scenario) -> Outcome | None:
        if s in self.cache:
            return self.cache[s]
        try:
            o = run_scenario(self.worlds(s.variant), s, self.worlds.targets)
        except NotApplicable:
            self.stats.not_applicable += 1
            return None
        o.verdict = None  # the story object holds the world: a long search keeps only what it judged
        self.cache[s] = o
        self.stats.add(o)
        self.stats.seconds = time.monotonic() - self.t0
        self.on_progress(self.stats)
        return o

    def new_violation(self, o: Outcome) -> Violation | None:
        return next((v for v in o.violations if v.signature not in self.known), None)

    def run(self) -> tuple[list[Discovery], Stats]:
        for v in self.config.variants:  # the budget is for the search: topologies start first
            self.worlds(v)
        self.t0 = time.monotonic()
        self.end = self.t0 + self.config.budget
        self.replay_database()
        if self.config.canonical:
            self.try_first(canonical(self.config.variants, self.worlds.targets))
        rounds = 0
        while time.monotonic() < self.end and not self.enough():
            found = self.round(self.config.seed + rounds)
            rounds += 1
            if found is None:
                break
            self.confirm(found)
        self.stats.seconds = time.monotonic() - self.t0
        return self.findings, self.stats

    def replay_database(self) -> None:
        """What earlier runs found is tried first (then the canonical cases, then hypothesis)."""
        if self.db is None:
            return
        kept = []
        for raw in sorted(self.db.fetch(FINDINGS_KEY)):
            try:
                kept.append(from_json(raw.decode()))
            except (ValueError, KeyError, TypeError):
                continue  # an entry of an older format: skipped
        self.try_first(kept)

    def enough(self) -> bool:
        return 0 < self.config.stop_after <= sum(f.reproduced == 2 for f in self.findings)

    def try_first(self, cases: list[Scenario]) -> None:
        for s in cases:
            if s.variant not in self.config.variants or time.monotonic() > self.end or self.enough():
                continue
            o = self.evaluate(s)
            while o is not None and (v := self.new_violation(o)) is not None:
                self.confirm(Discovery(v, s, o.story, o.held, self.worlds.targets, time.monotonic() - self.t0,
                                     tried=self.stats.tried))

    def round(self, seed: int) -> Discovery | None:
        classes: dict[tuple[str, str], type[_Found]] = {}
        first: list[float] = []

        @settings(max_examples=10**6, deadline=None, database=self.db, verbosity=Verbosity.quiet,
                  suppress_health_check=list(HealthCheck), report_multiple_bugs=False,
                  phases=(Phase.reuse, Phase.generate, Phase.shrink))
        @hseed(seed)
        @given(scenarios(self.config.variants, self.worlds.targets))
        def probe(s: Scenario) -> None:
            now = time.monotonic()
            if s not in self.cache:
                if not first and now > self.end:
                    raise _Stop
                if first and now > first[0] + self.shrink:
                    return  # out of shrinking time: not run, counted as passing
            o = self.evaluate(s)
            v = self.new_violation(o) if o is not None else None
            if o is not None and v is not None:
                if not first:
                    first.append(time.monotonic())  # found once this scenario has run
                raise _found_class(v.signature, classes)(o, v)

        try:
            probe()
        except _Stop:
            return None
        except _Found as exc:
            return Discovery(exc.violation, exc.outcome.scenario, exc.outcome.story, exc.outcome.held,
                           self.worlds.targets, (first[0] if first else time.monotonic()) - self.t0,
                           tried=self.stats.tried)
        return None

    def confirm(self, f: Discovery) -> None:
        """Run the smallest scenario twice more, afresh: a finding only if both show the same violation."""
        self.known.add(f.violation.signature)
        for _ in range(2):
            try:
                o = run_scenario(self.worlds(f.scenario.variant), f.scenario, self.worlds.targets)
            except NotApplicable:
                break
            if any(v.signature == f.violation.signature for v in o.violations):
                f.reproduced += 1
                if o.verdict is not None:
                    from ..report import scenario_record

                    f.record = scenario_record(f"explore::{f.violation.guarantee}: {f.violation.key}", "failed",
                                               o.seconds, f"{f.violation.what} ({f.violation.rfc}); "
                                               f"{f.scenario.describe(f.targets)}", [o.verdict])
        if self.db is not None and f.reproduced == 2:
            self.db.save(FINDINGS_KEY, to_json(f.scenario).encode())
        self.findings.append(f)
        self.on_finding(f)


def guarantees_table(findings: list[Discovery], stats: Stats) -> Iterator[str]:
    """The summary: per guarantee, the scenarios tried, the violations seen, the smallest example."""
    yield f"{'guarantee':18} {'tried':>6} {'violations':>10}  smallest example"
    for g, ref in GUARANTEES.items():
        mine = sorted((f for f in findings if f.violation.guarantee == g and f.reproduced == 2),
                      key=lambda f: f.scenario.size_key())
        example = mine[0].scenario.describe(mine[0].targets) if mine else "-"
        yield f"{g:18} {stats.tried:>6} {stats.violations.get(g, 0):>10}  {example}"
        del ref
