"""The pytest plugin a column's `mailharness check` loads (`-p harness.matrix.collect`): each requirement's verdict,
its reason (N/A, NOT JUDGED) and, when it failed, what the matrix needs to show why, one JSON object a line.

    --mailharness-matrix=PATH   each process writes PATH.<worker>.jsonl (pytest-xdist workers one each, else
                                PATH.main.jsonl); harness.matrix.run reads them all (`read`)

It reads the report of each requirement's call (or of a setup that did not pass) while the topology still runs:
the failure message, the SMTP transcripts and the mail log of the server under test; the topology's subnet and
the queue ids its nodes logged in the test, for harness.matrix.scrub; and the release the server ran, for the
runner's own check that the column ran what it names.
"""

from __future__ import annotations

import json
import os
from collections.abc import Generator, Mapping
from pathlib import Path
from typing import Any

import pytest

from ..report.outcomes import label
from ..sut.conformance import Target, judged

Record = dict[str, Any]
_INDEX = pytest.StashKey[dict[str, int]]()
_LOG_TAIL = 60  # lines of the server's mail log kept with a failure


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("mailharness").addoption(
        "--mailharness-matrix", dest="mailharness_matrix", default=None, metavar="PATH",
        help="(mailharness matrix) write each requirement's verdict, reason and evidence to PATH.<worker>.jsonl")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    config.stash[_INDEX] = {item.nodeid: i for i, item in enumerate(items)}


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                              ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    rep = yield
    out = item.config.getoption("mailharness_matrix", None)
    marker = item.get_closest_marker("requirement")
    counts = rep.when == "call" or (rep.when == "setup" and rep.outcome != "passed")
    if out and marker is not None and counts:
        record = requirement_record(item, rep, marker.kwargs)
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        path = Path(f"{out}.{worker}.jsonl")
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, sort_keys=True) + "\n")
    return rep


def requirement_record(item: pytest.Item, rep: pytest.TestReport, marker: Mapping[str, Any]) -> Record:
    """One requirement's outcome in one column, as JSON-ready data."""
    outcome, why = judged(rep.outcome, rep.longrepr, getattr(rep, "wasxfail", None))
    if rep.failed and rep.when != "call":  # the harness could not set the test up: not the server's failure
        outcome = "error"
    obj = getattr(item, "obj", None)
    doc = " ".join((getattr(obj, "__doc__", None) or "").split())
    funcargs = getattr(item, "funcargs", {})
    target = funcargs.get("mta") if isinstance(funcargs, dict) else None
    record: Record = {
        "nodeid": item.nodeid,
        "index": item.config.stash.get(_INDEX, {}).get(item.nodeid, 0),
        "name": getattr(item, "originalname", item.name).removeprefix("test_"),
        "ref": str(marker.get("ref", "")),
        "doc": doc,
        "verdict": label(outcome),
        "reason": why,
        "subnets": [],
        "release": "",
        "nodes": "",
        "queue_ids": [],
    }
    if isinstance(target, Target):
        world = target.world
        record["subnets"] = [world.subnet] if world.subnet else []
        record["release"] = world.mta(target.node).release
        record["nodes"] = world.releases()
        # an id has a digit (a word an MTA logs in the id's place for mail it never queued has none)
        record["queue_ids"] = sorted({e.queue_id for e in world.events.since(world.mark)
                                      if e.queue_id and any(ch.isdigit() for ch in e.queue_id)})
    if rep.failed:
        crash = getattr(rep.longrepr, "reprcrash", None)
        record["message"] = str(crash.message) if crash is not None else str(rep.longreprtext)[-6000:]
        if isinstance(target, Target):
            record["transcripts"] = "\n\n".join(t.render() for t in target.world.transcripts)
            record["log"] = server_log(target.world.report(), target.node)
    return record


def server_log(report: str, node: str) -> str:
    """The mail log lines of `node` in a topology's report (MailTopology.report: a "--- NODE (...)" line, then its
    lines), the last _LOG_TAIL of them."""
    lines: list[str] = []
    mine = False
    for line in report.splitlines():
        if line.startswith("--- "):
            mine = line.startswith(f"--- {node} ")
            continue
        if mine:
            lines.append(line)
    return "\n".join(lines[-_LOG_TAIL:])


def read(out: str | Path) -> list[Record]:
    """Every record the processes of one run wrote for `out` (--mailharness-matrix), in the order the requirements
    were collected."""
    base = Path(out)
    records = []
    for part in sorted(base.parent.glob(base.name + ".*.jsonl")):
        records += [json.loads(line) for line in part.read_text(encoding="utf-8").splitlines() if line.strip()]
    return sorted(records, key=lambda r: (int(r.get("index", 0)), str(r.get("nodeid", ""))))
