"""The columns of the conformance matrix: each stock configuration on each release of its MTA.

The configurations are bundled examples (examples/, `mailharness examples`) that each MTA's package names as its
stock ones, and the releases are its own table, both read through harness.mta.versions: a release or a stock
configuration added there is a column here with nothing else to change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import UsageError
from ..mta import versions


@dataclass(frozen=True)
class Configuration:
    """A stock configuration of one MTA, as a bundled example."""

    example: str  # the bundled example's name (examples/NAME)
    kind: str  # the MTA it is a configuration of (harness.mta.versions.KINDS)
    what: str  # what it is, for the matrix's header


def configurations() -> tuple[Configuration, ...]:
    """Every MTA's stock configurations, as its package lists them (harness.mta.versions.stock), MTA by MTA."""
    return tuple(Configuration(example, kind, what) for kind in versions.KINDS
                 for example, what in versions.stock(kind).items())


@dataclass(frozen=True)
class Column:
    """One configuration on one release of its MTA."""

    configuration: Configuration
    version: str  # the release, as users name it ("3.10")

    @property
    def mta(self) -> str:
        """The release as `--mta` takes it: "exim@4.98"."""
        return f"{self.configuration.kind}@{self.version}"

    @property
    def key(self) -> str:
        """A name for files: "exim-4.98-exim-debian"."""
        return f"{self.configuration.kind}-{self.version}-{self.configuration.example}"

    @property
    def title(self) -> str:
        """How the matrix heads the column: "Exim 4.98, exim-debian"."""
        return f"{versions.label(self.configuration.kind, self.version)}, {self.configuration.example}"

    def check_arguments(self) -> list[str]:
        """The `mailharness check` arguments that run this column."""
        return ["check", "--example", self.configuration.example, "--mta", self.mta]


def all_columns(confs: Sequence[Configuration] = ()) -> list[Column]:
    """Every configuration (by default the stock ones) on every release of its MTA: by MTA (as
    harness.mta.versions lists them), release (oldest first), then configuration."""
    out = []
    for kind in versions.KINDS:
        mine = [c for c in confs or configurations() if c.kind == kind]
        for version in versions.releases(kind):
            out += [Column(c, version) for c in mine]
    return out


def select(columns: Sequence[Column], mtas: Sequence[str] = (), examples: Sequence[str] = ()) -> list[Column]:
    """The columns `--mta KIND[@VERSION]` and `--config NAME` choose (each repeatable; none: all of them). A choice
    that matches no column is a UsageError that names the columns there are."""
    chosen = list(columns)
    for wanted, field in ((mtas, "mta"), (examples, "example")):
        if not wanted:
            continue
        for w in wanted:
            if not any(_matches(c, field, w) for c in columns):
                there = sorted({c.mta if field == "mta" else c.configuration.example for c in columns})
                raise UsageError(f"--{'mta' if field == 'mta' else 'config'} {w}: no column of the matrix is "
                                 f"{w}; there are {', '.join(there)}")
        chosen = [c for c in chosen if any(_matches(c, field, w) for w in wanted)]
    return chosen


def _matches(column: Column, field: str, wanted: str) -> bool:
    if field == "example":
        return column.configuration.example == wanted
    kind, _, version = wanted.partition("@")
    return column.configuration.kind == kind and version in ("", column.version)
