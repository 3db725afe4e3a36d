"""--mailharness-keep-dsns=DIR: every DSN a test saw, saved in DIR as .eml files named after the test, ready for
`mailharness dsn-lint`; the HTML report links each DSN to its file.

One mechanism for every run: pytest's option (ini `mailharness_keep_dsns`, environment MAILHARNESS_KEEP_DSNS),
which `mailharness run` and `mailharness check` set with `--keep-dsns DIR`. At the end of each test (its call),
while its topologies still run, harness.report.dsnfiles saves the DSNs of the test's messages and those
`Mailbox.wait_for_dsn` handed it: `tests_test_mail.py_test_bounce-1.eml`, `-2`, ... (the sanitised node id and a
counter), never overwriting a file. Each file is a property of the test in JUnit XML (`mailharness_dsn`); the
terminal summary says how many were kept where, and each DSN that could not be kept, with the reason.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from ..report.dsnfiles import Kept, keep_dsns
from .reporting import _USED, KEPT, plain_nodeid, stories_of

FILE_PROPERTY = "mailharness_dsn"  # a kept DSN's file, a property of the test (JUnit XML; the summary counts them)
PROBLEM_PROPERTY = "mailharness_dsn_not_kept"
_DIRECTORY = pytest.StashKey[Path | None]()


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("mailharness")
    g.addoption("--mailharness-keep-dsns", dest="mailharness_keep_dsns", default=None, metavar="DIR",
                help="save every DSN each test saw in DIR, as .eml files named after the test (for `mailharness "
                     "dsn-lint`); the HTML report links to them (ini mailharness_keep_dsns, env "
                     "MAILHARNESS_KEEP_DSNS)")
    parser.addini("mailharness_keep_dsns", "DIR: save every DSN each test saw there, as .eml files", default="")


def keep_dsns_directory(config: pytest.Config) -> Path | None:
    """Where the DSNs go (the command line, else the ini file, else MAILHARNESS_KEEP_DSNS; absolute), or None."""
    if _DIRECTORY not in config.stash:
        text = config.getoption("mailharness_keep_dsns", None) or config.getini("mailharness_keep_dsns") \
            or os.environ.get("MAILHARNESS_KEEP_DSNS", "")
        config.stash[_DIRECTORY] = Path(str(text)).expanduser().resolve() if str(text).strip() else None
    return config.stash[_DIRECTORY]


def kept_dsns(item: pytest.Item) -> Kept | None:
    """Save the DSNs the test saw (harness.report.dsnfiles), once; None when keeping is off or the test used no
    topology. What was kept is in `item.stash[KEPT]`, where the report finds each DSN's file."""
    if KEPT in item.stash:
        return item.stash[KEPT]
    where = keep_dsns_directory(item.config)
    used = item.stash.get(_USED, [])
    kept = None
    if where is not None and used:
        kept = Kept()
        try:
            stories = stories_of(item)
            for topo in used:
                mine = [s for s in stories if s.mailboxes is topo]
                one = keep_dsns(topo, mine, where, plain_nodeid(item.nodeid), handed=topo.dsns_seen)
                kept.files += one.files
                kept.by_message_id.update(one.by_message_id)
                kept.problems += one.problems
        except Exception as exc:  # gathering a story failed (a log follower lost, a container gone): keeping
            # evidence must never break the run; the summary says what was not kept and why
            kept.problems.append(f"the DSNs could not be gathered: {type(exc).__name__}: {exc}")
    item.stash[KEPT] = kept
    return kept


@pytest.hookimpl(wrapper=True, trylast=True)  # the innermost wrapper: kept before the report's wrapper reads it
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                              ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    rep = yield
    if rep.when == "call":
        kept = kept_dsns(item)
        if kept is not None:
            props = [(FILE_PROPERTY, str(p)) for p in kept.files] + [(PROBLEM_PROPERTY, p) for p in kept.problems]
            item.user_properties += props  # JUnit XML writes the item's
            rep.user_properties = [*rep.user_properties, *props]  # the summary reads the call's report
    return rep


class _Tally:
    """The DSNs kept by every test (from the reports, so that the controller of an xdist run sees every worker's),
    said once in the terminal summary."""

    def __init__(self, where: Path) -> None:
        self.where = where
        self.files: list[str] = []
        self.problems: list[str] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call":
            return
        for key, value in report.user_properties:
            if key == FILE_PROPERTY:
                self.files.append(str(value))
            elif key == PROBLEM_PROPERTY:
                self.problems.append(f"{plain_nodeid(report.nodeid)}: {value}")

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.files:
            terminalreporter.write_line(f"mailharness: {len(self.files)} DSN(s) kept in {self.where} (lint them: "
                                        f"mailharness dsn-lint --profile postfix --delivered {self.where}/*.eml)")
        else:
            terminalreporter.write_line(f"mailharness: no test saw a DSN; nothing kept in {self.where}")
        for problem in self.problems:
            terminalreporter.write_line(f"mailharness: a DSN was not kept: {problem}")


def pytest_configure(config: pytest.Config) -> None:
    where = keep_dsns_directory(config)
    if where is not None:
        config.pluginmanager.register(_Tally(where), "mailharness-keep-dsns")


def pytest_unconfigure(config: pytest.Config) -> None:
    tally = config.pluginmanager.get_plugin("mailharness-keep-dsns")
    if tally is not None:
        config.pluginmanager.unregister(tally)
