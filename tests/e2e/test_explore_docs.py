"""docs/explore.md's examples are tests: the fixture example runs against the real topology, and the regression
test it shows is the writer's own output for that finding, imports only the public API, and compiles."""

from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path

import pytest

from harness import DiskFull
from harness.explore import Rcpt, Scenario, Targets, Violation
from harness.explore.explorer import Discovery
from harness.explore.writer import regression_source

DOC = Path(__file__).resolve().parents[2] / "docs" / "explore.md"


def _python_blocks() -> list[str]:
    return [textwrap.dedent(b) for b in re.findall(r"^```python\n(.*?)^```", DOC.read_text(), flags=re.S | re.M)]


def test_the_fixture_example_passes(pytester: pytest.Pytester) -> None:
    [block] = [b for b in _python_blocks() if "mail_explore" in b]
    pytester.makepyfile(test_doc_explore=block)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_the_written_test_shown_is_what_the_writer_writes() -> None:
    [shown] = [b for b in _python_blocks() if "assert_guarantees" in b and "mail_explore" not in b]
    what = ("library sent a copy of its non-delivery notification about the message to <jack@store.example>, "
            "outside library (notify_classes, *_notice_recipient): a third party reads the bounce")
    found = Discovery(Violation("conservation", what, "notification copy to a third party"),
                      Scenario("config", recipients=(Rcpt("known"),), faults=(DiskFull("library"),)), "", [],
                      Targets(), 1.0, reproduced=2)
    assert regression_source(found) == shown
    tree = ast.parse(shown)
    assert {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} == {"harness", "harness.sut.conformance"}
