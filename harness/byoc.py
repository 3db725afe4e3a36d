"""Bring your own configuration: read a Postfix configuration directory the way Postfix would, enough to build
a topology around it (the domains it serves, the recipients its tables know), and say what the harness changes.

The configuration's validity is Postfix's to judge: the node runs `postfix check` at start and a refusal is
reported with Postfix's own words (ConfigRefused), within seconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import MailharnessError
from .topology import NodeSpec, TopologySpec, default_topology

_USER = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}$")

# What the harness changes in a user's configuration, and why. Shown in reports.
OVERRIDES: tuple[tuple[str, str], ...] = (
    ("maillog_file = /dev/stdout", "the mail log is the container's log, followed as events"),
    ("inet_interfaces = all, inet_protocols = ipv4", "listen on the topology's network"),
    ("chroot = n for every service (master.cf)", "no copies of resolv.conf in a chroot"),
    ("queue_run_delay = 1s, minimal_backoff_time = 1s, maximal_backoff_time = 2s", "retries in seconds, not minutes"),
    ("smtpd_error_sleep_time = 0", "no pause before error replies"),
    ("transport_maps = the topology's domains only; default_transport = relay_transport = error:5.7.1",
     "mail can never leave the topology (the network is internal as well)"),
    ("indexed tables rebuilt with postmap/postalias", "the .db files are built for this Postfix"),
)

_DEFAULTS = {
    "mydestination": "$myhostname, localhost.$mydomain, localhost",
    "local_recipient_maps": "proxy:unix:passwd.byname $alias_maps",
    "alias_maps": "hash:/etc/aliases",
    "virtual_alias_domains": "$virtual_alias_maps",
    "virtual_alias_maps": "",
    "virtual_mailbox_domains": "$virtual_mailbox_maps",
    "virtual_mailbox_maps": "",
    "relay_domains": "",
    "relay_recipient_maps": "",
}
_TEXT_TYPES = ("hash", "btree", "lmdb", "cdb", "dbm", "texthash", "sdbm")


class ConfigError(MailharnessError, ValueError):
    """The directory is not a Postfix configuration the harness can use (before Postfix even looks at it)."""


@dataclass(frozen=True)
class ConfigInfo:
    directory: Path
    params: dict[str, str]
    hostname: str
    domain: str
    local_domains: tuple[str, ...]
    virtual_domains: tuple[str, ...]
    relay_domains: tuple[str, ...]
    recipients: tuple[str, ...]  # full addresses the configuration's tables know
    local_users: tuple[str, ...]  # local parts that need a Unix account (local delivery)
    notes: tuple[str, ...] = field(default=())

    @property
    def domains(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.local_domains + self.virtual_domains + self.relay_domains))


def parse_main_cf(text: str) -> dict[str, str]:
    """main.cf's parameters: `name = value`, continuation lines start with whitespace, # comments."""
    params: dict[str, str] = {}
    current: str | None = None
    for raw in text.splitlines():
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        if raw[0].isspace() and current is not None:
            params[current] += " " + raw.strip()
            continue
        m = re.match(r"^([A-Za-z0-9_]+)\s*=\s*(.*)$", raw)
        if m:
            current = m.group(1)
            params[current] = m.group(2).strip()
    return params


def expand(value: str, params: dict[str, str], depth: int = 0) -> str:
    """$name and ${name} expansion, as Postfix does it (with the defaults the harness needs)."""
    if depth > 10:
        return value

    def sub(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2)
        return expand(params.get(name, _DEFAULTS.get(name, "")), params, depth + 1)

    return re.sub(r"\$\{?([A-Za-z0-9_]+)\}?|\$\(([A-Za-z0-9_]+)\)", sub, value)


def _items(value: str) -> list[str]:
    return [v for v in re.split(r"[\s,]+", value) if v]


def _table_keys(spec: str, directory: Path, notes: list[str], values: bool = False) -> list[str]:
    """Keys of a lookup table given as type:/path, read from its source file (as postmap would); with `values`,
    the local parts its right-hand sides name as well (aliases: `postmaster: jill` makes jill a user)."""
    kind, _, path = spec.partition(":")
    if kind not in _TEXT_TYPES:
        if kind not in ("proxy", "unix", "static", "inline", "regexp", "pcre"):
            notes.append(f"{spec}: {kind} tables cannot be listed; pass the recipients with --mta-recipient")
        return []
    p = Path(path)
    local = directory / p.name
    src = local if local.is_file() else p if p.is_file() else None
    if src is None:
        notes.append(f"{spec}: source file not found in {directory}")
        return []
    keys = []
    for line in src.read_text(errors="replace").splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line[0].isspace():
            key, _, rest = line.partition(":") if values else (line.split()[0], "", "")
            keys.append(key.split()[0].rstrip(":") if key.split() else key)
            if values:
                keys += [v for v in _items(rest) if re.match(r"^[a-z_][a-z0-9_.-]*$", v)]
    return keys


