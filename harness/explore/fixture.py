"""Exploration inside your own suite: the `mail_explore` fixture runs the search on the session's topology.

    def test_my_configuration_keeps_every_guarantee(mail_explore: Explore) -> None:
        report = mail_explore(budget=30)
        assert not report.findings, report.render()

With `--mta-config [NODE=]DIR` the search runs on your configuration (the conformance suite's server under test).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..world import MailTopology
from .explorer import Config, Discovery, Stats, guarantees_table, search
from .scenario import Targets, Variant
from .writer import write


@dataclass
class Report:
    findings: list[Discovery]  # violations reproduced on both re-runs
    stats: Stats
    not_reproduced: list[Discovery] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)

    def render(self) -> str:
        lines = list(guarantees_table(self.findings, self.stats))
        for f in self.findings:
            lines += [f"{f.violation.guarantee} ({f.violation.rfc}): {f.violation.what}",
                      f"  smallest scenario: {f.scenario.describe(f.targets)}", f.story]
        lines += [f"written: {p}" for p in self.written]
        return "\n".join(lines)


class Explore:
    """The `mail_explore` fixture's value: call it to search within a budget (seconds)."""

    def __init__(self, world: MailTopology, variant: Variant = "default", targets: Targets | None = None) -> None:
        self.world, self.variant, self.targets = world, variant, targets or Targets()

    def __call__(self, budget: float = 30.0, *, seed: int = 0, database: str = "", out: str | Path | None = None,
                 shrink_time: float = 0.0) -> Report:
        config = Config((self.variant,), budget, seed, database, shrink_time=shrink_time)
        found, stats = search(config, worlds={self.variant: self.world}, targets=self.targets)
        real = [f for f in found if f.reproduced == 2]
        report = Report(real, stats, [f for f in found if f.reproduced != 2])
        if out is not None:
            report.written = write(real, out, seed)
        return report
