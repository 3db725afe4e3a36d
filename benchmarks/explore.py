"""Figures for `mailharness explore`: scenarios per second on a warm topology (1 worker, and N workers), time to
the first violation on each broken configuration (with the canonical cases first, and hypothesis alone), the size
of the shrunk scenario, and the violations found on the default topology.

    python benchmarks/explore.py [--budget SECONDS] [--workers N] [--default-budget SECONDS] [--seed N]

Prints one `name: value` line per figure, then each violation found on the default topology. Say the machine's
load when quoting them (`uptime` is printed first).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from harness.explore import Config, search
from harness.explore.command import explore

ROOT = Path(__file__).resolve().parents[1]
BROKEN = {
    "backscatter": ROOT / "examples" / "postfix-backscatter",
    "soft_bounce": ROOT / "tests" / "e2e" / "mistakes" / "soft-bounce",
    "notice_copy": ROOT / "tests" / "e2e" / "mistakes" / "notice-copy",
}


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--budget", type=float, default=60.0, help="seconds per rate measurement and per broken search")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--default-budget", type=float, default=180.0, help="seconds of search on the default topology")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} "
          f"(cores {os.cpu_count()})", flush=True)

    found, stats = search(Config(("default",), budget=args.budget, seed=args.seed))
    print(f"scenarios_per_second_warm_1_worker: {stats.tried / stats.seconds:.2f} ({stats.tried} in "
          f"{stats.seconds:.1f}s, {len(found)} violation(s) seen)", flush=True)
    for f in found:
        print(f"  seen: {f.violation.guarantee}: {f.violation.what} [{f.reproduced}/2]\n"
              f"    smallest: {f.scenario.describe(f.targets)}", flush=True)
    _, stats, errors = explore(Config(("default",), budget=args.budget, seed=args.seed), workers=args.workers,
                               every=3600.0)
    print(f"scenarios_per_second_warm_{args.workers}_workers: {stats.tried / args.budget:.2f} ({stats.tried} in "
          f"{args.budget:.0f}s{', errors: ' + '; '.join(errors) if errors else ''})", flush=True)

    for name, directory in BROKEN.items():
        for first, label in ((True, "canonical_first"), (False, "hypothesis_alone")):
            t0 = time.monotonic()
            found, stats = search(Config(("config",), budget=args.budget, seed=args.seed,
                                         mta_config=f"library={directory}", stop_after=1, canonical=first,
                                         shrink_time=60))
            real = [f for f in found if f.reproduced == 2]
            if not real:
                print(f"time_to_first_violation_{name}_{label}: none within {args.budget:.0f}s "
                      f"({stats.tried} scenarios)", flush=True)
                continue
            f = real[0]
            faults = len(f.scenario.all_faults(f.targets)) + len(f.scenario.mock)
            print(f"time_to_first_violation_{name}_{label}: {f.found_after:.1f}s ({f.tried} scenarios; "
                  f"{f.violation.guarantee}: {f.violation.key})", flush=True)
            print(f"shrunk_size_{name}_{label}: {faults} faults, {len(f.scenario.unique_recipients(f.targets))} "
                  f"recipients; {f.scenario.describe(f.targets)} (whole run {time.monotonic() - t0:.1f}s)",
                  flush=True)

    found, stats, errors = explore(Config(("default", "mock"), budget=args.default_budget, seed=args.seed),
                                   workers=args.workers, every=3600.0)
    real = [f for f in found if f.reproduced == 2]
    print(f"violations_default_topology: {len(real)} ({stats.tried} scenarios in {args.default_budget:.0f}s, "
          f"{len(found) - len(real)} not reproduced{', errors: ' + '; '.join(errors) if errors else ''})")
    for f in real:
        print(f"  {f.violation.guarantee}: {f.violation.what}\n    smallest: {f.scenario.describe(f.targets)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
