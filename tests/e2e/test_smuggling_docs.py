"""docs/smuggling.md's example is a test: it runs against the real topology and passes."""

from __future__ import annotations

import pytest

from ..docblocks import run_page_example


def test_the_example_passes(pytester: pytest.Pytester) -> None:
    result = run_page_example(pytester, "smuggling.md")
    result.stdout.fnmatch_lines(["*lf-dot-crlf (<LF>.<CR><LF>): ended DATA early, the smuggled message was accepted*",
                                 "*C: This message carries a second one (lf-dot-crlf)<LF>"])
