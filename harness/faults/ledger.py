"""The applied faults, in order, and the one place that changes nodes to match them.

    ledger = FaultLedger(topology)
    quota, = ledger.apply(MailboxFull("library"))
    ledger.apply(UnknownUser("library", "jill"))
    ledger.remove(quota)      # Jill is still unknown: only what MailboxFull changed is undone

Each fault's changes (`harness.faults.interpret`) are recorded with it. After every apply or removal the ledger computes
what the faults still applied imply (`harness.faults.changes.want`) for the nodes that fault touched, and brings each to
it: the container's state (halted, frozen, disconnected) and the DNS answers here; the configuration by the node
itself (`harness.mta.base.MtaNode.converge`: its MTA's package writes only the difference from what it wrote
before; a mock node writes the files its TLS faults leave for it). A node that is halted or frozen gets its
configuration when it runs again. `clear()` brings every node back to its baseline.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Protocol

from ..errors import MailharnessError
from ..mta.base import MtaNode
from ..nodes.base import Node, in_parallel
from ..nodes.mock import MockNode
from . import Fault, FaultError
from .changes import NodeWant, want
from .interpret import Changes, changes_for

log = logging.getLogger("mailharness")


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


class FaultLedger:
    def __init__(self, topology: Topology):
        self._topology = topology
        self._applied: list[Applied] = []
        self._seq = 0
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
        touched = {n for a in self._applied for n in a.nodes}
        touched |= {name for name, node in self._topology.nodes.items()
                    if node.halted or node.frozen or not node.connected or isinstance(node, MtaNode) and node.changed}
        self._applied.clear()
        self._converge(touched | ({"dns"} if self._dns else set()))

    # -- bringing nodes to what the faults imply ---------------------------------------------------------------
    def _converge(self, names: Collection[str]) -> None:
        wants, dns = want(c for a in self._applied for c in a.changes)
        nodes = self._topology.nodes
        for name in sorted(n for n in names if n in nodes):
            node = nodes[name]
            if isinstance(node, MtaNode) and node.alive:
                problem = node.conflict(wants.get(name, NodeWant()))
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
        if isinstance(node, (MtaNode, MockNode)) and node.alive:
            node.converge(w)

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
        """Before a node is cut off or stopped, every other MTA node exchanges a packet with it (a connection
        to a closed port, refused at once), as a server that talked to its next hop recently has: its neighbour
        table then knows the address, and a connection to the host once it is gone times out (the client's
        connect time-out) instead of failing on ARP ("No route to host", the nodes' NEIGHBOUR_SYSCTLS),
        whatever the order of the tests before."""
        probe = f"timeout 1 bash -c 'exec 3<>/dev/tcp/{node.ip}/9' 2>/dev/null; true"
        in_parallel([functools.partial(other.exec, ["sh", "-c", probe], check=False)
                     for other in self._topology.nodes.values()
                     if isinstance(other, MtaNode) and other is not node and other.alive and other.connected])

    def _await_reachable(self, node: Node) -> None:
        """The other nodes may remember the old address as unreachable (neighbour cache): poll, with a deadline,
        until a connection from each no longer times out."""
        probe = (f"for i in $(seq 100); do out=$(timeout 1 bash -c 'exec 3<>/dev/tcp/{node.ip}/25' 2>&1) && exit 0; "
                 "case \"$out\" in *refused*) exit 0;; esac; sleep 0.05; done; echo \"$out\"; exit 1")
        for other in self._topology.nodes.values():
            if isinstance(other, MtaNode) and other is not node and other.alive:
                out = other.exec(["bash", "-c", probe], check=False).decode("utf-8", "replace").strip()
                if out:
                    log.warning("mailharness: %s still cannot reach %s (%s) after it was reconnected: %s",
                                other.name, node.name, node.ip, out)

    def _restarted(self, node: Node) -> None:
        """A restarted MTA node came back with its baseline configuration and empty mailboxes."""
        if isinstance(node, MtaNode):
            node.restarted()
