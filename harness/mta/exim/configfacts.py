"""One probe session per Exim configuration (harness.mta.probe, Exim's image): the configuration laid out and made
into the file Exim runs, as the node does it (containers/exim/user-config.py: Debian's update-exim4.conf for
Debian's layout, `exim -bV`, then the harness's overrides); then Exim is asked who the server is (`exim -bP`), which
domains it serves (its named lists, `match_domain`), and which recipients its routers know and where their mail ends
(`exim -bt`). The answers are read by harness.mta.exim.answers; this module only decides which questions to ask.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ...topology import MAILBOX_NAME
from ..facts import UNKNOWN_LOCAL_PART, ConfigError, ConfigInfo, ProbeError, Route
from ..probe import USER_DIR, Probe
from . import answers as read
from .routes import Routing, route_of, smarthost, why_not

EXIM = "/usr/sbin/exim4"
USER_CONF = "/var/lib/exim4/mh-user.conf"  # the configuration as Exim read it (user-config.py render)
SCRIPT = "/usr/local/bin/user-config.py"
# The probe's own host name: a primary_hostname that comes back as this one was left to the host's name.
PROBE_HOST = "probe.mailharness.invalid"
PROBE_NETWORK = "10.255.255.0/24"  # the topology's network, as far as the probe's overrides need one
TEST_USER = "jill"  # the account the harness gives a configuration that delivers to Unix accounts
ROLE = ("postmaster", "root", "abuse", "mailer-daemon", "hostmaster", "webmaster", "nobody")
OPTIONS = ("primary_hostname", "qualify_domain", "local_interfaces", "acl_smtp_rcpt", "acl_smtp_data",
           "acl_smtp_mail", "dsn_advertise_hosts", "message_size_limit", "daemon_smtp_ports", "never_users")
LISTS = ("local_domains", "relay_to_domains", "relay_from_hosts")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_MAX_CANDIDATES = 16
_LOOPBACK = re.compile(r"^(127\.\d+\.\d+\.\d+|::1)(\.\d+)?$")


def is_domain(name: str) -> bool:
    return bool(_DOMAIN.match(name.lower())) and not name.lower().startswith("localhost")


def resolve_config(d: Path, recipient: str = "", domains: Sequence[str] = (), version: str = "") -> ConfigInfo:
    with Probe(d, "exim", version=version, hostname=PROBE_HOST) as probe:
        return _resolve(d, probe, recipient.strip().lower(), [x.strip().lower() for x in domains])


@dataclass(frozen=True)
class Identity:
    hostname: str
    domain: str
    options: dict[str, str]  # the main options of OPTIONS, as Exim gives them
    lists: dict[str, str]  # named list -> its value (the lists of LISTS the configuration defines)
    flat: str  # the configuration as Exim read it (exim -bP config)


def _resolve(d: Path, probe: Probe, recipient: str, vouched: list[str]) -> ConfigInfo:
    """The steps, in order: the running configuration made (or Exim's refusal), who the server is, the
    harness's overrides, the domains it serves, the accounts it delivers to, and what its routers say of the
    recipients."""
    [made] = probe.run([["python3", SCRIPT, "render", USER_DIR]])
    try:
        report = json.loads(made.out)
    except json.JSONDecodeError as exc:
        raise ProbeError(f"user-config.py render answered {made.out!r} {made.err!r}") from exc
    if "error" in report:
        raise ConfigError(f"{d}: {report['error']}")
    notes = [str(n) for n in report.get("notes", [])]
    if report.get("layout") == "update-exim4.conf.conf":
        notes.insert(0, "Debian's layout: the running configuration made by update-exim4.conf, as Debian does")
    me = _identity(d, probe, recipient, vouched)
    node_conf = f"MH_HOSTNAME = {me.hostname}\nMH_DOMAIN = {me.domain}\nMH_NETWORKS = {PROBE_NETWORK}\n"
    # (DNS: nothing answers in the probe, at once: an address of another domain is "deferred", never routed.)
    probe.put({"/etc/exim4/mh/node.conf": node_conf.encode()})
    [_, over] = probe.run([["sh", "-c", "echo 'nameserver 127.0.0.1' > /etc/resolv.conf"],
                           ["python3", SCRIPT, "override"]])
    if not over.ok:
        raise ConfigError(f"{d}: {over.out.strip().removeprefix('mailharness: ')}")
    sections = read.sections(me.flat)
    routing = Routing(read.drivers(sections.get("routers", [])), read.drivers(sections.get("transports", [])),
                      me.options.get("never_users", ""))
    served = _served(probe, me, vouched + ([recipient.rsplit("@", 1)[-1]] if recipient else []), notes)
    local_d = [x for x, k in served.items() if k == "local"]
    if recipient and recipient.rsplit("@", 1)[-1] not in served:
        raise ConfigError(f"--mta-recipient {recipient}: Exim says this configuration does not serve its domain "
                          f"(it serves {', '.join(served)})")
    wanted, created = _accounts(probe, me, routing, recipient, local_d)
    cands = _candidates(me, served, wanted, recipient, probe, routing)
    tested = _tests(probe, cands + [f"{UNKNOWN_LOCAL_PART}@{x}" for x in served])
    routes = [r for a in cands if (r := route_of(a, tested[a], routing)) is not None]
    # The vouched one first, then mail stored here, to its own mailbox (not through an alias), not a role's
    routes.sort(key=lambda r: (r.address != recipient, not r.stored_here, r.final != r.address,
                               r.address.split("@")[0] in ROLE, r.address.rsplit("@", 1)[-1] != me.domain, r.address))
    if recipient and not any(r.address == recipient for r in routes):
        notes.append(f"--mta-recipient {recipient}: Exim's routers do not deliver it "
                     f"({why_not(tested.get(recipient, []), routing)}); used as you said")
        routes.insert(0, Route(recipient, "other", recipient, "as you said (--mta-recipient)"))
    unknown, unknown_reason = _unknown(tested, served, me.domain)
    relay_unknown, relay_reason = _relay_unknown(tested, served)
    users = tuple(u for u in created if any(r.final.split("@")[0] == u or r.address.split("@")[0] == u
                                            for r in routes))
    interfaces = me.options.get("local_interfaces", "")
    loopback = bool(read.list_items(interfaces)) and all(_LOOPBACK.match(i.strip("[]")) for i in
                                                         read.list_items(interfaces))
    if TEST_USER in users and recipient.split("@")[0] != TEST_USER:
        notes.append(f"{TEST_USER}: a Unix account the harness gives the node (the configuration delivers to "
                     "Unix accounts, and the image has none but the system's); --mta-recipient names one of yours")
    params = {**me.options, **{f"list {k}": v for k, v in me.lists.items()},
              **{f"acl {name}": read.acl_json(statements)
                 for name, statements in read.acls(sections.get("acl", [])).items()}}
    first = routes[0] if routes else None
    return ConfigInfo(
        d, params, me.hostname, me.domain, tuple(x for x in local_d if x != me.hostname or x == me.domain),
        (), tuple(x for x, k in served.items() if k == "relay"), tuple(r.address for r in routes), users,
        tuple(dict.fromkeys(notes)), unknown=unknown, unknown_reason=unknown_reason,
        known_reason="" if routes else (f"no recipient of this configuration could be confirmed with Exim's "
                                        f"routers (exim -bt; tried {', '.join(cands[:6]) or 'none'}); pass one "
                                        "with --mta-recipient ADDRESS"),
        delivered_here=first is not None and first.stored_here, relay_unknown=relay_unknown,
        relay_unknown_reason=relay_reason, lmtp_delivery=first is not None and first.kind == "lmtp",
        routes=tuple(routes),
        outbound=smarthost(routing, me.options.get("qualify_domain", me.domain)),
        inbound_na=f"no listener on the network (local_interfaces = {interfaces})" if loopback else "")


def _identity(d: Path, probe: Probe, recipient: str, vouched: list[str]) -> Identity:
    """Who the server is: its host name (primary_hostname, when the configuration sets one) and its mail domain
    (qualify_domain when set, else the first domain local_domains names, else one the user vouches for)."""
    asked = probe.run([[EXIM, "-C", USER_CONF, "-bP", *OPTIONS], ["cat", USER_CONF],
                       *[[EXIM, "-C", USER_CONF, "-bP", f"+{name}"] for name in LISTS]])
    opts, flat = read.options(asked[0].out), asked[1].out
    lists = {t[1]: t[2] for a in asked[2:] if a.ok and (t := read.named_list(a.out)) is not None}
    hostname = opts.get("primary_hostname", "").lower()
    explicit = hostname != PROBE_HOST
    qualify = opts.get("qualify_domain", "").lower()
    items = read.list_items(lists.get("local_domains", ""))
    named = [i.lower() for i in items if is_domain(i)]
    candidates = [*([qualify] if qualify not in ("", hostname, PROBE_HOST) else []), *named, *vouched,
                  *([recipient.rsplit("@", 1)[-1]] if recipient else []),
                  *([hostname.split(".", 1)[1]] if explicit and hostname.count(".") >= 2 else []),
                  *([hostname] if explicit else [])]
    domain = next((c for c in candidates if is_domain(c)), "")
    if not domain:
        raise ConfigError(f"{d}: Exim says this configuration names no mail domain (qualify_domain, local_domains: "
                          f"{lists.get('local_domains', 'not defined')}, primary_hostname: "
                          f"{'left to the host' if not explicit else hostname}); set primary_hostname to a fully "
                          "qualified name, or name the domain with --mta-domain DOMAIN")
    if not explicit:  # the node's host name: the mail domain itself when the host's own name is its only domain
        hostname = domain if "@" in items and not named else f"mx.{domain}"
        opts["primary_hostname"] = hostname
    return Identity(hostname, domain, opts, lists, flat)


def _served(probe: Probe, me: Identity, vouched: list[str], notes: list[str]) -> dict[str, str]:
    """The domains the configuration serves, each "local" or "relay", as Exim's own lists match them."""
    names = [me.hostname, me.domain, *vouched]
    for listed in ("local_domains", "relay_to_domains"):
        items = read.list_items(me.lists.get(listed, ""))
        names += [i.lower() for i in items if is_domain(i)]
        files = [f for i in items if (f := read.lookup_file(i))]
        for a in probe.run([["cat", f] for f in files]):
            names += [k.lower() for k in read.file_keys(a.out) if is_domain(k)]
    names = list(dict.fromkeys(n for n in names if is_domain(n)))
    if "local_domains" not in me.lists:
        notes.append("no domain list named local_domains: the mail domain and the host name are taken as the "
                     "domains it delivers itself")
        return {n: "local" for n in names if n in (me.hostname, me.domain)}
    relays = "relay_to_domains" in me.lists
    exprs = [f"${{if match_domain{{{n}}}{{+local_domains}}{{local}}"
             + (f"{{${{if match_domain{{{n}}}{{+relay_to_domains}}{{relay}}{{}}}}}}}}" if relays else "{}}")
             for n in names]
    said = probe.run([[EXIM, "-be", e] for e in exprs])
    served = {n: a.out.strip() for n, a in zip(names, said, strict=True) if a.out.strip() in ("local", "relay")}
    for v in vouched:
        if v not in served:
            notes.append(f"{v}: Exim's lists say this configuration does not serve it")
    if not served:
        raise ConfigError(f"Exim says this configuration serves no domain (local_domains = "
                          f"{me.lists.get('local_domains', '')}, relay_to_domains = "
                          f"{me.lists.get('relay_to_domains', '')}): the harness has nothing to judge")
    return served


def _accounts(probe: Probe, me: Identity, routing: Routing, recipient: str,
              local_d: list[str]) -> tuple[list[str], list[str]]:
    """The local parts to try, and the Unix accounts the probe (and the node) must get for them: the recipient the
    user vouches for, the harness's test user, and the users the redirect routers' files send mail to."""
    wanted = [recipient.split("@")[0]] if recipient and recipient.rsplit("@", 1)[-1] in local_d else []
    if not recipient:  # the user named none: the harness's own, where the routers deliver to accounts
        wanted.append(TEST_USER)
    aliases: list[str] = []
    for a in probe.run([["cat", f] for f in routing.alias_files()]):
        aliases += read.file_keys(a.out)
        for line in a.out.splitlines():
            _, sep, value = line.partition(":")
            if sep and not line.lstrip().startswith("#"):
                wanted += [v.strip() for v in value.split(",") if re.fullmatch(r"[a-z_][a-z0-9_-]*", v.strip())]
    wanted = [u for u in dict.fromkeys(wanted) if MAILBOX_NAME.match(u) and u not in aliases]
    have = probe.run([["getent", "passwd", u] for u in wanted])
    created = [u for u, a in zip(wanted, have, strict=True) if not a.ok]
    lines = "".join(f"{u}:x:{2000 + i}:{2000 + i}::/home/{u}:/usr/sbin/nologin\\n" for i, u in enumerate(created))
    groups = "".join(f"{u}:x:{2000 + i}:\\n" for i, u in enumerate(created))
    if created:
        probe.run([["sh", "-c", f"printf '{lines}' >> /etc/passwd && printf '{groups}' >> /etc/group && "
                                f"mkdir -p {' '.join('/home/' + u for u in created)}"]])
    return wanted, created


def _candidates(me: Identity, served: dict[str, str], wanted: list[str], recipient: str, probe: Probe,
                routing: Routing) -> list[str]:
    """The addresses to test: the one vouched for, then each local domain's wanted users and its aliases' keys."""
    keys: list[str] = []
    for a in probe.run([["cat", f] for f in routing.alias_files()]):
        keys += read.file_keys(a.out)
    out = [recipient] if recipient else []
    for x in sorted((x for x, k in served.items() if k == "local"), key=lambda x: (x != me.domain, x)):
        out += [f"{p}@{x}" for p in [*wanted, *keys] if "@" not in p and re.fullmatch(r"[a-z0-9._+-]+", p)]
    out += [k.lower() for k in keys if "@" in k and k.rsplit("@", 1)[-1].lower() in served]
    return list(dict.fromkeys(out))[:_MAX_CANDIDATES]


def _tests(probe: Probe, addresses: list[str]) -> dict[str, list[read.Tested]]:
    """`exim -bt` of each address, in one round trip (its report is on stdout; stderr has the routers'
    debug_print lines, which Exim writes while it tests an address)."""
    said = probe.run([[EXIM, "-bt", a] for a in addresses])
    return {a: read.address_tests(s.out) for a, s in zip(addresses, said, strict=True)}


def _said(tests: list[read.Tested]) -> str:
    return "; ".join(f"{t.address}: {t.status}{' (' + t.reason + ')' if t.reason else ''}" for t in tests) or \
        "nothing"


def _unknown(tested: dict[str, list[read.Tested]], served: dict[str, str], primary: str) -> tuple[str, str]:
    """An address Exim's routers confirm undeliverable (the primary domain's first), or "" and why none is."""
    why: list[str] = []
    for x in sorted(served, key=lambda x: (served[x] != "local", x != primary)):
        address = f"{UNKNOWN_LOCAL_PART}@{x}"
        tests = tested.get(address, [])
        if tests and all(t.status == "undeliverable" for t in tests):
            return address, ""
        routed = [t for t in tests if t.status == "deliverable"]
        why.append(f"{address}: " + (f"Exim's routers deliver it (router {routed[0].router or routed[0].transport}: "
                                     "a catch-all)" if routed else _said(tests)))
    return "", "no address could be confirmed unknown with Exim's routers (exim -bt): " + "; ".join(why)


def _relay_unknown(tested: dict[str, list[read.Tested]], served: dict[str, str]) -> tuple[str, str]:
    """An address of a relay domain Exim's routers confirm undeliverable, or "" and why none is."""
    why: list[str] = []
    for x in [x for x, k in served.items() if k == "relay"]:
        address = f"{UNKNOWN_LOCAL_PART}@{x}"
        tests = tested.get(address, [])
        if tests and all(t.status == "undeliverable" for t in tests):
            return address, ""
        why.append(f"{address}: {_said(tests)} (Exim routes any address of a relay domain to its next hop; only "
                   "the backend knows its users)")
    return "", "no address of a relay domain could be confirmed unknown with Exim's routers: " + "; ".join(why)
