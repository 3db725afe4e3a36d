"""Bringing one Postfix node's configuration to what the applied faults imply, writing only the difference.

`harness.faults.ledger` computes what the applied changes imply for each node (`harness.faults.changes.NodeWant`);
a Postfix node's `ConfigWriter` compares it with what it has written there so far and writes the difference in one shell
script: main.cf parameters (`postconf -e`, back to their baseline value, or `postconf -X` when the baseline did not
set them), the tables under /etc/postfix whose content changed, master.cf's services (`postconf -MX`), the files,
and the mailbox file system filled or freed; then one reload when the configuration changed. The tables Postfix
reads in place (INDEXED: the refusals) are indexed with postmap and need no reload.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Protocol

from ...faults.changes import NodeWant, table_key
from ...faults.commands import Written, await_listener, files_script
from ...nodes.base import write_file_command

CF = "/etc/postfix"
SMTP_SERVICE = "smtp/inet"
# Tables the node reads in place, as an index (`postmap TYPE:FILE` after the text is written): every smtpd looks
# each one up afresh (lmdb: a read transaction per lookup, which sees the last commit; postmap commits the new
# content in one transaction), so a change needs no reload and reaches the sessions already open, such as a
# client's cached connection. A texthash: table, read once when smtpd starts, would keep the refusals of before for
# as long as that session lasts: minutes, while the client keeps reusing it (containers/postfix/main.cf).
INDEXED = {"refuse": "lmdb", "tls_policy": "lmdb"}
# Indexed tables whose lookups a process keeps for its life (the smtp client caches each next hop's TLS policy):
# the new index is built beside the old one and renamed over it, so that every process holding the old one finds it
# gone (its link count 0) and restarts before its next delivery, as Postfix's daemons do when a table changed. (An
# index updated in place is noticed by its time stamp only, to the second: a client started in the same second as
# the change would keep the policy of before.) A key written twice: its last line holds (a level set again).
REPLACED = {"tls_policy"}


class Reloadable(Protocol):
    """What the writer drives: the node's commands, and its reload after a configuration edit."""

    name: str
    ip: str

    def exec(self, cmd: list[str], *, check: bool = True) -> bytes: ...

    def reconfigure(self, script: str) -> None: ...


