"""Under `--dist loadgroup` (what `mailharness run` uses), pytest-xdist's scheduler with one change: a worker
does not start a second topology for the last few tests.

The tests on the topology with a mock next hop form one xdist group (harness.plugin: "@mailharness-mock"), which
one worker runs; the other tests each go to whichever worker asks first. xdist's own scheduler hands the worker
that ran the group the next test as soon as it is done with it, and when that test runs on the default topology,
the worker starts that topology for it: about 3 s (four containers, their MTAs) and the CPU of a few tests, while
the other workers, whose topologies are running, would have run it in about half a second. In the bundled suite
that one test came near the end (a timeline of each worker's tests on the 2-core reference: the mock worker ended
2.2 s after the others, 2.4 s of it starting the default topology); without it, the main job's median over eight
runs, alternated with the code before, fell from 18.45 to 17.75 s.

So a worker that has started a topology takes a test of another kind (the mock group, or the rest) only while there
is enough of that kind left for the start to pay: more than `_WORTH_A_START` tests per worker already running that
kind. Otherwise it waits, and ends with the others. A worker that is the only one left takes whatever remains. A
worker's first test is the queue's first, as in xdist (so a run without the mock group, such as another project's
under this plugin, is scheduled exactly as xdist does). Everything else (the queue's order, two tests queued ahead
per worker, a crashed worker's tests given to the others) is xdist's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from xdist.scheduler import LoadGroupScheduling

from .reporting import MOCK_GROUP

if TYPE_CHECKING:
    from xdist.workermanage import WorkerController

# Tests of one kind per worker already running it that still justify a topology start on another worker: a start
# costs about 3 s of wall time, a scenario about 0.5 s (the bundled suite on the 2-core reference machine).
_WORTH_A_START = 5


def kind_of(scope: str) -> str:
    """The topology a work unit needs: "mock" for the mock group, "default" for any other test."""
    return "mock" if scope == MOCK_GROUP else "default"


class TopologyScheduling(LoadGroupScheduling):
    """xdist's loadgroup scheduling that keeps each worker on the topologies it has started (module docstring)."""

    def __init__(self, config: pytest.Config, log: Any = None) -> None:
        super().__init__(config, log)
        self.kinds: dict[WorkerController, set[str]] = {}
        """The kinds of test each worker was given, so the topologies it has started."""

    def _assign_work_unit(self, node: WorkerController) -> None:
        # (xdist calls it with a non-empty queue: at the start, and when the node has two tests or fewer left)
        scope = self.choose(node)
        if scope is None:
            return  # it waits: the others end the queue (tests_finished then shuts every worker down)
        self.workqueue.move_to_end(scope, last=False)
        self.kinds.setdefault(node, set()).add(kind_of(scope))
        super()._assign_work_unit(node)

    def choose(self, node: WorkerController) -> str | None:
        """For a worker that has run nothing yet, the first unit in the queue. Else the first unit of a kind it
        has run; else the first unit, when enough of its kind is left (or no other worker can take it); else
        None."""
        mine = self.kinds.get(node, set())
        first = next(iter(self.workqueue))
        if not mine:
            return first  # its first topology: xdist's order (a run without the mock group is all xdist's)
        for scope in self.workqueue:
            if kind_of(scope) in mine:
                return scope
        kind = kind_of(first)
        running = [n for n in self.assigned_work if n is not node and not n.shutting_down
                   and kind in self.kinds.get(n, set())]
        left = sum(len(unit) for scope, unit in self.workqueue.items() if kind_of(scope) == kind)
        if not running or left > _WORTH_A_START * len(running):
            return first
        return None


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> TopologyScheduling | None:
    """The scheduler of `--dist loadgroup`, keeping workers on their topologies; None (xdist's own) otherwise."""
    if config.getvalue("dist") != "loadgroup":
        return None
    return TopologyScheduling(config, log)
