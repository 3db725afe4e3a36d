"""What StripStartTLS and the queues' emptying at reset cost: applying and removing the man in the middle (its
routes taken and acknowledged, the DNS answer changed), a message relayed through it against one relayed straight to
the server (store -> library, `may`, delivered in library's mailbox), and a reset after a fault (the MTA queues
emptied before the faults go) against a reset after none.

    python benchmarks/strip_starttls.py [--runs N]

Prints one `name: value` line per figure (seconds, medians).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from harness import MailTopology, QueueLifetime, StripStartTLS, TlsPolicy, default_topology
from harness.mta.base import MtaNode
from harness.nodes.base import in_parallel


def _timed(fn: Callable[[], object]) -> float:
    t0 = time.monotonic()
    fn()
    return time.monotonic() - t0


def _relay(world: MailTopology) -> float:
    """Seconds from the submission to store until the message is in Jill's mailbox at library."""
    t0 = time.monotonic()
    world.send("jack@store.example", "jill@library.example")
    world.mailbox("jill@library.example").wait_for(timeout=30)
    return time.monotonic() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    apply_s, undo_s, straight, through, reset_plain, reset_after, drop = [], [], [], [], [], [], []
    with MailTopology(default_topology()) as world:
        for _ in range(a.runs):
            world.reset()
            world.apply(TlsPolicy("store", "may"))
            straight.append(_relay(world))
            t0 = time.monotonic()
            undo = world.apply(StripStartTLS("library"))
            apply_s.append(time.monotonic() - t0)
            through.append(_relay(world))
            undo_s.append(_timed(undo))
            world.reset()
            reset_plain.append(_timed(world.reset))  # no fault applied: the queues are not emptied first
            drop.append(_timed(lambda: in_parallel([n.drop_queue for n in world.nodes.values()
                                                    if isinstance(n, MtaNode)])))
            world.apply(QueueLifetime("library"))
            reset_after.append(_timed(world.reset))
    print(f"strip_apply_s: {statistics.median(apply_s):.3f}")
    print(f"strip_undo_s: {statistics.median(undo_s):.3f}")
    print(f"relay_straight_s: {statistics.median(straight):.3f}")
    print(f"relay_through_mitm_s: {statistics.median(through):.3f}")
    print(f"reset_without_faults_s: {statistics.median(reset_plain):.3f}")
    print(f"reset_after_a_fault_s: {statistics.median(reset_after):.3f}")
    print(f"drop_queues_s: {statistics.median(drop):.3f}")


if __name__ == "__main__":
    main()
