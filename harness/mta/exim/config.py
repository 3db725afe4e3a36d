"""Bringing one Exim node's configuration to what the applied faults imply, writing only the difference.

The tables and files under /etc/exim4/mh/ (harness.mta.exim.faults) are read by Exim when it uses them: writing
them is enough. A macro (`Param`) is read when an exim process starts: the settings file is written whole (only
the macros faults set: the configure file gives every other its default after including it) and the daemon
restarted (SIGHUP). The SMTP service goes off the network as a macro too (the daemon listens on loopback only).
"""

from __future__ import annotations

from typing import Protocol

from ...faults.changes import NodeWant
from ...faults.commands import Written, await_listener, files_script
from ...nodes.base import write_file_command
from .faults import INTERFACES, MH


class Restartable(Protocol):
    """What the writer drives: the node's commands, and its restart after a change of macros."""

    name: str
    ip: str

    def exec(self, cmd: list[str], *, check: bool = True) -> bytes: ...

    def reconfigure(self, script: str) -> None: ...


class EximConfigWriter:
    """One Exim node's configuration beyond its baseline (see the module's docstring)."""

    def __init__(self, node: Restartable):
        self._node = node
        self._done = Written()
        self._baseline_tables: dict[str, str] = {}

    @property
    def changed(self) -> bool:
        return not self._done.empty

    def restarted(self) -> None:
        """The node came back from its baseline files (the entrypoint restores /etc/exim4/mh, removing the files
        faults wrote there: accept_unknown, size_limit) and an empty /var/mail: whatever the faults still applied
        want there is written again."""
        done = self._done
        done.params, done.services_off, done.disk_filled = {}, frozenset(), False
        done.tables = dict.fromkeys(done.tables)
        done.files = {p: f for p, f in done.files.items() if not p.startswith(("/var/mail/", f"{MH}/"))}

    def conflict(self, w: NodeWant) -> str | None:
        return None

    def converge(self, w: NodeWant) -> None:
        done, node = self._done, self._node
        script: list[str] = []
        tables: dict[str, str | None] = {}
        for t in sorted(set(done.tables) | w.tables):
            baseline = self._table(t)
            content = w.table(t, baseline)
            if done.tables.get(t, baseline) != content:
                script.append(write_file_command(f"{MH}/{t}", content.encode(), 0o644))
            if content != baseline:
                tables[t] = content
        restart = dict(done.params) != dict(w.params)
        if restart:
            settings = "".join(f"{k} = {v}\n" for k, v in w.params.items())
            script.append(write_file_command(f"{MH}/settings", settings.encode(), 0o644))
        script += files_script(done.files, dict(w.files), filled=done.disk_filled, fill=w.disk_filled)
        if not script:
            return
        body = "set -e\n" + "\n".join(script)
        if restart:
            node.reconfigure(body)
        else:
            node.exec(["sh", "-c", body])
        if done.params.get(INTERFACES) != w.params.get(INTERFACES):
            await_listener(node, listening=INTERFACES not in w.params)
        self._done = Written(dict(w.params), tables, w.services_off, dict(w.files), w.disk_filled)

    def _table(self, table: str) -> str:
        """A table's content before any fault (the saved baseline copy)."""
        if table not in self._baseline_tables:
            out = self._node.exec(["sh", "-c", f"cat {MH}/baseline/{table} 2>/dev/null || cat {MH}/{table} "
                                               "2>/dev/null || true"])
            self._baseline_tables[table] = out.decode("utf-8", "replace")
        return self._baseline_tables[table]
