"""--mailharness-shard=K/N: run one N-th of the selected tests, for a CI matrix of N machines.

Deterministic and balanced: the selected tests (after -k and -m) are sorted by node id and dealt round-robin,
the i-th to shard i mod N + 1. Every shard of one matrix collects the same tests with the same arguments, so the
N shards are disjoint and together run every test exactly once; each runs in its own process on its own machine
and starts its own topology. Under pytest-xdist every worker deals the same way, so a shard can be parallel too.

The reports merge afterwards: `mailharness report merge` (harness/report/merge.py) joins the shards' records into
one HTML report and their JUnit files into one.

Set it on the command line, in the ini file (`mailharness_shard = 2/4`) or in the environment (MAILHARNESS_SHARD);
GitLab's `parallel: N` gives `--mailharness-shard=$CI_NODE_INDEX/$CI_NODE_TOTAL`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import pytest

from ..errors import UsageError


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based, as CI systems number their jobs
    total: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        k, sep, n = text.strip().partition("/")
        if not sep or not k.strip().isdigit() or not n.strip().isdigit():
            raise UsageError(f"mailharness shard {text!r}: expected K/N, for example 2/4 (the second of four)")
        shard = cls(int(k), int(n))
        if not 1 <= shard.index <= shard.total:
            raise UsageError(f"mailharness shard {text!r}: K must be between 1 and N")
        return shard

    def __str__(self) -> str:
        return f"{self.index}/{self.total}"

    def split(self, nodeids: Sequence[str]) -> set[str]:
        """The node ids this shard runs."""
        return {nid for i, nid in enumerate(sorted(set(nodeids))) if i % self.total == self.index - 1}


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("mailharness")
    g.addoption("--mailharness-shard", dest="mailharness_shard", default=None, metavar="K/N",
                help="run only the K-th of N deterministic, disjoint parts of the selected tests (CI matrices)")
    parser.addini("mailharness_shard", "K/N: run only the K-th of N parts of the selected tests", default="")


_SHARD = pytest.StashKey[Shard | None]()


def configured(config: pytest.Config) -> Shard | None:
    if _SHARD not in config.stash:
        text = config.getoption("mailharness_shard", None) or config.getini("mailharness_shard") \
            or os.environ.get("MAILHARNESS_SHARD", "")
        try:
            config.stash[_SHARD] = Shard.parse(str(text)) if str(text).strip() else None
        except ValueError as exc:
            raise pytest.UsageError(str(exc)) from exc
    return config.stash[_SHARD]


def pytest_configure(config: pytest.Config) -> None:
    configured(config)  # a malformed K/N stops the run before collection


def pytest_report_header(config: pytest.Config) -> str | None:
    shard = configured(config)
    return f"mailharness shard: {shard} (the selected tests sorted by node id, dealt round-robin)" if shard else None


@pytest.hookimpl(trylast=True)  # after -k and -m: the shards split what is selected
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    shard = configured(config)
    if shard is None:
        return
    keep = shard.split([item.nodeid for item in items])
    deselected = [item for item in items if item.nodeid not in keep]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if item.nodeid in keep]
