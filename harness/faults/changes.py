"""What a fault changes, as data, and what a set of applied faults implies for each node.

`harness.faults.interpret` turns each fault into a tuple of changes (one place); `harness.faults.ledger` keeps the
applied faults in order and brings every node to the state they imply. The state of a node is computed here, without
Docker, from the changes still applied and the node's baseline:

- a parameter takes the value of the LAST applied change that sets it, and its baseline value when none is left;
- a table is its baseline lines, minus the lines whose key a change removes, plus the lines changes add (in the
  order they were applied);
- a master.cf service is off while any change turns it off; a file exists while any change writes it (the last
  one's content); a container is halted, frozen or cut off while any change asks for it;
- DNS answers merge: one change per domain (the last applied wins), the others keep theirs.

So removing one fault restores exactly what that fault changed and nothing the others still hold, in any order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

ContainerState = Literal["halted", "frozen", "disconnected"]


@dataclass(frozen=True)
class Param:
    """main.cf `name = value` on `node` while applied."""

    node: str
    name: str
    value: str


@dataclass(frozen=True)
class TableLine:
    """A line added to /etc/postfix/`table` ("key value") while applied."""

    node: str
    table: str
    line: str


@dataclass(frozen=True)
class TableKeyGone:
    """Every line of /etc/postfix/`table` whose key is `key` is gone while applied."""

    node: str
    table: str
    key: str


@dataclass(frozen=True)
class ServiceOff:
    """The master.cf service (`smtp/inet`) is removed while applied."""

    node: str
    service: str


@dataclass(frozen=True)
class File:
    """A file on the node while applied: `text`, or `fill` bytes of "x" (a mailbox at its limit). `directory`
    is created first (mode 1777) when given, and removed with the file when nothing else is left in it."""

    node: str
    path: str
    text: str = ""
    fill: int = 0
    owner: str = ""
    directory: str = ""


@dataclass(frozen=True)
class DiskFilled:
    """The mailbox file system (/var/mail, a small tmpfs) is filled to its last block while applied."""

    node: str


@dataclass(frozen=True)
class Container:
    """The node's container is halted (stopped), frozen (paused) or disconnected from the network while applied."""

    node: str
    state: ContainerState


@dataclass(frozen=True)
class DnsAnswer:
    """The topology's DNS answers for `domain` as `kind` (see harness.faults.Dns) while applied."""

    domain: str
    kind: str

    @property
    def node(self) -> str:
        return "dns"


Change = Param | TableLine | TableKeyGone | ServiceOff | File | DiskFilled | Container | DnsAnswer
CONFIG_CHANGES = (Param, TableLine, TableKeyGone, ServiceOff)


@dataclass(frozen=True)
class NodeWant:
    """What the applied changes imply for one node, beyond its baseline."""

    params: Mapping[str, str] = field(default_factory=dict)
    table_lines: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    table_gone: Mapping[str, frozenset[str]] = field(default_factory=dict)
    services_off: frozenset[str] = frozenset()
    files: Mapping[str, File] = field(default_factory=dict)
    disk_filled: bool = False
    container: frozenset[ContainerState] = frozenset()

    @property
    def tables(self) -> frozenset[str]:
        return frozenset(self.table_lines) | frozenset(self.table_gone)

    def table(self, name: str, baseline: str) -> str:
        """The table's content: its baseline lines without the removed keys, then the added lines."""
        gone = self.table_gone.get(name, frozenset())
        lines = [ln for ln in baseline.splitlines() if ln.strip() and table_key(ln) not in gone]
        lines += [ln for ln in self.table_lines.get(name, ()) if table_key(ln) not in gone]
        return "".join(f"{ln}\n" for ln in lines)


def table_key(line: str) -> str:
    return line.split(None, 1)[0] if line.strip() else ""


def want(changes: Iterable[Change]) -> tuple[dict[str, NodeWant], dict[str, str]]:
    """The state per node, and the DNS answers (domain -> kind), that `changes` (in applied order) imply."""
    params: dict[str, dict[str, str]] = {}
    lines: dict[str, dict[str, list[str]]] = {}
    gone: dict[str, dict[str, set[str]]] = {}
    services: dict[str, set[str]] = {}
    files: dict[str, dict[str, File]] = {}
    filled: set[str] = set()
    states: dict[str, set[ContainerState]] = {}
    dns: dict[str, str] = {}
    for c in changes:
        if isinstance(c, Param):
            p = params.setdefault(c.node, {})
            p.pop(c.name, None)  # keep dict order = order of the last writer
            p[c.name] = c.value
        elif isinstance(c, TableLine):
            lines.setdefault(c.node, {}).setdefault(c.table, []).append(c.line)
        elif isinstance(c, TableKeyGone):
            gone.setdefault(c.node, {}).setdefault(c.table, set()).add(c.key)
        elif isinstance(c, ServiceOff):
            services.setdefault(c.node, set()).add(c.service)
        elif isinstance(c, File):
            files.setdefault(c.node, {})[c.path] = c
        elif isinstance(c, DiskFilled):
            filled.add(c.node)
        elif isinstance(c, Container):
            states.setdefault(c.node, set()).add(c.state)
        else:
            dns[c.domain] = c.kind
    nodes = set(params) | set(lines) | set(gone) | set(services) | set(files) | filled | set(states)
    out = {n: NodeWant(
        params=dict(params.get(n, {})),
        table_lines={t: tuple(v) for t, v in lines.get(n, {}).items()},
        table_gone={t: frozenset(v) for t, v in gone.get(n, {}).items()},
        services_off=frozenset(services.get(n, set())),
        files=dict(files.get(n, {})),
        disk_filled=n in filled,
        container=frozenset(states.get(n, set())),
    ) for n in nodes}
    return out, dns

