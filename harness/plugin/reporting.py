"""The plugin objects that report on a session, registered by harness.plugin as pytest's junitxml registers its
`LogXML`: the tests' order (`_Order`), the access paths taken (`_Access`), the summary table (`_Summary`,
--mailharness-summary) and the HTML report and records (`_Report`, --mailharness-html/--mailharness-records).
They read the test reports (not the items), so that the controller of a pytest-xdist run sees every worker's
tests; `_Report` also reads the topologies a test used from `item.stash[_USED]` while they still run, and what a
test leaves for them: its stories (`stories_of`) and the DSNs it saw, kept (`KEPT`, by harness.plugin.keepdsns,
--mailharness-keep-dsns).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from ..report.dsnfiles import Kept
from ..report.records import Record
from ..sut.conformance import judged
from ..verdict import Story
from ..world import MailTopology

log = logging.getLogger("mailharness")

_USED = pytest.StashKey[list[MailTopology]]()  # per test: the topologies it used (harness.plugin's fixtures)
# The pytest-xdist group of the tests on the topology with a mock next hop (harness.plugin): under --dist loadgroup
# it ends their node ids ("...::test_x@mailharness-mock").
MOCK_GROUP = "mailharness-mock"


def plain_nodeid(nodeid: str) -> str:
    """A test's node id without the xdist group's end: the summary and the report name a test the same way in one
    process and under pytest-xdist."""
    return nodeid.removesuffix(f"@{MOCK_GROUP}")


_STORIES = pytest.StashKey[list[Story]]()  # per test: its messages' stories, gathered once at its end
KEPT = pytest.StashKey[Kept | None]()  # per test: the DSNs it saw, kept (harness.plugin.keepdsns)


def stories_of(item: pytest.Item) -> list[Story]:
    """The stories of every message the test sent, on every topology it used: the verdicts it gathered, and for
    the messages it asked none about, theirs gathered now without waiting. Gathered once per test (the report and
    --mailharness-keep-dsns read the same), while its topologies still run."""
    if _STORIES not in item.stash:
        from ..verdict import gather

        stories: list[Story] = []
        for topo in item.stash.get(_USED, []):
            stories += topo.stories
            told = {id(s.sent) for s in topo.stories}
            stories += [gather(topo, s, timeout=0) for s in topo.sent if id(s) not in told]
        item.stash[_STORIES] = stories
    return item.stash[_STORIES]


def link_kept_dsns(record: Record, item: pytest.Item) -> None:
    """Give each DSN of the test's report record the file it was kept in (`file`, an absolute path), when
    --mailharness-keep-dsns kept them (harness.plugin.keepdsns, before the report's hook reads them)."""
    kept = item.stash.get(KEPT, None)
    if kept is None:
        return
    for m in record.get("messages", []):
        for d in m.get("dsns", []):
            path = kept.by_message_id.get(str(d.get("message_id", "")))
            if path is not None:
                d["file"] = str(path)


def _counts(report: pytest.TestReport) -> bool:
    """The one report that stands for a test in the summary and the records: its call, or a setup that did not
    pass (an error, or a skip)."""
    return report.when == "call" or (report.when == "setup" and report.outcome != "passed")


class _Order:
    """The tests in the order they were collected, so that the summary and the report list them the same way in
    one process and under pytest-xdist (where they finish in any order): from the session's items, or on the
    controller of an xdist run from the first worker's collection."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if session.items and not self.index:
            self.index = {plain_nodeid(item.nodeid): i for i, item in enumerate(session.items)}

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: object, ids: list[str]) -> None:
        if ids and not self.index:
            self.index = {plain_nodeid(nodeid): i for i, nodeid in enumerate(ids)}

    def key(self, nodeid: str) -> int:
        return self.index.get(plain_nodeid(nodeid), len(self.index))


class _Access:
    """The access paths the tests' topologies were reached on (from the reports, so that the controller of an
    xdist run sees every worker's), said once in the terminal summary."""

    def __init__(self) -> None:
        self.paths: dict[str, int] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for key, value in report.user_properties:
            if key == "mailharness_access":
                self.paths[str(value)] = self.paths.get(str(value), 0) + 1

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        for path, n in self.paths.items():
            terminalreporter.write_line(f"mailharness: access {path}: {n} test(s)")


class _Summary:
    """--mailharness-summary: the table of scenarios, verdicts and times. Collects from the reports (not in
    makereport), so that the controller of an xdist run sees every worker's tests."""

    def __init__(self, order: _Order) -> None:
        self.results: list[tuple[str, str, float, str]] = []
        self.order = order
        self.mtas: dict[str, None] = {}  # which MTA and release each node of the topologies used ran

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if _counts(report):
            doc = dict(report.user_properties).get("doc", "")
            self.mtas.update((str(v), None) for k, v in report.user_properties if k == "mailharness_mta")
            outcome, why = judged(report.outcome, report.longrepr, getattr(report, "wasxfail", None))
            self.results.append((plain_nodeid(report.nodeid), outcome, report.duration,
                                 f"{outcome.replace('-', ' ')}: {why}" if why else str(doc)))

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        from .summary import render_summary

        terminalreporter.write_sep("=", "mailharness summary")
        for line in render_summary(sorted(self.results, key=lambda r: self.order.key(r[0]))):
            terminalreporter.write_line(line)
        for mtas in self.mtas:
            terminalreporter.write_line(f"nodes ran: {mtas}")


class _Report:
    """--mailharness-html / --mailharness-records: one record per scenario that used a topology. Each process
    writes its records to a part file of its own (xdist workers: one each), as each test's call is reported,
    while its topology still runs; the controller merges the parts at the end, in the order the tests were
    collected, and writes the report."""

    def __init__(self, config: pytest.Config, records: str | None, html: str | None, order: _Order) -> None:
        self.records, self.html = records, html
        self.base = Path(str(records or html)).resolve()
        workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
        self.controller = workerinput is None
        worker = workerinput["workerid"] if workerinput else "main"
        self.part = self.base.with_name(f"{self.base.name}.{worker}.part.jsonl")
        self.order = order
        self.errors: list[str] = []
        self.written: list[str] = []

    def _parts(self) -> list[Path]:
        return sorted(self.base.parent.glob(self.base.name + ".*.part.jsonl"))

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        if self.controller:
            for old in self._parts():
                old.unlink()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]
                                  ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        rep = yield
        if _counts(rep) and item.stash.get(_USED, []):
            self._write_record(item, rep)
        return rep

    def _write_record(self, item: pytest.Item, rep: pytest.TestReport) -> None:
        from ..report import scenario_record

        try:
            used = item.stash.get(_USED, [])
            stories = stories_of(item)
            doc = dict(item.user_properties).get("doc", "")
            outcome, why = judged(rep.outcome, rep.longrepr, getattr(rep, "wasxfail", None))
            record = scenario_record(plain_nodeid(item.nodeid), outcome, rep.duration, str(doc), stories)
            link_kept_dsns(record, item)
            record["access"] = sorted({topo.access.summary for topo in used})  # how the servers were reached
            props = dict(item.user_properties)
            if props.get("requirement"):  # a conformance requirement: its RFC reference, and the fix when it failed
                record["requirement"] = str(props["requirement"])
                if rep.failed and props.get("fix_hint"):
                    record["fix_hint"] = str(props["fix_hint"])
            if why:
                record["failure"] = f"{outcome.replace('-', ' ')}: {why}"
            if rep.failed:  # what the terminal report shows, in the page too
                crash = getattr(rep.longrepr, "reprcrash", None)
                record["failure"] = (str(crash.message) if crash is not None else str(rep.longreprtext))[-6000:]
                record["transcripts"] = "\n\n".join(t.render() for topo in used for t in topo.transcripts)
                record["logs"] = "\n\n".join(topo.report() for topo in used)
            self.part.parent.mkdir(parents=True, exist_ok=True)
            with open(self.part, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(record) + "\n")
        except Exception as exc:  # a record that cannot be built or written (OSError, a verdict or DSN bug...):
            # a report must never break a test run; the error is shown in the terminal summary, and logged
            log.debug("report record of %s", item.nodeid, exc_info=True)
            self.errors.append(f"{item.nodeid}: {exc.__class__.__name__}: {exc}")

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if not self.controller:
            return
        from ..report import write_html, write_records_jsonl

        records = []
        for part in self._parts():
            records += [json.loads(line) for line in part.read_text(encoding="utf-8").splitlines() if line.strip()]
            part.unlink()
        records.sort(key=lambda r: self.order.key(r.get("nodeid", "")))
        if self.records:
            self.written.append(str(write_records_jsonl(records, self.records)))
        if self.html:
            self.written.append(str(write_html(records, self.html, "mailharness report")))

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        for err in self.errors:
            terminalreporter.write_line(f"mailharness: report record failed: {err}")
        for path in self.written:
            terminalreporter.write_line(f"mailharness: report written to {os.path.abspath(path)}")
