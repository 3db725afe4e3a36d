"""docs/cookbook.md's recipes are tests: every Python block is a test file a user could copy, and each passes
against real Postfix servers. (Its command lines are checked against the parsers in tests/test_docs.py.)"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

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
