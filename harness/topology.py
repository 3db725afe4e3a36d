"""A topology declared as data: the mail domains, their servers and their users.

Users declare their own the same way::

    from harness import NodeSpec, TopologySpec

    mine = TopologySpec(nodes=(
        NodeSpec("gateway", "corp.example", users=("alice",)),
        NodeSpec("backend", "backend.example", users=("bob",), main_cf={"message_size_limit": "20000"}),
    ))
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from .keywords import keywords
from .mta import versions as mta

NodeKind = Literal["postfix", "mock"]
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
# A mailbox (a Unix account on the node): what NodeSpec.users, a configuration's accounts and aliases may name.
MAILBOX_NAME = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}$")


@keywords(hints={"user": "users", "mailboxes": "users", "release": "version", "config": "config_dir",
                 "host": "hostname", "domains": "other_domains", "relay": "routes", "transport": "routes"})
@dataclass(frozen=True)
class NodeSpec:
    """One mail domain and the server that receives its mail (its MX).

    name: short name used in logs and reports ("library").
    domain: the mail domain it serves ("library.example").
    users: local mailboxes; `postmaster` is always added.
    kind: "postfix" (a real Postfix) or "mock" (the programmable mock SMTP server).
    hostname: the server's host name, the MX target; defaults to "mx.<domain>".
    main_cf: extra main.cf parameters for this node, applied after the harness's baseline.
    config_dir: a directory holding YOUR Postfix configuration (main.cf, optionally master.cf and the tables it
        names) to run instead of the harness's baseline; see harness.sut.byoc for what the harness overrides.
    other_domains: more domains this node is the MX of (virtual domains of a configuration).
    routes: explicit next hops, domain -> host name (a gateway relaying a domain to its backend).
    mx: whether DNS names this node as its domain's MX (a backend behind a gateway is not).
    files: (absolute path, content) placed in the node before Postfix starts: the files YOUR configuration names
        outside its folder (/etc/mailname, /etc/aliases, TLS files), see harness.mta.postfix.configfacts.
    dovecot: YOUR configuration delivers over LMTP to Dovecot, which runs in the node (MailboxFull sets a
        Dovecot quota there).
    version: the Postfix release the node runs ("3.10"), one of harness.mta.releases(kind); empty: the
        default release (or the one --mailharness-mta names). Postfix nodes only.
    listens: False when YOUR configuration listens on loopback only (inet_interfaces = loopback-only): the harness
        keeps that, so nothing outside the node can connect; mail is submitted inside it (MailTopology.submit).
    relayhost: YOUR configuration's relayhost (a smarthost), stood in for by a node of the topology that answers
        for its name: the harness keeps it; mail for the topology's other domains goes to their nodes, all other
        mail to the stand-in.
    ports: more ports a mock node listens on besides 25 (a stood-in relayhost's 587).
    """

    name: str
    domain: str
    users: tuple[str, ...] = ()
    kind: NodeKind = "postfix"
    hostname: str = ""
    main_cf: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    config_dir: str = ""
    other_domains: tuple[str, ...] = ()
    routes: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    mx: bool = True
    files: tuple[tuple[str, bytes], ...] = ()
    dovecot: bool = False
    version: str = ""
    listens: bool = True
    relayhost: str = ""
    ports: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if not _DOMAIN.match(self.domain):
            raise ValueError(f"node {self.name!r}: {self.domain!r} is not a lower-case DNS domain")
        for u in self.users:
            if not MAILBOX_NAME.match(u):
                raise ValueError(f"node {self.name!r}: user {u!r} is not a valid local part for a mailbox")
        if self.kind not in ("postfix", "mock"):
            raise ValueError(f"node {self.name!r}: kind {self.kind!r} is not 'postfix' or 'mock'")
        if self.version and self.kind != "postfix":
            raise ValueError(f"node {self.name!r}: version {self.version!r} is for Postfix nodes; a {self.kind} node "
                             "has none")
        if self.ports and self.kind != "mock":
            raise ValueError(f"node {self.name!r}: ports {self.ports} are for mock nodes (a Postfix node listens "
                             "where its configuration says)")
        if self.version:
            try:
                mta.release(self.kind, self.version)
            except ValueError as exc:
                raise ValueError(f"node {self.name!r}: {exc}") from None
        if not self.hostname:
            object.__setattr__(self, "hostname", f"mx.{self.domain}")
        object.__setattr__(self, "users", tuple(dict.fromkeys(self.users)))
        object.__setattr__(self, "main_cf", MappingProxyType(dict(self.main_cf)))
        object.__setattr__(self, "routes", MappingProxyType(dict(self.routes)))

    @property
    def mailboxes(self) -> tuple[str, ...]:
        return self.users if "postmaster" in self.users else (*self.users, "postmaster")


@keywords
@dataclass(frozen=True)
class TopologySpec:
    """The nodes of one isolated mail world. Every domain routes only to the others."""

    nodes: tuple[NodeSpec, ...]
    name: str = "topology"

    def __post_init__(self) -> None:
        if not self.nodes:
            raise ValueError("a topology needs at least one node")
        for attr in ("name", "hostname"):
            seen = [getattr(n, attr) for n in self.nodes]
            dup = {v for v in seen if seen.count(v) > 1}
            if dup:
                raise ValueError(f"topology {self.name!r}: duplicate node {attr}: {', '.join(sorted(dup))}")
        mx = [d for n in self.nodes if n.mx for d in (n.domain, *n.other_domains)]
        dup = {d for d in mx if mx.count(d) > 1}
        if dup:
            raise ValueError(f"topology {self.name!r}: duplicate node domain: {', '.join(sorted(dup))} (two MXs)")

    def __iter__(self) -> Iterator[NodeSpec]:
        return iter(self.nodes)

    def node(self, key: str) -> NodeSpec:
        """A node by name, domain, host name, or any address in its domain."""
        key = key.lower()
        domain = key.rsplit("@", 1)[-1]
        for n in self.nodes:
            if key in (n.name, n.hostname) or domain == n.domain:
                return n
        for n in self.nodes:
            if domain in n.other_domains:
                return n
        known = ", ".join(f"{n.name} ({n.domain})" for n in self.nodes)
        raise KeyError(f"no node {key!r} in topology {self.name!r}; nodes: {known}")

    @property
    def domains(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(d for n in self.nodes for d in (n.domain, *n.other_domains)))


def topology_with_mock_next_hop() -> TopologySpec:
    """The default topology with example.edu played by the programmable mock SMTP server."""
    base = default_topology()
    edu = NodeSpec("edu", "example.edu", kind="mock")
    return TopologySpec(name="mocked", nodes=(*base.nodes[:2], edu))


def default_topology() -> TopologySpec:
    """The classic case: jack@store.example writes to jill@library.example, who forwards to example.edu."""
    return TopologySpec(
        name="default",
        nodes=(
            NodeSpec("store", "store.example", users=("jack",)),
            NodeSpec("library", "library.example", users=("jill",)),
            NodeSpec("edu", "example.edu", users=("jill",)),
        ),
    )
