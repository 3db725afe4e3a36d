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
from .mta.versions import KINDS as MTA_KINDS

NodeKind = Literal["postfix", "exim", "mock"]
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
# A mailbox (a Unix account on the node): what NodeSpec.users, a configuration's accounts and aliases may name.
MAILBOX_NAME = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}$")


@keywords(hints={"user": "users", "mailboxes": "users", "release": "version", "config": "config_dir",
                 "host": "hostname", "domains": "other_domains", "relay": "routes", "transport": "routes"})
@dataclass(frozen=True)
class NodeSpec:
    """One mail domain and the server that receives its mail (its MX): a real Postfix, a real Exim, or the
    programmable mock SMTP server. Each field below is a keyword of the constructor; only `name` and `domain` are
    required::

        NodeSpec("gateway", "gw.example", other_domains=("corp.example",), routes={"corp.example": "mx.corp.example"},
                 main_cf={"relay_domains": "corp.example"})
    """

    name: str
    """Short name used in logs, reports and checks ("library"); unique in the topology."""
    domain: str
    """The mail domain it serves ("library.example"), lower case; DNS names this node as its MX (unless `mx` is
    False). Checks accept the node's name, this domain, or any address in it."""
    users: tuple[str, ...] = ()
    """Local mailboxes (Unix accounts, e.g. ``("jill",)``); ``postmaster`` is always added."""
    kind: NodeKind = "postfix"
    """"postfix" (a real Postfix), "exim" (a real Exim, with the harness's baseline configuration) or "mock" (the
    programmable mock SMTP server, docs/mock-smtp.md)."""
    hostname: str = ""
    """The server's host name, the MX target and the name in its DSNs' Reporting-MTA; default "mx.<domain>"."""
    main_cf: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """Extra main.cf parameters for this node, applied after the harness's baseline
    (``{"message_size_limit": "20000"}``)."""
    config_dir: str = ""
    """A directory holding YOUR Postfix configuration (main.cf, optionally master.cf and the tables it names) to run
    instead of the harness's baseline; harness.sut.byoc says what the harness overrides in it."""
    other_domains: tuple[str, ...] = ()
    """More domains this node is the MX of (the virtual domains of a configuration)."""
    routes: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """Explicit next hops, domain -> host name (Postfix's transport_maps): a gateway passes mail for the domain
    straight to that host, its backend (``{"corp.example": "mx.corp.example"}``). For the gateway to accept that
    mail from anyone, also name the domain in its `other_domains` (DNS then names the gateway its MX) and in
    ``main_cf={"relay_domains": ...}``; the backend serves the domain with ``mx=False``."""
    mx: bool = True
    """Whether DNS names this node as its domain's MX. A backend reached only through a gateway's `routes` is not
    (False): it gets an address record only."""
    files: tuple[tuple[str, bytes], ...] = ()
    """(absolute path, content) pairs placed in the node before Postfix starts: the files YOUR configuration names
    outside its folder (/etc/mailname, /etc/aliases, TLS files), see harness.mta.postfix.configfacts."""
    dovecot: bool = False
    """YOUR configuration delivers over LMTP to Dovecot, which then runs in the node (MailboxFull sets a Dovecot
    quota there)."""
    version: str = ""
    """The MTA release the node runs ("3.10" for Postfix, "4.96" for Exim), one of harness.mta.releases(kind);
    empty: the default release (or the one --mailharness-mta names). MTA nodes only."""
    listens: bool = True
    """False when YOUR configuration listens on loopback only (inet_interfaces = loopback-only): the harness keeps
    that, so nothing outside the node can connect; mail is submitted inside it (MailTopology.submit)."""
    relayhost: str = ""
    """YOUR configuration's relayhost (a smarthost), stood in for by a node of the topology that answers for its
    name: the harness keeps it; mail for the topology's other domains goes to their nodes, all other mail to the
    stand-in."""
    ports: tuple[int, ...] = ()
    """More ports a mock node listens on besides 25 (a stood-in relayhost's 587)."""
    relay_tls: str = ""
    """Where YOUR configuration requires TLS to its `relayhost`, its policy in its own words
    ("smtp_tls_policy_maps: [smtp.provider.test]:587 encrypt"); "" where it allows clear text. Reports mark a hop to
    the relayhost in clear against it."""

    def __post_init__(self) -> None:
        if not _DOMAIN.match(self.domain):
            raise ValueError(f"node {self.name!r}: {self.domain!r} is not a lower-case DNS domain")
        for u in self.users:
            if not MAILBOX_NAME.match(u):
                raise ValueError(f"node {self.name!r}: user {u!r} is not a valid local part for a mailbox")
        kinds = (*MTA_KINDS, "mock")
        if self.kind not in kinds:
            raise ValueError(f"node {self.name!r}: kind {self.kind!r} is not one of {', '.join(map(repr, kinds))}")
        if self.version and self.kind not in MTA_KINDS:
            raise ValueError(f"node {self.name!r}: version {self.version!r} is for MTA nodes; a {self.kind} node "
                             "has none")
        if self.kind == "exim":
            postfix_only = [f for f, on in (("main_cf", self.main_cf), ("files", self.files),
                                             ("dovecot", self.dovecot), ("relayhost", self.relayhost),
                                             ("relay_tls", self.relay_tls)) if on]
            if postfix_only:
                raise ValueError(f"node {self.name!r}: {', '.join(postfix_only)} are for Postfix nodes; an exim node "
                                 "runs the harness's baseline configuration (containers/exim/configure), or yours "
                                 "(config_dir)")
            if not self.listens and not self.config_dir:
                raise ValueError(f"node {self.name!r}: listens=False is for a configuration of yours (config_dir) "
                                 "that listens on loopback only")
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
        """Every mailbox on the node: `users` and postmaster."""
        return self.users if "postmaster" in self.users else (*self.users, "postmaster")


@keywords
@dataclass(frozen=True)
class TopologySpec:
    """The nodes of one isolated mail world, on a network of its own with its own DNS. Every domain routes only to
    the others: nothing leaves the topology."""

    nodes: tuple[NodeSpec, ...]
    """The nodes; names, host names and MX domains must be unique."""
    name: str = "topology"
    """A name for the topology, the start of its id (and of its Docker network's name)."""

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
        """A node by name, domain, host name, or any address in its domain or at its host name (Postfix's
        $myhostname is one of its own destinations, root@mx.library.example)."""
        key = key.lower()
        domain = key.rsplit("@", 1)[-1]
        for n in self.nodes:
            if key in (n.name, n.hostname) or domain in (n.domain, n.hostname):
                return n
        for n in self.nodes:
            if domain in n.other_domains:
                return n
        known = ", ".join(f"{n.name} ({n.domain})" for n in self.nodes)
        raise KeyError(f"no node {key!r} in topology {self.name!r}; nodes: {known}")

    @property
    def display_names(self) -> dict[str, str]:
        """How messages and reports name the nodes: a node that runs YOUR configuration (`config_dir`) by its host
        name (your configuration's myhostname, mail.acme.test: the server you know), node name -> host name. The
        others go by their node name, the topology's own ("store")."""
        return {n.name: n.hostname for n in self.nodes if n.config_dir}

    @property
    def domains(self) -> tuple[str, ...]:
        """Every mail domain of the topology (each node's domain and other_domains), in node order."""
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
