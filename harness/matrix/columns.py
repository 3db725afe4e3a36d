"""The columns of the conformance matrix: each stock configuration on each release of its MTA.

The configurations are each MTA package's own (its STOCK table, harness.mta.stock): a bundled example
(examples/, `mailharness examples`), or a recipe that makes the folder from the image of the release the column
runs (harness.matrix.stock). The releases are the package's table too; both are read through harness.mta.versions:
a release or a stock configuration added there is a column here with nothing else to change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import UsageError
from ..mta import versions
from ..mta.stock import Stock


@dataclass(frozen=True)
class Configuration:
    """A stock configuration of one MTA."""

    kind: str  # the MTA it is a configuration of (harness.mta.versions.KINDS)
    stock: Stock  # what it is, and where its folder comes from

    @property
    def name(self) -> str:
        """How --config and the files of a run name it: "exim-stock-debian"."""
        return self.stock.name

    @property
    def source(self) -> str:
        """Where its folder comes from, for the matrix: "the bundled example `examples/NAME`" or "made from the
        image of each column's release when the matrix runs"."""
        if self.stock.example:
            return f"the bundled example `examples/{self.stock.example}`"
        return "made from the image of each column's release when the matrix runs"


def configurations() -> tuple[Configuration, ...]:
    """Every MTA's stock configurations, as its package lists them (harness.mta.versions.stock), MTA by MTA."""
    return tuple(Configuration(kind, s) for kind in versions.KINDS for s in versions.stock(kind))


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
        """A name for files: "exim-4.98-exim-stock-debian"."""
        return f"{self.configuration.kind}-{self.version}-{self.configuration.name}"

    @property
    def title(self) -> str:
        """How the matrix heads the column: "Exim 4.98, Debian's internet site"."""
        return f"{versions.label(self.configuration.kind, self.version)}, {self.configuration.stock.title}"

    def check_arguments(self, folder: str = "DIR") -> list[str]:
        """The `mailharness check` arguments that run this column; `folder`: where a recipe's folder was made
        (DIR where it is said rather than run)."""
        stock = self.configuration.stock
        where = ["--example", stock.example] if stock.example else [folder]
        return ["check", *where, "--mta", self.mta, *stock.arguments]


def all_columns(confs: Sequence[Configuration] = ()) -> list[Column]:
    """Every configuration (by default the stock ones) on every release of its MTA: by MTA (as
    harness.mta.versions lists them), release (oldest first), then configuration."""
    out = []
    for kind in versions.KINDS:
        mine = [c for c in confs or configurations() if c.kind == kind]
        for version in versions.releases(kind):
            out += [Column(c, version) for c in mine]
    return out


def select(columns: Sequence[Column], mtas: Sequence[str] = (), names: Sequence[str] = ()) -> list[Column]:
    """The columns `--mta KIND[@VERSION]` and `--config NAME` choose (each repeatable; none: all of them). A choice
    that matches no column is a UsageError that names the columns there are."""
    chosen = list(columns)
    for wanted, field in ((mtas, "mta"), (names, "config")):
        if not wanted:
            continue
        for w in wanted:
            if not any(_matches(c, field, w) for c in columns):
                there = sorted({c.mta if field == "mta" else c.configuration.name for c in columns})
                raise UsageError(f"--{field} {w}: no column of the matrix is {w}; there are {', '.join(there)}")
        chosen = [c for c in chosen if any(_matches(c, field, w) for w in wanted)]
    return chosen


def _matches(column: Column, field: str, wanted: str) -> bool:
    if field == "config":
        return column.configuration.name == wanted
    kind, _, version = wanted.partition("@")
    return column.configuration.kind == kind and version in ("", column.version)
