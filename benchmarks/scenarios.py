"""Median time per scenario of suites/ on a warm topology, and the suite's wall time.

    python benchmarks/scenarios.py [--rounds 3] [-k EXPR] [--budget SECONDS]

Runs the suites `rounds` times, each in a fresh pytest process, and prints `name: value` lines. Per-scenario
times are setup + call + teardown: the reset before the scenario and the undo of its faults are included; so is,
for the first scenario of a run, the topology's start (the median over rounds is still a warm figure for all
others). Neither the start of the topologies nor their removal at the end of the session is: an item this script
adds before the first scenario starts every topology the selected scenarios use (`suite_topology_start_median_s`),
instead of the first scenario of each topology; another after the last scenario takes the removal
(`suite_session_end_median_s`), instead of the last scenario's teardown.

A scenario that failed in a round is left out of that round's figures (its time says nothing) and named on
stderr; the figures are still printed, `scenario_failures` counts the failures, and the exit status is 1.
With `--budget`, `scenarios_over_budget` counts the scenarios whose median is above it (named on stderr).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SESSION_END = "mailharness_session_end"
SESSION_START = "mailharness_session_start"
# the session-scoped fixtures of harness.plugin that start a topology
TOPOLOGIES = ("_mailharness_world", "_mailharness_mock_world", "_mailharness_target")
_NEEDED = pytest.StashKey[list[str]]()


def _start_topologies(request: pytest.FixtureRequest) -> None:
    for name in request.config.stash[_NEEDED]:
        request.getfixturevalue(name)


class SessionEnd(pytest.Item):
    """Runs last and does nothing: the session-scoped fixtures (the topologies) are torn down in its teardown."""

    def runtest(self) -> None:
        pass

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, SESSION_END


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """This module is also the pytest plugin of the runs it starts (`-p benchmarks.scenarios`)."""
    if items:
        closures = [set(getattr(item, "fixturenames", ())) for item in items]
        config.stash[_NEEDED] = [t for t in TOPOLOGIES if any(t in c for c in closures)]
        start = pytest.Function.from_parent(items[0].parent, name=SESSION_START, callobj=_start_topologies)
        items.insert(0, start)
        items.append(SessionEnd.from_parent(session, name=SESSION_END))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("-k", default="")
    ap.add_argument("--budget", type=float, default=None, help="seconds: count the scenarios whose median is above")
    a = ap.parse_args()
    times: dict[str, list[float]] = defaultdict(list)
    session_ends: list[float] = []
    session_starts: list[float] = []
    walls: list[float] = []
    failures: list[str] = []
    for i in range(a.rounds):
        with tempfile.TemporaryDirectory() as tmp:
            xml = Path(tmp) / "junit.xml"
            cmd = [sys.executable, "-m", "pytest", str(ROOT / "suites"), "-q", "-p", "no:cacheprovider",
                   "-p", "benchmarks.scenarios", f"--junitxml={xml}", "-o", "junit_duration_report=total"]
            if a.k:
                cmd += ["-k", a.k]
            t0 = time.monotonic()
            r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
            walls.append(time.monotonic() - t0)
            if not xml.exists():
                print(r.stdout[-3000:], r.stderr[-3000:], file=sys.stderr)
                raise SystemExit(f"suite run failed (exit {r.returncode}) and wrote no report")
            for case in ET.parse(xml).getroot().iter("testcase"):
                name = case.get("name", "?")
                if name == SESSION_END:
                    session_ends.append(float(case.get("time", "0")))
                    continue
                if name == SESSION_START:
                    session_starts.append(float(case.get("time", "0")))
                    continue
                if case.find("failure") is not None or case.find("error") is not None:
                    failures.append(f"round {i + 1}: {name}")
                    continue
                times[name].append(float(case.get("time", "0")))
    medians = {name: statistics.median(v) for name, v in times.items()}
    for name in sorted(medians):
        print(f"scenario_{name}_median_s: {medians[name]:.3f}")
    print(f"scenarios: {len(medians)}")
    if medians:
        print(f"scenario_overall_median_s: {statistics.median(medians.values()):.3f}")
    print(f"suite_wall_median_s: {statistics.median(walls):.1f}")
    print(f"suite_wall_first_s: {walls[0]:.1f}")
    if session_starts:
        print(f"suite_topology_start_median_s: {statistics.median(session_starts):.3f}")
    if session_ends:
        print(f"suite_session_end_median_s: {statistics.median(session_ends):.3f}")
    print(f"scenario_failures: {len(failures)}")
    if a.budget is not None:
        over = sorted(n for n, m in medians.items() if m > a.budget)
        print(f"scenarios_over_budget: {len(over)}")
        for n in over:
            print(f"over the {a.budget:g} s budget: {n} ({medians[n]:.3f} s)", file=sys.stderr)
    for f in failures:
        print(f"failed (left out of the figures): {f}", file=sys.stderr)
    if failures:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
