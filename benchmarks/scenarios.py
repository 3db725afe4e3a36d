"""Median time per scenario of suites/ on a warm topology, and the suite's wall time.

    python benchmarks/scenarios.py [--rounds 3] [-k EXPR]

Runs the suites `rounds` times, each in a fresh pytest process, and prints `name: value` lines. Per-scenario
times are setup + call + teardown: the reset before the scenario is included; so is, for the first scenario of
a run, the topology's start (the median over rounds is still a warm figure for all others).
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

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("-k", default="")
    a = ap.parse_args()
    times: dict[str, list[float]] = defaultdict(list)
    walls: list[float] = []
    for _ in range(a.rounds):
        with tempfile.TemporaryDirectory() as tmp:
            xml = Path(tmp) / "junit.xml"
            cmd = [sys.executable, "-m", "pytest", str(ROOT / "suites"), "-q", "-p", "no:cacheprovider",
                   f"--junitxml={xml}", "-o", "junit_duration_report=total"]
            if a.k:
                cmd += ["-k", a.k]
            t0 = time.monotonic()
            r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
            walls.append(time.monotonic() - t0)
            if r.returncode != 0:
                print(r.stdout[-3000:], file=sys.stderr)
                raise SystemExit(f"suite run failed (exit {r.returncode})")
            for case in ET.parse(xml).getroot().iter("testcase"):
                times[case.get("name", "?")].append(float(case.get("time", "0")))
    for name in sorted(times):
        print(f"scenario_{name}_median_s: {statistics.median(times[name]):.3f}")
    print(f"scenarios: {len(times)}")
    print(f"scenario_overall_median_s: {statistics.median(statistics.median(v) for v in times.values()):.3f}")
    print(f"suite_wall_median_s: {statistics.median(walls):.1f}")
    print(f"suite_wall_first_s: {walls[0]:.1f}")


if __name__ == "__main__":
    main()
