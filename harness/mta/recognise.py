"""Which MTA's configuration a folder holds, by the files each MTA reads: Postfix's main.cf; Exim's in one of the
layouts users keep it in (EXIM_LAYOUTS, the first found is the one run): Debian's single file `exim4.conf` (read
before anything update-exim4.conf makes), Exim's own `configure`, or Debian's /etc/exim4 folder,
`update-exim4.conf.conf` with `exim4.conf.template` or `conf.d/`. A leaf of the import graph: the list of bundled
examples (harness.bundled) asks it."""

from __future__ import annotations

from pathlib import Path

EXIM_LAYOUTS = ("exim4.conf", "configure", "update-exim4.conf.conf")


def recognise(directory: str | Path) -> str:
    """The MTA kind whose configuration the folder holds ("postfix", "exim"), "" for none."""
    d = Path(directory)
    if (d / "main.cf").is_file():
        return "postfix"
    if any((d / name).is_file() for name in EXIM_LAYOUTS):
        return "exim"
    return ""
