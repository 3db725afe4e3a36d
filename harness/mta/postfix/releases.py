"""The Postfix releases the harness runs, as data: upstream major.minor -> the Debian release that ships it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Release:
    version: str  # upstream major.minor, as users name it ("3.10")
    debian: str  # the Debian release whose packages the image is built from ("trixie")


RELEASES = {r.version: r for r in (Release("3.7", "bookworm"), Release("3.10", "trixie"))}
DEFAULT = "3.7"  # becomes what Debian stable ships (3.10) once its image passes every scenario
