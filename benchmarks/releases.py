"""The main job (`mailharness run`, the bundled scenarios and requirements) on each Postfix release, and on all of
them one after the other: the wall time a user waits, images built.

    python benchmarks/releases.py [--rounds 3] [--mta postfix@3.10 exim@4.98]

Each round runs `mailharness run --mta postfix@VERSION` once per release (or once per `--mta KIND@VERSION` given:
`--mta postfix@3.10 exim@4.98` is the main job over the matrix of issue 20) (the order turned each round, so that
neither release always runs first on a machine that drifts), in a fresh process, and prints `name: value` lines:
per release the median and every round's value, and the median over rounds of the sum of all releases. A run
that fails is named on stderr and makes the exit status 1; its time is still printed (it says how long the user
waited), marked as failed.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--mta", nargs="+", default=[], metavar="KIND@VERSION",
                   help="the runs to time (default: every Postfix release)")
    args = p.parse_args()
    sys.path.insert(0, str(ROOT))
    from harness.mta.versions import default_version, releases

    versions = list(args.mta) or [f"postfix@{v}" for v in releases("postfix")]
    times: dict[str, list[float]] = {v: [] for v in versions}
    totals: list[float] = []
    failed = 0
    for r in range(args.rounds):
        order = versions if r % 2 == 0 else versions[::-1]
        total = 0.0
        for v in order:
            t0 = time.monotonic()
            done = subprocess.run([sys.executable, "-m", "harness.cli", "run", "--mta", v,
                                   "-p", "no:cacheprovider", "-q"], cwd=ROOT, capture_output=True, text=True)
            took = time.monotonic() - t0
            if done.returncode != 0:
                failed += 1
                print(f"round {r + 1}, {v}: mailharness run exited {done.returncode}:\n"
                      f"{done.stdout[-2000:]}{done.stderr[-2000:]}", file=sys.stderr)
            times[v].append(took)
            total += took
            print(f"round {r + 1}, {v}: {took:.1f} s", file=sys.stderr, flush=True)
        totals.append(total)
    default = default_version("postfix")
    for v in versions:
        tag = v.replace(".", "_").replace("@", "_")
        print(f"main_job_{tag}_median_s: {statistics.median(times[v]):.1f}")
        print(f"main_job_{tag}_runs_s: {' '.join(f'{t:.1f}' for t in times[v])}")
    print(f"main_job_default_release: postfix@{default}")
    print(f"main_job_{'all_releases' if not args.mta else 'these_runs'}_median_s: {statistics.median(totals):.1f}")
    print(f"main_job_failed_runs: {failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
