"""The releases of each MTA the harness runs: the upstream version users name ("3.10"), and the Debian release
whose packages its image is built from. Each MTA package keeps its table as data (`harness.mta.postfix.releases`);
this is where the core reads them, with the base image each MTA's images are built on (`Release.base`)."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UsageError
from .exim import releases as _exim
from .postfix import releases as _postfix
from .stock import Stock


@dataclass(frozen=True)
class Release:
    kind: str
    version: str  # upstream major.minor, as users name it ("3.10")
    debian: str  # the Debian release whose packages the image is built from ("trixie")
    base: str = "base"  # the folder of the image definitions (containers/) whose packages.txt makes its base image


_TABLES: dict[str, tuple[dict[str, str], str]] = {"postfix": (_postfix.RELEASES, _postfix.DEFAULT),
                                                   "exim": (_exim.RELEASES, _exim.DEFAULT)}
_NAMES = {"postfix": "Postfix", "exim": "Exim"}
_STOCK = {"postfix": _postfix.STOCK, "exim": _exim.STOCK}
# The MTAs the harness runs (harness.mta.KINDS): each has a package harness.mta.<kind> and an image per release.
KINDS = tuple(_TABLES)
# Each MTA's base image (a folder of containers/ with its packages.txt): Debian installs one mail-transport-agent
# at a time, so Exim's images cannot share Postfix's base ("base", which the helper images share too).
_BASES = {"postfix": _postfix.BASE, "exim": _exim.BASE}


def _table(kind: str) -> tuple[dict[str, str], str]:
    if kind not in _TABLES:
        raise UsageError(f"no MTA package for kind {kind!r}; MTAs: {', '.join(_TABLES)}")
    return _TABLES[kind]


def releases(kind: str = "postfix") -> dict[str, Release]:
    """The releases of MTA `kind` the harness runs, version -> Release, oldest first."""
    table, _ = _table(kind)
    return {v: Release(kind, v, suite, _BASES[kind]) for v, suite in table.items()}


def stock(kind: str = "postfix") -> tuple[Stock, ...]:
    """The stock configurations of MTA `kind` (harness.mta.stock: a bundled example or a recipe that makes the
    folder from the release's image), as its package lists them; `mailharness matrix` runs each on every release."""
    _table(kind)
    return tuple(_STOCK[kind])


def default_version(kind: str = "postfix") -> str:
    """The release a node of `kind` that names none runs (what Debian stable ships)."""
    return _table(kind)[1]


def known_releases(kind: str = "postfix") -> str:
    """The versions users may name, for messages: "3.7 (bookworm, the default), 3.10 (trixie)"."""
    default = default_version(kind)
    return ", ".join(f"{v} ({r.debian}{', the default' if v == default else ''})" for v, r in releases(kind).items())


def label(kind: str, version: str = "") -> str:
    """How reports name a node's MTA: "Postfix 3.10" (`version` "" = the default release)."""
    return f"{_NAMES.get(kind, kind)} {release(kind, version).version}"


def release(kind: str = "postfix", version: str = "") -> Release:
    """The release of `kind` named `version` ("" = the default); a UsageError (a ValueError) naming the known
    ones otherwise."""
    r = releases(kind).get(version or default_version(kind))
    if r is None:
        raise UsageError(f"{_NAMES.get(kind, kind)} {version!r} is not a release the harness runs; known: "
                         f"{known_releases(kind)}")
    return r
