"""Starting, stopping, keeping and sweeping topologies: nothing is left behind."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from harness import MailTopology, NodeSpec, TopologySpec
from harness.engine import labels
from harness.engine.docker import client

SMALL = TopologySpec(name="small", nodes=(NodeSpec("solo", "solo.example", users=("ann",)),))


def _resources(topology_id: str) -> tuple[int, int]:
    f: dict[str, str | list[str] | bool] = {"label": [f"{labels.TOPOLOGY}={topology_id}"]}
    return len(client().containers.list(all=True, filters=f)), len(client().networks.list(filters=f))


def test_a_custom_topology_starts_delivers_and_is_removed() -> None:
    with MailTopology(SMALL) as t:
        assert _resources(t.id) == (2, 1)  # the node and its DNS
        t.send("ann@solo.example", "ann@solo.example")
        assert t.mailbox("ann@solo.example").wait_for()["To"] == "ann@solo.example"
    assert _resources(t.id) == (0, 0)


def test_a_started_topology_is_not_started_twice() -> None:
    with MailTopology(SMALL).start() as t:  # the context manager does not start it again
        assert _resources(t.id) == (2, 1)
        with pytest.raises(RuntimeError, match="running already"):
            t.start()
        assert _resources(t.id) == (2, 1)
    assert _resources(t.id) == (0, 0)


def test_two_topologies_at_once_do_not_collide() -> None:
    with MailTopology(SMALL) as a, MailTopology(SMALL) as b:
        assert a.subnet != b.subnet and a.network_name != b.network_name
        a.send("ann@solo.example", "ann@solo.example")
        a.mailbox("ann@solo.example").wait_for()
        assert b.mailbox("ann@solo.example").messages() == []


def test_a_killed_session_is_swept_at_the_next_start() -> None:
    script = textwrap.dedent("""
        import os
        from harness import MailTopology, NodeSpec, TopologySpec
        t = MailTopology(TopologySpec(name="orphan", nodes=(NodeSpec("solo", "solo.example"),))).start()
        print(t.id, flush=True)
        os._exit(9)  # no cleanup at all, as after kill -9
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    orphan = out.stdout.strip().splitlines()[-1]
    assert _resources(orphan) == (2, 1), out.stderr
    swept = labels.sweep_orphans()
    assert swept[0] >= 2 and swept[1] >= 1
    assert _resources(orphan) == (0, 0)


def test_a_kept_topology_survives_the_sweep_until_down() -> None:
    t = MailTopology(SMALL).start()
    t.keep()
    try:
        assert t.id in labels.kept()
        # A kept topology's owner is gone by design; the sweep must leave it alone.
        labels.sweep_orphans()
        assert _resources(t.id) == (2, 1)
    finally:
        labels.remove({"label": [f"{labels.TOPOLOGY}={t.id}"]})
        labels.unmark_kept(t.id)
    assert _resources(t.id) == (0, 0) and t.id not in labels.kept()


def test_images_prune_keeps_the_current_images() -> None:
    from harness.engine import images

    images.remove(current=False, stale=True)
    assert images.missing() == [], "the current images stay"