def inspect_config(directory: str | Path) -> ConfigInfo:
    d = Path(directory)
    if not (d / "main.cf").is_file():
        raise ConfigError(f"{d}: no main.cf here (expected a Postfix configuration directory)")
    params = parse_main_cf((d / "main.cf").read_text(errors="replace"))
    hostname = expand(params.get("myhostname", ""), params).strip()
    domain = expand(params.get("mydomain", ""), params).strip()
    if not domain and hostname.count(".") >= 2:
        domain = hostname.split(".", 1)[1]
    if not hostname:
        hostname = f"mx.{domain}" if domain else ""
    params = {**params, "myhostname": hostname, "mydomain": domain}
    if not domain:
        raise ConfigError(f"{d}/main.cf: set mydomain or a fully qualified myhostname (the harness serves that "
                          "domain in its DNS)")
    notes: list[str] = []

    def values(name: str) -> list[str]:
        return _items(expand(params.get(name, _DEFAULTS.get(name, "")), params))

    local_domains = [v for v in values("mydestination") if "." in v and not v.startswith("localhost")
                     and ":" not in v and v != hostname]
    virtual_domains = [v for v in values("virtual_alias_domains") + values("virtual_mailbox_domains") if ":" not in v]
    for spec in [v for v in values("virtual_alias_domains") + values("virtual_mailbox_domains") if ":" in v]:
        virtual_domains += _table_keys(spec, d, notes)
    relay = [v for v in values("relay_domains") if ":" not in v]
    recipients: list[str] = []
    users: list[str] = []
    for name in ("virtual_alias_maps", "virtual_mailbox_maps", "relay_recipient_maps"):
        for spec in values(name):
            recipients += [k for k in _table_keys(spec, d, notes) if "@" in k and not k.startswith("@")]
    if relay and not values("relay_recipient_maps"):
        notes.append("relay_domains without relay_recipient_maps: mail for any address there is accepted, and "
                     "what the backend refuses is bounced to whoever the sender claimed to be")
    for name in ("local_recipient_maps", "alias_maps"):
        for spec in values(name):
            for k in _table_keys(spec, d, notes, values=name == "alias_maps"):
                local = k.split("@", 1)[0]
                if local and local not in users:
                    users.append(local)
    if "local_recipient_maps" in params and not values("local_recipient_maps"):
        notes.append("local_recipient_maps is empty: mail for unknown local users is accepted and bounced later")
    primary = domain if domain in local_domains + virtual_domains + relay else (local_domains or [domain])[0]
    # Local recipients first: faults at the server itself (a full mail disk) need mail that lands there.
    recipients = [f"{u}@{primary}" for u in users
                  if u not in ("postmaster", "root", "MAILER-DAEMON", "mailer-daemon", "abuse")] + recipients
    return ConfigInfo(d, params, hostname, domain, tuple(dict.fromkeys(local_domains)),
                      tuple(dict.fromkeys(virtual_domains)), tuple(dict.fromkeys(relay)),
                      tuple(dict.fromkeys(recipients)), tuple(users), tuple(dict.fromkeys(notes)))


def node_for_config(directory: str | Path, name: str = "library") -> tuple[NodeSpec, ConfigInfo]:
    """A Postfix node running the configuration in `directory`, named `name`."""
    info = inspect_config(directory)
    others = tuple(d for d in info.domains if d != info.domain)
    spec = NodeSpec(name, info.domain, users=tuple(u for u in info.local_users if _USER.match(u)),
                    hostname=info.hostname, config_dir=str(Path(directory).resolve()), other_domains=others)
    return spec, info


def topology_for_config(directory: str | Path, node: str = "library",
                        base: TopologySpec | None = None) -> tuple[TopologySpec, ConfigInfo]:
    """The default topology (or `base`) with `node` replaced by one running your configuration. Its domains must
    not be another node's; rename it in your test topology if they are."""
    base = base or default_topology()
    spec, info = node_for_config(directory, node)
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
        spec = NodeSpec(spec.name, spec.domain, spec.users, spec.kind, spec.hostname, spec.main_cf, spec.config_dir,
                        spec.other_domains, routes={b.domain: b.hostname for b in backends})
    nodes = tuple(spec if n.name == node else n for n in base) + tuple(backends)
    return TopologySpec(nodes=nodes, name=f"{base.name}-{node}-config"), info
