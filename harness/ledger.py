"""The applied faults, in order, and the one place that changes nodes to match them.

    ledger = FaultLedger(topology)
    quota, = ledger.apply(MailboxFull("library"))
    ledger.apply(UnknownUser("library", "jill"))
    ledger.remove(quota)      # Jill is still unknown: only what MailboxFull changed is undone

Each fault's changes (`harness.inject`) are recorded with it. After every apply or removal the ledger computes
what the faults still applied imply (`harness.changes.want`) for the nodes that fault touched, compares it with
what it has written there so far, and writes only the difference: the parameters that changed (back to their
baseline value, or removed when the baseline did not set them), the tables whose content changed, master.cf's
services, the files, the container's state (halted, frozen, disconnected) and the DNS answers. A node that is
halted or frozen gets its configuration when it runs again. `clear()` brings every node back to its baseline.
"""

from __future__ import annotations

import base64
import functools
import logging
import shlex
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from .changes import File, NodeWant, size_conflict, want
from .errors import MailharnessError
from .faults import Fault
from .inject import Changes, FaultError, changes_for
from .nodes.base import Node, in_parallel
from .nodes.postfix import PostfixNode

log = logging.getLogger("mailharness")
_CF = "/etc/postfix"
# /var/mail is a small tmpfs: filled to the last block (dd stops at ENOSPC), or freed.
_FILL = ("dd if=/dev/zero of=/var/mail/.mh-fill bs=64k 2>/dev/null || true; "
         "dd if=/dev/zero of=/var/mail/.mh-fill2 bs=1 2>/dev/null || true")
_UNFILL = "rm -f /var/mail/.mh-fill /var/mail/.mh-fill2"


class Topology(Protocol):
    """What the ledger drives: the nodes (by key and all of them) and the topology's DNS answers."""

    def node(self, key: str) -> Node: ...

    @property
    def nodes(self) -> Mapping[str, Node]: ...

    def set_dns(self, faults: dict[str, str]) -> None: ...


@dataclass(frozen=True)
class Applied:
    """One applied fault and the changes it made (its undo restores exactly these)."""

    fault: Fault
    changes: Changes
    seq: int

    @property
    def nodes(self) -> frozenset[str]:
        return frozenset(c.node for c in self.changes)


@dataclass
class _Written:
    """What the ledger has written on one Postfix node beyond its baseline."""

    params: dict[str, str] = field(default_factory=dict)
    tables: dict[str, str | None] = field(default_factory=dict)  # None: unknown (the node restarted)
    services_off: frozenset[str] = frozenset()
    files: dict[str, File] = field(default_factory=dict)
    disk_filled: bool = False


