"""Wall time of `mailharness check` (the conformance suite against a configuration), cold and warm, and whether
any node's log mentions a time-out.

    python benchmarks/check.py [--cold] [--runs N] [EXAMPLE...]

warm: the images exist; each run still starts its own topology (a new process). Each example is run N times
(median printed) with its topology kept, so that every node's log can be searched for time-outs, then removed.
--cold: first removes the harness's images (and base), so the first run builds them (offline here).
Also prints each example's verdict counts, to show the difference the configuration makes.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

from harness.engine import images
from harness.engine.docker import client

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ("postfix-good", "postfix-backscatter", "postfix-gateway", "postfix-debian", "postfix-inbound-gateway",
            "postfix-distribution")
TIMEOUT = re.compile(r"timed? ?out|timeout", re.I)


class CheckRun(NamedTuple):
    seconds: float
    verdicts: str  # the summary's counts line
    timeouts: int  # log lines that mention a time-out
    searched: int  # log lines searched
    stdout: str


def check(directory: str, *extra: str) -> CheckRun:
    """One `mailharness check` of `directory`; `extra`: more of its options (--mta-table ...)."""
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "harness.cli", "check", directory, "--mailharness-html",
                        "/tmp/mailharness-bench-report.html", "--mailharness-keep=always", *extra],
                       capture_output=True, text=True, cwd=ROOT)
    took = time.monotonic() - t0
    m = re.findall(r"^(\d+ passed, \d+ failed.*)$", r.stdout, flags=re.M)
    kept = re.findall(r"^\s+(\S+)\s+\(list: `mailharness up --list`", r.stdout, flags=re.M)
    timeouts = searched = 0
    for tid in kept:
        for c in client().containers.list(all=True, filters={"label": f"io.mailharness.topology={tid}"}):
            lines = c.logs().decode("utf-8", "replace").splitlines()
            searched += len(lines)
            timeouts += sum(1 for line in lines if TIMEOUT.search(line))
        subprocess.run([sys.executable, "-m", "harness.cli", "down", tid], capture_output=True, cwd=ROOT)
    return CheckRun(took, (m[-1] if m else f"exit {r.returncode}"), timeouts, searched, r.stdout)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cold", action="store_true")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("examples", nargs="*", default=list(EXAMPLES), help="which examples (default: all)")
    a = ap.parse_args()
    if a.cold:
        images.remove(current=True)
        took, verdict, _, _, _ = check("examples/postfix-good")
        print(f"check_cold_with_image_build_s: {took:.1f}  ({verdict})")
    for name in a.examples:
        runs = [check(f"examples/{name}") for _ in range(a.runs)]
        key = name.replace("-", "_")
        print(f"check_warm_{key}_median_s: {sorted(r[0] for r in runs)[len(runs) // 2]:.1f}  ({runs[-1][1]})")
        print(f"check_warm_{key}_timeout_log_lines: {sum(r[2] for r in runs)} (of {sum(r[3] for r in runs)} "
              "searched)")


if __name__ == "__main__":
    main()