class ConfigWriter:
    """One node's configuration beyond its baseline (see the module's docstring)."""

    def __init__(self, node: Reloadable):
        self._node = node
        self._done = Written()
        self._baseline_params: dict[str, str] | None = None
        self._baseline_tables: dict[str, str] = {}

    @property
    def changed(self) -> bool:
        return not self._done.empty

    def restarted(self) -> None:
        """The node came back with its baseline main.cf and master.cf and an empty /var/mail."""
        done = self._done
        done.params, done.services_off, done.disk_filled = {}, frozenset(), False
        done.tables = dict.fromkeys(done.tables)
        done.files = {p: f for p, f in done.files.items() if not p.startswith("/var/mail/")}

    def conflict(self, w: NodeWant) -> str | None:
        return size_conflict(w.params, self.baseline())

    def converge(self, w: NodeWant) -> None:
        done, node = self._done, self._node
        base = self.baseline()
        # The tables first: postmap (INDEXED) reads main.cf, and waits up to 2 s for one edited within the last
        # second to settle (Postfix's load_file), as the main.cf edits below would leave it.
        script: list[str] = []
        reload = False
        tables: dict[str, str | None] = {}
        for t in sorted(set(done.tables) | w.tables):
            baseline = self._table(t)
            content = w.table(t, baseline)
            if t in REPLACED:
                content = last_per_key(content)
            if done.tables.get(t, baseline) != content:
                if t in REPLACED:
                    script += replace_index(t, content)
                else:
                    script.append(write_file_command(f"{CF}/{t}", content.encode()))
                    if t in INDEXED:
                        script.append(f"postmap {INDEXED[t]}:{CF}/{shlex.quote(t)}")
                    else:
                        reload = True
            if content != baseline:
                tables[t] = content
        params: dict[str, str] = {}
        settings: list[str] = []  # name=value for one `postconf -e` (each run costs about 10 ms: one for all)
        removals: list[str] = []  # names for one `postconf -X`
        for name in dict.fromkeys([*done.params, *w.params]):
            if name in w.params:
                params[name] = w.params[name]
                if done.params.get(name) != w.params[name]:
                    settings.append(f"{name}={w.params[name]}")
            elif name in base:
                settings.append(f"{name}={base[name]}")
            else:
                removals.append(name)
        if settings:
            script.append(shlex.join(["postconf", "-e", *settings]))
        if removals:
            script.append(shlex.join(["postconf", "-X", *removals]))
        reload = reload or bool(settings or removals)
        if done.services_off != w.services_off:
            reload = True
            script.append(f"cp -p {CF}/baseline/master.cf {CF}/master.cf")
            script += [f"postconf -MX {shlex.quote(s)}" for s in sorted(w.services_off)]
        script += files_script(done.files, dict(w.files), filled=done.disk_filled, fill=w.disk_filled)
        if not script:
            return
        body = "set -e\n" + "\n".join(script)
        if reload:
            node.reconfigure(body)
        else:
            node.exec(["sh", "-c", body])
        if SMTP_SERVICE in done.services_off ^ w.services_off:
            await_listener(node, listening=SMTP_SERVICE not in w.services_off)
        self._done = Written(params, tables, w.services_off, dict(w.files), w.disk_filled)

    def baseline(self) -> dict[str, str]:
        """The parameters the node's baseline main.cf sets explicitly (`postconf -n` on the saved copy)."""
        if self._baseline_params is None:
            out = self._node.exec(["postconf", "-c", f"{CF}/baseline", "-n"]).decode("utf-8", "replace")
            self._baseline_params = dict(_param(line) for line in out.splitlines() if " = " in line)
        return self._baseline_params

    def _table(self, table: str) -> str:
        """A table's content before any fault (the saved baseline copy, else the file as first found)."""
        if table not in self._baseline_tables:
            path = shlex.quote(table)
            out = self._node.exec(["sh", "-c", f"cat {CF}/baseline/{path} 2>/dev/null || cat {CF}/{path} "
                                               "2>/dev/null || true"])
            self._baseline_tables[table] = out.decode("utf-8", "replace")
        return self._baseline_tables[table]


def last_per_key(content: str) -> str:
    """A table's lines with one line per key, the last one given (in its place)."""
    lines = content.splitlines()
    last = {table_key(ln): i for i, ln in enumerate(lines)}
    return "".join(f"{ln}\n" for i, ln in enumerate(lines) if last[table_key(ln)] == i)


def replace_index(table: str, content: str) -> list[str]:
    """The commands that write `table` and its index beside the old ones, then rename both over them (REPLACED)."""
    new, path = shlex.quote(f"{CF}/{table}.mh-new"), shlex.quote(f"{CF}/{table}")
    kind = INDEXED[table]
    return [write_file_command(f"{CF}/{table}.mh-new", content.encode()),
            f"postmap {kind}:{new}", f"mv -f {new}.{kind} {path}.{kind}", f"mv -f {new} {path}"]


def size_conflict(params: Mapping[str, str], baseline: Mapping[str, str]) -> str | None:
    """Postfix's local(8) refuses to run when mailbox_size_limit is below message_size_limit (both non-zero):
    say so before writing a configuration that would kill delivery."""
    def value(name: str, default: int) -> int:
        raw = params.get(name, baseline.get(name, str(default)))
        return int(raw) if raw.isdigit() else default

    mailbox, message = value("mailbox_size_limit", 51_200_000), value("message_size_limit", 10_240_000)
    if mailbox and message and mailbox < message:
        return (f"mailbox_size_limit ({mailbox}) would be smaller than message_size_limit ({message}); "
                "Postfix's local delivery agent refuses to run with that")
    return None


def _param(line: str) -> tuple[str, str]:
    name, _, value = line.partition(" = ")
    return name.strip(), value
