"""The Postfix releases the harness runs, as data: upstream major.minor -> the Debian release that ships it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Release:
    version: str  # upstream major.minor, as users name it ("3.10")
    debian: str  # the Debian release whose packages the image is built from ("trixie")


RELEASES = {r.version: r for r in (Release("3.7", "bookworm"), Release("3.10", "trixie"))}
DEFAULT = "3.7"  # becomes what Debian stable ships (3.10) once its image passes every scenario


def known() -> str:
    """The versions users may name, for messages: "3.7 (bookworm, the default), 3.10 (trixie)"."""
    return ", ".join(f"{v} ({r.debian}{', the default' if v == DEFAULT else ''})" for v, r in RELEASES.items())


def release(version: str = "") -> Release:
    """The release of `version` ("" = the default); a ValueError that names the known versions otherwise."""
    r = RELEASES.get(version or DEFAULT)
    if r is None:
        raise ValueError(f"Postfix {version!r} is not a release the harness runs; known: {known()}")
    return r
