"""The layouts users keep an Exim configuration in, by the file that names each (the first found is the one run):
Debian's single file `exim4.conf` (read before anything update-exim4.conf makes), Exim's own `configure`, and
Debian's /etc/exim4 folder, `update-exim4.conf.conf` with `exim4.conf.template` or `conf.d/`. No imports: the list
of bundled examples asks it (harness.mta.recognise)."""

from __future__ import annotations

from pathlib import Path

LAYOUTS = ("exim4.conf", "configure", "update-exim4.conf.conf")


def recognises(directory: str | Path) -> bool:
    """The folder holds an Exim configuration in one of the layouts users keep (LAYOUTS)."""
    return any((Path(directory) / name).is_file() for name in LAYOUTS)
