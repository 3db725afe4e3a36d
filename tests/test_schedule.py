"""harness.plugin.schedule: xdist's loadgroup scheduler that keeps a worker on the topologies it has started.

The scheduler is driven as DSession drives it (add_node, add_node_collection, schedule, mark_test_complete), with
workers that record what they are sent, as pytest-xdist's own scheduler tests do."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from harness.plugin.reporting import MOCK_GROUP
from harness.plugin.schedule import _WORTH_A_START, TopologyScheduling

pytest_plugins = ["pytester"]


class Worker:
    """What the scheduler uses of xdist's WorkerController."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.gateway = SimpleNamespace(id=name)
        self.sent: list[int] = []
        self.shutting_down = False

    def send_runtest_some(self, indices: list[int]) -> None:
        self.sent += indices

    def shutdown(self) -> None:
        self.shutting_down = True

    def __repr__(self) -> str:
        return self.name


def collection(mock: int, default: int) -> list[str]:
    return [f"suites/test_m.py::test_{i}@{MOCK_GROUP}" for i in range(mock)] + \
        [f"suites/test_d.py::test_{i}" for i in range(default)]


def scheduler(pytester: pytest.Pytester, items: list[str], workers: list[Worker]) -> TopologyScheduling:
    config = pytester.parseconfig(f"--tx={len(workers)}*popen", "--dist", "loadgroup")
    sched = TopologyScheduling(config)
    for w in workers:
        sched.add_node(w)
    for w in workers:
        sched.add_node_collection(w, items)
    sched.schedule()
    return sched


def run_next(sched: TopologyScheduling, worker: Worker, done: dict[Worker, int]) -> str:
    """The worker finishes the next test it was sent; its node id."""
    index = worker.sent[done[worker]]
    done[worker] += 1
    sched.mark_test_complete(worker, index)
    return sched.collection[index] if sched.collection else ""


def test_the_mock_worker_does_not_start_the_default_topology_for_the_last_tests(pytester: pytest.Pytester) -> None:
    a, b, c = Worker("a"), Worker("b"), Worker("c")
    items = collection(mock=4, default=20)
    sched = scheduler(pytester, items, [a, b, c])
    mock_worker = next(w for w in (a, b, c) if any(items[i].endswith(MOCK_GROUP) for i in w.sent))
    others = [w for w in (a, b, c) if w is not mock_worker]
    done = dict.fromkeys((a, b, c), 0)
    for _ in range(4):  # the others work through the default tests while the mock worker runs its group
        for w in others:
            run_next(sched, w, done)
    left = sum(len(unit) for unit in sched.workqueue.values())
    assert 0 < left <= _WORTH_A_START * len(others), left
    for _ in range(4):
        run_next(sched, mock_worker, done)
    ran = [items[i] for i in mock_worker.sent]
    assert all(n.endswith(MOCK_GROUP) for n in ran), f"the mock worker was given {ran}"
    while sched.workqueue or any(done[w] < len(w.sent) for w in others):
        for w in others:
            if done[w] < len(w.sent):
                run_next(sched, w, done)
    assert sorted(i for w in (a, b, c) for i in w.sent) == list(range(len(items))), "every test ran once"
    assert sched.tests_finished


def test_the_mock_worker_helps_when_much_is_left(pytester: pytest.Pytester) -> None:
    a, b = Worker("a"), Worker("b")
    items = collection(mock=2, default=40)
    sched = scheduler(pytester, items, [a, b])
    mock_worker = a if items[a.sent[0]].endswith(MOCK_GROUP) else b
    done = dict.fromkeys((a, b), 0)
    run_next(sched, mock_worker, done)
    run_next(sched, mock_worker, done)
    assert len(mock_worker.sent) > 2, "with 38 default tests left for one worker, the mock worker takes some"
    assert not items[mock_worker.sent[2]].endswith(MOCK_GROUP)


def test_a_worker_left_alone_takes_what_remains(pytester: pytest.Pytester) -> None:
    a, b, c = Worker("a"), Worker("b"), Worker("c")
    items = collection(mock=3, default=9)
    sched = scheduler(pytester, items, [a, b, c])
    mock_worker = next(w for w in (a, b, c) if items[w.sent[0]].endswith(MOCK_GROUP))
    done = dict.fromkeys((a, b, c), 0)
    for _ in range(3):
        run_next(sched, mock_worker, done)
    assert len(mock_worker.sent) == 3  # the two others run the default topology, and few tests are left
    for w in (a, b, c):
        if w is not mock_worker:
            w.shutting_down = True
            sched.remove_node(w)  # they crashed: their tests go back to the queue
    assert len(mock_worker.sent) > 3 and not items[mock_worker.sent[3]].endswith(MOCK_GROUP)


def test_the_plugin_gives_xdist_this_scheduler_under_loadgroup_only(pytester: pytest.Pytester) -> None:
    for dist, expected in (("loadgroup", TopologyScheduling), ("load", type(None))):
        config = pytester.parseconfig("--tx=2*popen", "--dist", dist)
        made = config.hook.pytest_xdist_make_scheduler(config=config, log=None)
        assert isinstance(made, expected), (dist, made)


def test_without_the_mock_group_every_worker_gets_work_as_under_xdist(pytester: pytest.Pytester) -> None:
    """Another project's run under this plugin: one kind of test, so no worker ever starts a second topology, and
    each starts with the queue's first test even when few are left."""
    a, b, c = Worker("a"), Worker("b"), Worker("c")
    items = collection(mock=0, default=4)
    scheduler(pytester, items, [a, b, c])
    assert all(w.sent for w in (a, b, c)), [w.sent for w in (a, b, c)]
    assert sorted(i for w in (a, b, c) for i in w.sent) == list(range(4))
