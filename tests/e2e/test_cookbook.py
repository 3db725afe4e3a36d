"""docs/cookbook.md's recipes are tests: every Python block is a test file a user could copy, and each passes
against real Postfix servers. (Its command lines are checked against the parsers in tests/test_docs.py.)

So are the test files of the user's guide's concept pages (tests/docblocks.py says which blocks are test files):
all of them in one pytest run, so that they share one default topology, as a user's suite does. A requirement that
does not apply says so (N/A), and nothing else may be skipped."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ..docblocks import CONCEPT_PAGES, OWN_TESTS, blocks

COOKBOOK = Path(__file__).resolve().parents[2] / "docs" / "cookbook.md"


def python_blocks() -> list[str]:
    return [textwrap.dedent(b) for b in re.findall(r"^```python\n(.*?)^```", COOKBOOK.read_text(), flags=re.S | re.M)]


def test_every_python_block_is_a_test_file() -> None:
    blocks = python_blocks()
    assert len(blocks) >= 7
    assert all("def test_" in b for b in blocks), "a recipe without a test cannot be run: make it one"


def keep_and_lint() -> tuple[list[str], list[str]]:
    """The two commands of the recipe "Keep a DSN and lint it": pytest with the option that keeps the DSNs, and
    dsn-lint on the files."""
    section = COOKBOOK.read_text().split("## Keep a DSN and lint it", 1)[1].split("\n## ", 1)[0]
    first = re.findall(r"^```sh\n(.*?)^```", section, flags=re.S | re.M)[0]
    run, lint = [shlex.split(line) for line in first.splitlines() if line.strip()]
    assert run[0] == "pytest" and lint[:2] == ["mailharness", "dsn-lint"], (run, lint)
    return run[1:], lint[2:]


def test_every_recipe_passes(pytester: pytest.Pytester) -> None:
    """...run as the recipe "Keep a DSN and lint it" says: every DSN the recipes saw is kept, and each passes
    dsn-lint."""
    blocks = python_blocks()
    pytester.makepyfile(**{f"test_cookbook_{i}": b for i, b in enumerate(blocks)})
    keep, lint = keep_and_lint()
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *keep)
    result.assert_outcomes(passed=sum(b.count("\ndef test_") for b in blocks))
    files = [str(f.relative_to(pytester.path)) for a in lint if "*" in a for f in sorted(pytester.path.glob(a))]
    assert len(files) >= 4, f"the recipes bounce at least four messages; kept: {files}"
    assert all(Path(f).name.startswith("test_cookbook_") for f in files), files  # named after the tests
    assert f"DSN(s) kept in {pytester.path}" in result.stdout.str()
    linted = subprocess.run([sys.executable, "-m", "harness.cli", "dsn-lint", *(a for a in lint if "*" not in a),
                             *files], capture_output=True, text=True, timeout=120, cwd=pytester.path)
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_every_test_file_of_the_concept_pages_passes(pytester: pytest.Pytester) -> None:
    files = [b for p in CONCEPT_PAGES if p not in OWN_TESTS for b in blocks(p, "python") if b.is_test]
    pytester.makepyfile(**{f"test_{b.page.removesuffix('.md')}_{b.line}": b.code for b in files})
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rs")
    tests = sum(("\n" + b.code).count("\ndef test_") for b in files)
    outcomes = result.parseoutcomes()
    assert (outcomes.get("failed", 0), outcomes.get("errors", 0)) == (0, 0), result.stdout.str()[-6000:]
    skips = re.findall(r"^SKIPPED \[\d+\] [^:]+:\d+: (.*)$", result.stdout.str(), flags=re.M)
    assert all(s.startswith("not applicable: ") for s in skips), skips
    assert outcomes.get("passed", 0) + outcomes.get("skipped", 0) == tests, outcomes
    assert outcomes.get("skipped", 0) == 1  # conformance.md's gateway requirement, on a server that relays nothing
