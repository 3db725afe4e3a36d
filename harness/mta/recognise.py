"""Which MTA's configuration a folder holds, by the files each MTA reads: Postfix's main.cf; Exim's configure,
exim4.conf or Debian's update-exim4.conf.conf (harness.mta.exim.layouts). A leaf of the import graph: the list of
bundled examples (harness.bundled) asks it."""

from __future__ import annotations

from pathlib import Path

from .exim.layouts import recognises as _exim


def recognise(directory: str | Path) -> str:
    """The MTA kind whose configuration the folder holds ("postfix", "exim"), "" for none."""
    if (Path(directory) / "main.cf").is_file():
        return "postfix"
    if _exim(directory):
        return "exim"
    return ""
