"""A user's own Exim configuration, as users keep it: a single file (Exim's own `configure`, or Debian's
`exim4.conf`), or Debian's /etc/exim4 (`update-exim4.conf.conf` with `exim4.conf.template` or `conf.d/`, made into
the running configuration by Debian's update-exim4.conf). Asked about once per process
(harness.mta.exim.configfacts); what the harness changes in it to run it in a topology (overrides(), read from
containers/exim/user-config.py, which makes the changes, in the node and in the probe alike).

The configuration's validity is Exim's to judge: the probe runs `exim -bV` on it before anything else, and a refusal
is a ConfigError in Exim's own words, within seconds.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

from ..facts import ConfigError, ConfigInfo
from ..recognise import EXIM_LAYOUTS as LAYOUTS
from .configfacts import resolve_config

_ASKED: dict[tuple[object, ...], ConfigInfo] = {}
_MARK = "# override: "


@functools.cache
def overrides() -> tuple[tuple[str, str], ...]:
    """What the harness changes in a user's Exim configuration, and why (shown in reports), and what it does not
    change ("not changed: ..."): the "# override: WHAT | WHY" lines of the script that makes the changes
    (containers/exim/user-config.py), its one home."""
    from ...engine.images import containers_dir

    script = (containers_dir() / "exim" / "user-config.py").read_text(encoding="utf-8")
    return tuple((what.strip(), why.strip()) for what, _, why in
                 (line.removeprefix(_MARK).partition(" | ") for line in script.splitlines() if line.startswith(_MARK)))


def inspect_config(directory: str | Path, recipient: str = "", *, domains: Sequence[str] = (),
                   tables: Sequence[tuple[str, str]] = (), version: str = "") -> ConfigInfo:
    """Ask Exim (in a probe container of the node image of release `version`, "" the default) what the
    configuration in `directory` serves, and which recipients its routers know and where their mail ends. What
    the user says of it: `recipient`, an address it accepts (--mta-recipient); `domains`, domains it serves
    (--mta-domain). `tables` (--mta-table) are Postfix's: an Exim configuration reads its lookups' files itself."""
    d = Path(directory)
    if not any((d / name).is_file() for name in LAYOUTS):
        found = ", ".join(sorted(p.name for p in d.iterdir())[:10]) if d.is_dir() else "not a folder"
        raise ConfigError(f"{d}: no Exim configuration here (expected one of {', '.join(LAYOUTS)}; found {found})")
    if tables:
        raise ConfigError(f"--mta-table {tables[0][0]}={tables[0][1]}: readable copies of tables are for Postfix's "
                          "parameters; an Exim configuration names the files its lookups read (put them in the "
                          "folder, or give the lookup a file)")
    key = (_stamp(d), recipient, tuple(domains), version)
    if key not in _ASKED:
        _ASKED[key] = resolve_config(d, recipient, domains, version)
    return _ASKED[key]


def _stamp(path: Path) -> tuple[object, ...]:
    files = sorted(path.resolve().rglob("*"))
    return (str(path.resolve()), *((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files if p.is_file()))
