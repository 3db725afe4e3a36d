"""A user's own Postfix configuration: asked about once per process (harness.mta.postfix.configfacts), and what
the harness changes in it to run it in a topology (overrides(), read from containers/postfix/user-config.sh, which
makes the changes).

The configuration's validity is Postfix's to judge: the node runs `postfix check` at start and a refusal is
reported with Postfix's own words (ConfigRefused), within seconds.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ..facts import ConfigError, ConfigInfo
from .configfacts import resolve_config

_ASKED: dict[tuple[object, ...], ConfigInfo] = {}
_DERIVED: dict[tuple[object, ...], Path] = {}
TABLES_DIR = "mailharness-tables"  # in the configuration folder, so /etc/postfix/mailharness-tables in the node

_MARK = "# override: "


@functools.cache
def overrides() -> tuple[tuple[str, str], ...]:
    """What the harness changes in a user's configuration, and why (shown in reports): the "# override: WHAT |
    WHY" lines of the script that makes the changes (containers/postfix/user-config.sh), its one home."""
    from ...engine.images import containers_dir

    script = (containers_dir() / "postfix" / "user-config.sh").read_text(encoding="utf-8")
    return tuple((what.strip(), why.strip()) for what, _, why in
                 (line.removeprefix(_MARK).partition(" | ") for line in script.splitlines() if line.startswith(_MARK)))


def inspect_config(directory: str | Path, recipient: str = "", *, domains: Sequence[str] = (),
                   tables: Sequence[tuple[str, str]] = ()) -> ConfigInfo:
    """Ask Postfix (in a probe container of the node image) what the configuration in `directory` serves and
    which recipients its tables know. What the user says of it: `recipient`, an address it accepts
    (--mta-recipient); `domains`, domains it serves (--mta-domain); `tables`, (PARAM, FILE) pairs, a texthash copy
    of the tables a parameter names that the harness cannot read (--mta-table PARAM=FILE). With `tables`, the
    configuration read, and run, is a copy with those parameters pointing at the copies (`ConfigInfo.directory`)."""
    d = Path(directory)
    if not (d / "main.cf").is_file():
        raise ConfigError(f"{d}: no main.cf here (expected a Postfix configuration directory)")
    d = with_tables(d, tables) if tables else d
    # Asked once per process for the same files (mailharness check asks before pytest starts, then the plugin).
    key = (_stamp(d), recipient, tuple(domains))
    if key not in _ASKED:
        _ASKED[key] = resolve_config(d, recipient, domains)
    return _ASKED[key]


def with_tables(directory: Path, tables: Sequence[tuple[str, str]]) -> Path:
    """A copy of the configuration in which each PARAM of `tables` names the texthash copy FILE instead of its
    own tables: the copy goes in as TABLES_DIR/PARAM, main.cf's own setting of PARAM (with its continuation
    lines) is taken out and `PARAM = texthash:...` added at its end. One copy per configuration and tables in a
    process, removed at exit."""
    found = []
    for param, file in tables:
        if not param.replace("_", "").isalnum():
            raise ConfigError(f"--mta-table {param}={file}: {param!r} is not a main.cf parameter name")
        path = Path(file) if Path(file).is_file() else directory / file  # or relative to the configuration
        if not path.is_file():
            raise ConfigError(f"--mta-table {param}={file}: no such file here or in {directory} (a texthash "
                              "table: one 'key value' a line)")
        found.append((param, path))
    key = (_stamp(directory), tuple((p, _stamp(f)) for p, f in found))
    if key not in _DERIVED:
        out = Path(tempfile.mkdtemp(prefix="mailharness-config-"))
        atexit.register(shutil.rmtree, out, True)
        shutil.copytree(directory, out, dirs_exist_ok=True)
        (out / TABLES_DIR).mkdir(exist_ok=True)
        lines = ["", "# mailharness --mta-table: readable copies in place of tables the harness cannot read"]
        for param, path in found:
            shutil.copyfile(path, out / TABLES_DIR / param)
            lines.append(f"{param} = texthash:/etc/postfix/{TABLES_DIR}/{param}")
        kept = _without(out.joinpath("main.cf").read_text(encoding="utf-8"), {p for p, _ in found})
        out.joinpath("main.cf").write_text(kept + "\n".join(lines) + "\n", encoding="utf-8")
        _DERIVED[key] = out
    return _DERIVED[key]


def _without(main_cf: str, params: set[str]) -> str:
    """main.cf without the settings of `params` (a setting's continuation lines start with white space)."""
    out, skipping = [], False
    for line in main_cf.splitlines(keepends=True):
        if line[:1].isspace() and line.strip() and not line.lstrip().startswith("#"):
            if not skipping:
                out.append(line)
            continue
        skipping = line.split("=", 1)[0].strip() in params and "=" in line and not line.lstrip().startswith("#")
        if not skipping:
            out.append(line)
    return "".join(out) + ("" if not out or out[-1].endswith("\n") else "\n")


def _stamp(path: Path) -> tuple[object, ...]:
    files = sorted(path.resolve().rglob("*")) if path.is_dir() else [path.resolve()]
    return (str(path.resolve()), *((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files if p.is_file()))
