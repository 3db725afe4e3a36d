"""docs/smuggling.md's example is a test: it runs against the real topology and passes."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "smuggling.md"


def test_the_example_passes(pytester: pytest.Pytester) -> None:
    [block] = [textwrap.dedent(b) for b in re.findall(r"^```python\n(.*?)^```", DOC.read_text(), flags=re.S | re.M)]
    pytester.makepyfile(test_doc_smuggling=block)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-s")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*lf-dot-crlf (<LF>.<CR><LF>): ended DATA early, the smuggled message was accepted*",
                                 "*C: This message carries a second one (lf-dot-crlf)<LF>"])