class FaultLedger:
    def __init__(self, topology: Topology):
        self._topology = topology
        self._applied: list[Applied] = []
        self._seq = 0
        self._written: dict[str, _Written] = {}
        self._baseline_params: dict[str, dict[str, str]] = {}
        self._baseline_tables: dict[tuple[str, str], str] = {}
        self._dns: dict[str, str] = {}

    @property
    def applied(self) -> tuple[Applied, ...]:
        return tuple(self._applied)

    @property
    def faults(self) -> tuple[Fault, ...]:
        """The faults still applied, in the order they were applied."""
        return tuple(a.fault for a in self._applied)

    def apply(self, *faults: Fault) -> tuple[Applied, ...]:
        """Apply `faults` on top of the others, together: each node they touch is changed once (one reload), the
        nodes in parallel. On failure nothing of them stays applied."""
        entries = tuple(Applied(f, changes_for(f, self._topology), self._seq + i) for i, f in enumerate(faults))
        self._seq += len(entries)
        self._applied.extend(entries)
        touched = frozenset().union(*(e.nodes for e in entries))
        try:
            self._converge(touched)
        except BaseException:
            for e in entries:
                self._applied.remove(e)
            try:
                self._converge(touched)  # back to what the other faults imply
            except MailharnessError as again:  # the first error is the one to report; say this one too
                log.warning("mailharness: could not take back the half-applied %s: %s",
                            ", ".join(f.describe() for f in faults), again)
            raise
        return entries

    def remove(self, *entries: Applied) -> None:
        """Undo applied faults (those already undone: nothing), together; the others stay exactly as they are."""
        gone = [e for e in entries if e in self._applied]
        for e in gone:
            self._applied.remove(e)
        if gone:
            self._converge(frozenset().union(*(e.nodes for e in gone)))

    def clear(self) -> None:
        """Undo every fault: every node back to its baseline."""
        touched = {n for a in self._applied for n in a.nodes} | set(self._written)
        touched |= {name for name, node in self._topology.nodes.items()
                    if node.halted or node.frozen or not node.connected}
        self._applied.clear()
        self._converge(touched | ({"dns"} if self._dns else set()))

    # -- bringing nodes to what the faults imply ---------------------------------------------------------------
    def _converge(self, names: Collection[str]) -> None:
        wants, dns = want(c for a in self._applied for c in a.changes)
        nodes = self._topology.nodes
        for name in sorted(n for n in names if n in nodes):
            node = nodes[name]
            if isinstance(node, PostfixNode) and node.alive:
                problem = size_conflict(wants.get(name, NodeWant()).params, self._baseline(node))
                if problem:
                    raise FaultError(f"{', '.join(a.fault.describe() for a in self._applied)}: these faults "
                                     f"cannot hold together on {name}: {problem}")
        steps: list[Callable[[], None]] = [functools.partial(self._node, nodes[name], wants.get(name, NodeWant()))
                                           for name in sorted(n for n in names if n in nodes)]
        if dns != self._dns:
            steps.append(functools.partial(self._set_dns, dict(dns)))
        in_parallel(steps)

    def _node(self, node: Node, w: NodeWant) -> None:
        self._container(node, w.container)
        if isinstance(node, PostfixNode) and node.alive:
            self._config(node, w)

    def _set_dns(self, dns: dict[str, str]) -> None:
        self._topology.set_dns(dns)
        self._dns = dns

    def _container(self, node: Node, states: Collection[str]) -> None:
        if node.connected and not node.halted and ("disconnected" in states or "halted" in states):
            self._introduce(node)  # about to be cut off or stopped (a node already cut off cannot be met)
        if "disconnected" in states and node.connected:
            node.disconnect()
        reconnect = "disconnected" not in states and not node.connected
        if reconnect and node.halted:  # connected while stopped: it starts (now or later) on the network
            node.reconnect()
        if "halted" not in states and node.halted:
            node.resume()
            self._restarted(node)
        if "halted" in states and not node.halted:
            node.halt()
        if not node.halted and ("frozen" in states) != node.frozen:
            node.freeze() if "frozen" in states else node.thaw()
        if "disconnected" not in states and not node.connected:
            node.reconnect()
        if reconnect and node.alive:
            self._await_reachable(node)

    def _introduce(self, node: Node) -> None:
        """Before a node is cut off or stopped, every other Postfix node exchanges a packet with it (a connection
        to a closed port, refused at once), as a server that talked to its next hop recently has: its neighbour
        table then knows the address, and a connection to the host once it is gone times out (the client's
        connect time-out) instead of failing on ARP ("No route to host", harness.nodes.postfix.NEIGHBOUR_SYSCTLS),
        whatever the order of the tests before."""
        probe = f"timeout 1 bash -c 'exec 3<>/dev/tcp/{node.ip}/9' 2>/dev/null; true"
        in_parallel([functools.partial(other.exec, ["sh", "-c", probe], False)
                     for other in self._topology.nodes.values()
                     if isinstance(other, PostfixNode) and other is not node and other.alive and other.connected])

    def _await_reachable(self, node: Node) -> None:
        """The other nodes may remember the old address as unreachable (neighbour cache): poll, with a deadline,
        until a connection from each no longer times out."""
        probe = (f"for i in $(seq 100); do out=$(timeout 1 bash -c 'exec 3<>/dev/tcp/{node.ip}/25' 2>&1) && exit 0; "
                 "case \"$out\" in *refused*) exit 0;; esac; sleep 0.05; done; echo \"$out\"; exit 1")
        for other in self._topology.nodes.values():
            if isinstance(other, PostfixNode) and other is not node and other.alive:
                out = other.exec(["bash", "-c", probe], check=False).decode("utf-8", "replace").strip()
                if out:
                    log.warning("mailharness: %s still cannot reach %s (%s) after it was reconnected: %s",
                                other.name, node.name, node.ip, out)

    def _await_listener(self, node: PostfixNode, listening: bool) -> None:
        """After a reload master stops (or starts) listening, but an smtpd already waiting on the old socket can
        still take one more connection: poll, with a deadline, until a connection is refused (or answered)."""
        connect = f"timeout 1 bash -c 'exec 3<>/dev/tcp/{node.ip}/25' 2>/dev/null"
        want = connect if listening else f"! {connect}"
        out = node.exec(["bash", "-c", f"for i in $(seq 100); do {want} && echo ok && exit 0; sleep 0.05; done"],
                        check=False)
        if out.strip() != b"ok":
            raise FaultError(f"{node.name}: port 25 still {'refuses' if listening else 'answers'} connections "
                             f"5 s after the SMTP service was turned {'on' if listening else 'off'}")

    def _restarted(self, node: Node) -> None:
        """A restarted Postfix node came back with its baseline main.cf and master.cf and an empty /var/mail."""
        w = self._written.get(node.name)
        if w is not None:
            w.params, w.services_off, w.disk_filled = {}, frozenset(), False
            w.tables = dict.fromkeys(w.tables)
            w.files = {p: f for p, f in w.files.items() if not p.startswith("/var/mail/")}

    def _config(self, node: PostfixNode, w: NodeWant) -> None:
        done = self._written.setdefault(node.name, _Written())
        base = self._baseline(node)
        script: list[str] = []
        params: dict[str, str] = {}
        for name in dict.fromkeys([*done.params, *w.params]):
            if name in w.params:
                params[name] = w.params[name]
                if done.params.get(name) != w.params[name]:
                    script.append(f"postconf -e {shlex.quote(f'{name}={w.params[name]}')}")
            elif name in base:
                script.append(f"postconf -e {shlex.quote(f'{name}={base[name]}')}")
            else:
                script.append(f"postconf -X {shlex.quote(name)}")
        tables: dict[str, str | None] = {}
        for t in sorted(set(done.tables) | w.tables):
            baseline = self._table(node, t)
            content = w.table(t, baseline)
            if done.tables.get(t, baseline) != content:
                script.append(_write(f"{_CF}/{t}", content.encode()))
            if content != baseline:
                tables[t] = content
        if done.services_off != w.services_off:
            script.append(f"cp -p {_CF}/baseline/master.cf {_CF}/master.cf")
            script += [f"postconf -MX {shlex.quote(s)}" for s in sorted(w.services_off)]
        reload = bool(script)
        files: list[str] = []
        for path in sorted(set(done.files) | set(w.files)):
            f = w.files.get(path)
            if f is None:
                files.append(f"rm -f {shlex.quote(path)}")
            elif done.files.get(path) != f:
                files.append(_file(f))
        # A file to write on the full mailbox file system (a .forward while DiskFull holds): free it first,
        # write, and fill it again, as the admin who wrote that file before the disk filled up would have.
        refill = done.disk_filled and w.disk_filled and any(
            f.path.startswith("/var/mail/") for p, f in w.files.items() if done.files.get(p) != f)
        if refill or done.disk_filled and not w.disk_filled:
            script.append(_UNFILL)
        script += files
        if refill or w.disk_filled and not done.disk_filled:
            script.append(_FILL)
        if not script:
            return
        body = "set -e\n" + "\n".join(script)
        if reload:
            node.reconfigure(body)
        else:
            node.exec(["sh", "-c", body])
        if "smtp/inet" in done.services_off ^ w.services_off:
            self._await_listener(node, listening="smtp/inet" not in w.services_off)
        done.params, done.tables, done.services_off = params, tables, w.services_off
        done.files, done.disk_filled = dict(w.files), w.disk_filled
        if not (params or tables or w.services_off or w.files or w.disk_filled):
            del self._written[node.name]

    def _baseline(self, node: PostfixNode) -> dict[str, str]:
        """The parameters the node's baseline main.cf sets explicitly (`postconf -n` on the saved copy)."""
        if node.name not in self._baseline_params:
            out = node.exec(["postconf", "-c", f"{_CF}/baseline", "-n"]).decode("utf-8", "replace")
            self._baseline_params[node.name] = dict(_param(line) for line in out.splitlines() if " = " in line)
        return self._baseline_params[node.name]

    def _table(self, node: PostfixNode, table: str) -> str:
        """A table's content before any fault (the saved baseline copy, else the file as first found)."""
        key = (node.name, table)
        if key not in self._baseline_tables:
            path = shlex.quote(table)
            out = node.exec(["sh", "-c", f"cat {_CF}/baseline/{path} 2>/dev/null || cat {_CF}/{path} 2>/dev/null "
                                         "|| true"])
            self._baseline_tables[key] = out.decode("utf-8", "replace")
        return self._baseline_tables[key]


def _param(line: str) -> tuple[str, str]:
    name, _, value = line.partition(" = ")
    return name.strip(), value


def _write(path: str, content: bytes) -> str:
    b64 = base64.b64encode(content).decode()
    q = shlex.quote(path)
    return f"echo '{b64}' | base64 -d > {q}.mh-tmp && mv {q}.mh-tmp {q}"


def _file(f: File) -> str:
    q = shlex.quote(f.path)
    steps = [f"mkdir -p {shlex.quote(f.directory)} && chmod 1777 {shlex.quote(f.directory)}"] if f.directory else []
    if f.fill:
        steps.append(f"head -c {f.fill} /dev/zero | tr '\\0' x > {q}")
    else:
        steps.append(_write(f.path, f.text.encode()))
    if f.owner:
        steps.append(f"chown {shlex.quote(f.owner)}: {q}")
    return " && ".join(steps)
