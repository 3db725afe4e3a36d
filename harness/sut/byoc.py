"""Bring your own configuration: ask the MTA what a configuration directory serves and which recipients its
tables know (its package reads it: harness.mta.inspect_config), build a topology around it, and say what the
harness changes (harness.mta.overrides).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Protocol, cast

from .. import mta
from ..mock import Script
from ..mta.facts import ConfigError as ConfigError
from ..mta.facts import ConfigInfo as ConfigInfo
from ..topology import MAILBOX_NAME, NodeKind, NodeSpec, TopologySpec, default_topology


def table_options(values: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """--mta-table PARAM=FILE options as (PARAM, FILE) pairs; ConfigError (a ValueError) for one of another
    form."""
    out = []
    for v in values:
        param, eq, file = v.partition("=")
        if not (eq and param.strip() and file.strip()):
            raise ConfigError(f"--mta-table {v!r}: expected PARAM=FILE, e.g. virtual_mailbox_maps=./vmailbox.txt")
        out.append((param.strip(), file.strip()))
    return tuple(out)


class MtaChoiceLike(Protocol):
    """An --mta choice (harness.plugin.settings.MtaChoice): KIND[@VERSION] for NODE ("" every node)."""

    @property
    def kind(self) -> str: ...

    @property
    def version(self) -> str: ...

    @property
    def node(self) -> str: ...


def config_mta(directory: str | Path, node: str, choices: Iterable[MtaChoiceLike] = ()) -> tuple[str, str]:
    """The MTA (kind, version) that runs the configuration in `directory` in place of `node`: the last choice that
    names the node; else the MTA whose files the folder holds (Postfix's main.cf, Exim's configure...), at the
    release of the last choice of that kind that names no node (the default release without one). A folder no
    MTA recognises is Postfix's (its inspection says what is missing)."""
    chosen = [c for c in choices if c.node == node]
    if chosen:
        return chosen[-1].kind, chosen[-1].version
    kind = mta.recognise(directory) or "postfix"
    versions = [c.version for c in choices if not c.node and c.kind == kind]
    return kind, versions[-1] if versions else ""


def inspect_config(directory: str | Path, recipient: str = "", kind: str = "postfix", *, domains: Sequence[str] = (),
                   tables: Sequence[tuple[str, str]] = (), version: str = "") -> ConfigInfo:
    """Ask the MTA `kind` (release `version`, "" the default; in a probe container of its node image) what the
    configuration in `directory` serves and which recipients it knows. What the user vouches for: `recipient`, an
    address it accepts (--mta-recipient); `domains`, domains it serves (--mta-domain); `tables`, (PARAM, FILE): a
    readable copy of the tables PARAM names, for the probe and the node (--mta-table PARAM=FILE, Postfix's)."""
    return mta.inspect_config(kind, directory, recipient, domains=domains, tables=tables, version=version)


def node_for_config(directory: str | Path, name: str = "library", recipient: str = "", *,
                    domains: Sequence[str] = (), tables: Sequence[tuple[str, str]] = (), kind: str = "postfix",
                    version: str = "") -> tuple[NodeSpec, ConfigInfo]:
    """A node of MTA `kind` (release `version`) running the configuration in `directory` (with `tables`' copies:
    see inspect_config)."""
    info = inspect_config(directory, recipient, kind, domains=domains, tables=tables, version=version)
    others = tuple(d for d in info.domains if d != info.domain)
    relay = info.outbound
    spec = NodeSpec(name, info.domain, kind=cast(NodeKind, kind), version=version,
                    users=tuple(u for u in info.local_users if MAILBOX_NAME.match(u)),
                    hostname=info.hostname, config_dir=str(Path(info.directory).resolve()), other_domains=others,
                    files=info.files, dovecot=any(s.startswith("dovecot:") for s in info.stand_ins),
                    listens=not info.inbound_na.startswith("no listener"),
                    relayhost=relay.relayhost if relay is not None and relay.host else "",
                    relay_tls=(relay.tls_said if relay.tls_required else relay.tls_stated_said)
                    if relay is not None and relay.host and relay.tls_intended else "",
                    mx=bool(info.domains))  # a server that serves no domain is no domain's MX
    return spec, info


RELAYHOST_NODE = "relayhost"


def relayhost_node(info: ConfigInfo) -> NodeSpec | None:
    """The mock node that stands in for the configuration's relayhost: it answers for the relayhost's name (its
    MX and address) on the relayhost's port; None when the configuration names none, or none can be stood in
    for (ConfigInfo.outbound.why)."""
    relay = info.outbound
    if relay is None or not relay.host:
        return None
    return NodeSpec(RELAYHOST_NODE, relay.host, kind="mock", hostname=relay.host,
                    ports=(relay.port,) if relay.port != 25 else ())


def relayhost_script(info: ConfigInfo) -> Script:
    """What the stand-in relayhost does unless a test says otherwise: it offers STARTTLS, and where the
    configuration authenticates, it requires AUTH (only after STARTTLS) with the credentials the configuration's
    smtp_sasl_password_maps hold for it, as a provider's submission server does."""
    script = Script().advertise("STARTTLS")
    relay = info.outbound
    if relay is not None and relay.login is not None:
        script = script.login(*relay.login)
    return script


def topology_for_config(directory: str | Path, node: str = "library", base: TopologySpec | None = None,
                        recipient: str = "", *, domains: Sequence[str] = (), tables: Sequence[tuple[str, str]] = (),
                        kind: str = "postfix", version: str = "") -> tuple[TopologySpec, ConfigInfo]:
    """The default topology (or `base`) with `node` replaced by one of MTA `kind` (release `version`) running your
    configuration. Its domains must not be another node's; rename it in your test topology if they are."""
    base = base or default_topology()
    spec, info = node_for_config(directory, node, recipient, domains=domains, tables=tables, kind=kind,
                                 version=version)
    if node not in [n.name for n in base]:
        raise ConfigError(f"no node {node!r} to replace; nodes: {', '.join(n.name for n in base)}")
    taken = {d: n.name for n in base if n.name != node for d in (n.domain, *n.other_domains)}
    clash = [f"{d} (node {taken[d]})" for d in dict.fromkeys((info.domain, *info.domains)) if d in taken]
    if clash:
        raise ConfigError(f"{directory}: serves domains another node of the topology has: {', '.join(clash)}")
    # Each relay domain gets a backend behind the gateway: a Postfix that knows the domain's recipients (those
    # of relay_recipient_maps, and jill) and is not the domain's MX; the gateway's route to it is explicit.
    backends = []
    for i, relay in enumerate(info.relay_domains):
        users = {r.split("@", 1)[0] for r in info.recipients if r.endswith("@" + relay)} | {"jill"}
        users = {u for u in users if MAILBOX_NAME.match(u)}
        backends.append(NodeSpec(f"backend{i + 1}" if i else "backend", relay, users=tuple(sorted(users)),
                                 hostname=f"backend.{relay}", mx=False))
    if backends:
        spec = dataclasses.replace(spec, routes={b.domain: b.hostname for b in backends})
    stand_in = relayhost_node(info)
    if stand_in is not None:
        backends.append(stand_in)
    nodes = tuple(spec if n.name == node else n for n in base) + tuple(backends)
    return TopologySpec(nodes=nodes, name=f"{base.name}-{node}-config"), info
