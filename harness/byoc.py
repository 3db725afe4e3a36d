"""Bring your own configuration: ask Postfix what a configuration directory serves and which recipients its
tables know (harness.configfacts), build a topology around it, and say what the harness changes.

The configuration's validity is Postfix's to judge: the node runs `postfix check` at start and a refusal is
reported with Postfix's own words (ConfigRefused), within seconds.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from .configfacts import ConfigError, ConfigInfo, resolve_config
from .topology import NodeSpec, TopologySpec, default_topology

_ASKED: dict[tuple[str, str, tuple[tuple[str, int, int], ...]], ConfigInfo] = {}
_USER = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}$")

# What the harness changes in a user's configuration, and why. Shown in reports.
OVERRIDES: tuple[tuple[str, str], ...] = (
    ("maillog_file = /dev/stdout", "the mail log is the container's log, followed as events"),
    ("inet_interfaces = all, inet_protocols = ipv4", "listen on the topology's network"),
    ("chroot = n for every service (master.cf)", "no copies of resolv.conf in a chroot"),
    ("queue_run_delay = 1s, minimal_backoff_time = 1s, maximal_backoff_time = 1s", "retries in seconds, not minutes"),
    ("smtpd_error_sleep_time = 0", "no pause before error replies"),
    ("postscreen_greet_wait = 1s", "postscreen's pregreet test holds each new client 1 s, not 6"),
    ("transport_maps = the topology's domains only; default_transport = relay_transport = error:5.7.1",
     "mail can never leave the topology (the network is internal as well)"),
    ("indexed tables rebuilt with postmap/postalias", "the .db files are built for this Postfix"),
)


def inspect_config(directory: str | Path, recipient: str = "") -> ConfigInfo:
    """Ask Postfix (in a probe container of the node image) what the configuration in `directory` serves and
    which recipients its tables know; `recipient` is one the user vouches for (--mta-recipient)."""
    d = Path(directory)
    if not (d / "main.cf").is_file():
        raise ConfigError(f"{d}: no main.cf here (expected a Postfix configuration directory)")
    # Asked once per process for the same files (mailharness check asks before pytest starts, then the plugin).
    stamp = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(d.resolve().rglob("*"))
                  if p.is_file())
    key = (str(d.resolve()), recipient, stamp)
    if key not in _ASKED:
        _ASKED[key] = resolve_config(d, recipient)
    return _ASKED[key]


def node_for_config(directory: str | Path, name: str = "library", recipient: str = "") -> tuple[NodeSpec, ConfigInfo]:
    """A Postfix node running the configuration in `directory`, named `name`."""
    info = inspect_config(directory, recipient)
    others = tuple(d for d in info.domains if d != info.domain)
    spec = NodeSpec(name, info.domain, users=tuple(u for u in info.local_users if _USER.match(u)),
                    hostname=info.hostname, config_dir=str(Path(directory).resolve()), other_domains=others,
                    files=info.files, dovecot=any(s.startswith("dovecot:") for s in info.stand_ins))
    return spec, info


def topology_for_config(directory: str | Path, node: str = "library",
                        base: TopologySpec | None = None, recipient: str = "") -> tuple[TopologySpec, ConfigInfo]:
    """The default topology (or `base`) with `node` replaced by one running your configuration. Its domains must
    not be another node's; rename it in your test topology if they are."""
    base = base or default_topology()
    spec, info = node_for_config(directory, node, recipient)
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
        users = {u for u in users if _USER.match(u)}
        backends.append(NodeSpec(f"backend{i + 1}" if i else "backend", relay, users=tuple(sorted(users)),
                                 hostname=f"backend.{relay}", mx=False))
    if backends:
        spec = dataclasses.replace(spec, routes={b.domain: b.hostname for b in backends})
    nodes = tuple(spec if n.name == node else n for n in base) + tuple(backends)
    return TopologySpec(nodes=nodes, name=f"{base.name}-{node}-config"), info
