"""docs/tls.md's example is a test: it runs against the real topology with a mock next hop and passes, and the
story it prints shows the hop's TLS."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "tls.md"


def test_the_example_passes(pytester: pytest.Pytester) -> None:
    [block] = [textwrap.dedent(b) for b in re.findall(r"^```python\n(.*?)^```", DOC.read_text(), flags=re.S | re.M)]
    pytester.makepyfile(test_doc_tls=block)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-s")
    result.assert_outcomes(passed=1)
    # (fnmatch: "?" stands for each bracket of the hop's TLS)
    result.stdout.fnmatch_lines(["*store -> edu: deferred <jill@example.edu> (4.7.5, Server certificate not verified) "
                                 "?TLSv1.3, not verified (certificate has expired)?",
                                 "*store -> edu: relayed <jill@example.edu> (2.0.0, *) ?TLSv1.3, verified?"])
