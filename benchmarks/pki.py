"""What the topology's own CA costs (harness.pki): making it and every node's certificates in a one-off container
of the mock-smtp image, alone (it runs beside the network's creation when a topology starts), and a whole
topology's start with it.

    python benchmarks/pki.py [--runs N]

Prints one `name: value` line per figure (seconds, medians).
"""

from __future__ import annotations

import argparse
import statistics
import time

from harness import MailTopology, default_topology, pki
from harness.engine import images


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    tag = images.ensure(("mock-smtp",))["mock-smtp"]
    hosts = {n.name: n.hostname for n in default_topology().nodes}
    made = []
    for _ in range(a.runs):
        t0 = time.monotonic()
        pki.make(hosts, tag, "bench-pki")
        made.append(time.monotonic() - t0)
    starts = []
    for _ in range(a.runs):
        with MailTopology(default_topology()) as world:
            starts.append(world.timings.total)
    print(f"pki_make_s: {statistics.median(made):.3f}")
    print(f"pki_nodes: {len(hosts)}")
    print(f"topology_start_s: {statistics.median(starts):.3f}")


if __name__ == "__main__":
    main()
