"""`mailharness matrix` (every column: each stock configuration on each MTA release), the wall time a user (or CI)
waits, images built, with so many columns at a time.

    python benchmarks/matrix.py [--jobs 1 2 3 6] [--rounds 1]

Each round runs `mailharness matrix --jobs N` once per N (the order turned each round), in a fresh process, into a
temporary folder, and prints `name: value` lines: per N the median and every round's value. A run that fails is
named on stderr and makes the exit status 1; its time is still printed, marked as failed.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--jobs", type=int, nargs="+", default=[3])
    p.add_argument("--rounds", type=int, default=1)
    args = p.parse_args()
    times: dict[int, list[float]] = {j: [] for j in args.jobs}
    failed = 0
    for r in range(args.rounds):
        for jobs in args.jobs if r % 2 == 0 else args.jobs[::-1]:
            with tempfile.TemporaryDirectory(prefix="mailharness-matrix-bench-") as tmp:
                t0 = time.monotonic()
                run = subprocess.run([sys.executable, "-m", "harness.cli", "matrix", "--jobs", str(jobs), "--output",
                                      str(Path(tmp) / "matrix.md"), "--reports", str(Path(tmp) / "reports")],
                                     cwd=ROOT, capture_output=True, text=True)
                took = time.monotonic() - t0
            times[jobs].append(took)
            if run.returncode != 0:
                failed += 1
                print(f"round {r + 1}, --jobs {jobs}: exit {run.returncode}\n{run.stdout[-2000:]}{run.stderr[-2000:]}",
                      file=sys.stderr)
            print(f"matrix_jobs_{jobs}_round_{r + 1}_s: {took:.1f}" + (" (failed)" if run.returncode else ""),
                  flush=True)
    for jobs, values in times.items():
        print(f"matrix_jobs_{jobs}_s: {statistics.median(values):.1f}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
