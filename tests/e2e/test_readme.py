"""The README's examples are tests: its example test runs against the real topology, its data examples run."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def _python_blocks() -> list[str]:
    blocks = re.findall(r"^( *)```python\n(.*?)^ *```", README.read_text(), flags=re.S | re.M)
    return [textwrap.dedent(body) for _, body in blocks]


def test_the_readme_has_examples() -> None:
    blocks = _python_blocks()
    assert any("def test_" in b for b in blocks) and any("TopologySpec(" in b for b in blocks)


def test_the_readme_example_test_passes(pytester: pytest.Pytester) -> None:
    tests = [b for b in _python_blocks() if "def test_" in b]
    pytester.makepyfile(**{f"test_readme_{i}": b for i, b in enumerate(tests)})
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=sum(b.count("def test_") for b in tests))


def test_the_readme_data_examples_run() -> None:
    for block in _python_blocks():
        if "def test_" not in block and "story." not in block:
            exec(compile(block, "README.md", "exec"), {})
