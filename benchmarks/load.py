"""Figures of the load run: N messages from C concurrent clients through the default topology (or your
configuration in library's place), every recipient accounted for, and smtp-source's throughput for reference.

    python benchmarks/load.py [--messages 2000] [--clients 20] [--mta-config DIR] [--no-reference]
                              [--reference-rounds 1]

The run's progress, summary and accounting table go to stderr (as `mailharness load` prints them); stdout gets one
`name: value` line per figure: messages, clients, accepted, accepted_per_s, smtp_source_per_s, ratio (ours /
smtp-source's accepted messages per second), same_workload_per_s and same_workload_ratio (our client on
smtp-source's own workload: the goal's figure), reference_rounds and same_workload_ratio_min (the worst round's),
harness_cpu_ms_per_msg, latency_p50_s and latency_p99_s (acceptance to the recipient's final
log event), recipients, unaccounted, duplicates, misdirected, unexpected, still_queued, log_lines_lost,
mailbox_mismatches, stranded_after_reload, refused_after_heal and refused_after_heal_s (the healed tempfail's
deferrals logged after the heal, and seconds from the heal to the last of them), drain_s, wall_s. Exit status 1
when the run is not clean.
"""

from __future__ import annotations

import argparse
import sys
import time

from harness import MailTopology
from harness.loadgen.command import LoadOptions, load_world, run_load


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--mta-config", default=None, metavar="DIR")
    ap.add_argument("--no-reference", dest="reference", action="store_false")
    ap.add_argument("--reference-rounds", type=int, default=1)
    ap.add_argument("--drain-timeout", type=float, default=180.0)
    a = ap.parse_args()

    def err(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    t0 = time.monotonic()
    spec, mix = load_world(a.mta_config)
    with MailTopology(spec) as world:
        result = run_load(world, mix, LoadOptions(messages=a.messages, clients=a.clients, reference=a.reference,
                                                  reference_rounds=a.reference_rounds,
                                                  drain_timeout=a.drain_timeout), out=err)
    for name, value in result.figures().items():
        print(f"{name}: {'-' if value is None else value}")
    print(f"wall_s: {time.monotonic() - t0:.1f}")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
