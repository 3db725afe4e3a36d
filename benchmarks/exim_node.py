"""Figures for an Exim node beside a Postfix node: a one-node topology (the node and the topology's DNS) from
nothing to ready, and one message over SMTP from the test process into a local mailbox, per release.

    python benchmarks/exim_node.py [--runs N]

Prints one `name: value` line per figure (medians of N runs): *_start_s the whole start (network, containers,
ready), *_containers_s the containers' start until each logged that its server started, *_ready_s from there
until each answered (its SMTP banner), *_delivery_s from the SMTP submission to the message in the Maildir.
"""

from __future__ import annotations

import argparse
import statistics
import time

from harness import MailTopology, NodeSpec, TopologySpec
from harness.mta.versions import releases


def one(kind: str, version: str) -> tuple[float, float, float, float]:
    spec = TopologySpec(name="bench", nodes=(NodeSpec("n", "n.example", users=("ann",), kind=kind,  # type: ignore[arg-type]
                                                      version=version),))
    with MailTopology(spec) as t:
        timings = t.timings
        t0 = time.monotonic()
        sent = t.send("bob@n.example", "ann@n.example")
        mid = sent.message["Message-ID"]
        box = t.mailbox("ann@n.example")
        deadline = t0 + 30
        while not any(m["Message-ID"] == mid for m in box.messages()):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{kind} {version}: {mid} not delivered within 30 s\n{t.report()}")
            time.sleep(0.01)
        return timings.total, timings.containers, timings.ready, time.monotonic() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    cases = [("exim", v) for v in releases("exim")] + [("postfix", v) for v in releases("postfix")]
    for kind, version in cases:
        runs = [one(kind, version) for _ in range(a.runs)]
        name = f"{kind}_{version.replace('.', '_')}"
        for i, figure in enumerate(("start", "containers", "ready", "delivery")):
            print(f"{name}_{figure}_s: {statistics.median(r[i] for r in runs):.3f}", flush=True)


if __name__ == "__main__":
    main()
