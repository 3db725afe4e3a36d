"""docs/tls.md's example is a test: it runs against the real topology with a mock next hop and passes, and the
story it prints shows the hop's TLS."""

from __future__ import annotations

import pytest

from ..docblocks import run_page_example


def test_the_example_passes(pytester: pytest.Pytester) -> None:
    result = run_page_example(pytester, "tls.md")
    # (fnmatch: "?" stands for each bracket of the hop's TLS)
    result.stdout.fnmatch_lines(["*store -> edu: deferred <jill@example.edu> (4.7.5, Server certificate not verified) "
                                 "?TLSv1.3, not verified (certificate has expired)?",
                                 "*store -> edu: relayed <jill@example.edu> (2.0.0, *) ?TLSv1.3, verified?"])
