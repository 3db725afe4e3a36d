"""docs/cookbook.md's recipes are tests: every Python block is a test file a user could copy, and each passes
against real Postfix servers. (Its command lines are checked against the parsers in tests/test_docs.py.)"""

from __future__ import annotations

import re
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


def test_every_recipe_passes(pytester: pytest.Pytester) -> None:
    blocks = python_blocks()
    pytester.makepyfile(**{f"test_cookbook_{i}": b for i, b in enumerate(blocks)})
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=sum(b.count("\ndef test_") for b in blocks))
