"""How a Postfix configuration sends: through a relayhost (a null client, a satellite, an application host), and
whether it listens on the network at all. Read in the probe (harness.mta.postfix.configfacts) from the values
Postfix gives the parameters, and the credentials its smtp_sasl_password_maps hold for the relayhost.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..facts import Outbound
from .probe import Probe
from .resolve import is_table, items, query_table

# The parameters read here (configfacts asks Postfix for them with the others).
PARAMS = ("relayhost", "inet_interfaces", "smtp_sasl_auth_enable", "smtp_sasl_password_maps",
          "smtp_tls_security_level", "smtp_use_tls", "smtp_enforce_tls", "smtp_tls_wrappermode",
          "smtp_tls_policy_maps", "masquerade_domains", "masquerade_classes", "mynetworks")
_LOOPBACK = {"loopback-only", "localhost", "127.0.0.1", "::1", "[::1]"}
_IP = re.compile(r"^[0-9.]+$|^ipv6:|:.*:")
_NEXTHOP = re.compile(r"^(?:\[(?P<bracketed>[^\]]+)\]|(?P<plain>[^:\[\]]+))(?::(?P<port>[a-z0-9]+))?$")
_SERVICES = {"smtp": 25, "submission": 587, "submissions": 465, "smtps": 465}


def listens(values: dict[str, str]) -> bool:
    """smtpd can be reached from the network (inet_interfaces names more than loopback)."""
    return not set(items(values.get("inet_interfaces", "all").lower())) <= _LOOPBACK


def origin(probe: Probe, values: dict[str, str]) -> str:
    """The domain unqualified senders get: myorigin (a file name: its first line, as Debian's /etc/mailname)."""
    value = values.get("myorigin", "").strip()
    if value.startswith("/"):
        a = probe.run([["head", "-n", "1", value]])[0]
        value = a.out.strip() if a.ok else ""
    return value.lower()


def tls_policy(values: dict[str, str]) -> str:
    """The smtp client's TLS security level (the legacy smtp_use_tls / smtp_enforce_tls when it is unset)."""
    level = values.get("smtp_tls_security_level", "").strip().lower()
    if level:
        return level
    if values.get("smtp_enforce_tls", "no").lower() == "yes":
        return "encrypt"
    return "may" if values.get("smtp_use_tls", "no").lower() == "yes" else "none"


def outbound(probe: Probe, values: dict[str, str], notes: list[str]) -> Outbound | None:
    """The relayhost the configuration sends through, and what a stand-in for it must do; None without one."""
    first = next(iter(items(values.get("relayhost", ""))), "")
    if not first:
        return None
    m = _NEXTHOP.match(first)
    host = (m.group("bracketed") or m.group("plain") or "").lower() if m else ""
    port_s = (m.group("port") or "smtp") if m else "smtp"
    port = int(port_s) if port_s.isdigit() else _SERVICES.get(port_s, 0)
    why = ""
    if not m or not host:
        why = f"relayhost = {first}: not a host name the harness can read"
    elif _IP.search(host):
        why = (f"relayhost = {first} is an IP address: the topology can only stand in for a relayhost by name; "
               "name it in relayhost to have it stood in for")
    elif not port:
        why = f"relayhost = {first}: unknown service {port_s!r}"
    elif values.get("smtp_tls_wrappermode", "no").lower() == "yes" or port == 465:
        why = (f"relayhost = {first} with implicit TLS (smtp_tls_wrappermode, port 465): the stand-in speaks "
               "STARTTLS only")
    policy = relay_policy(probe, values, first, host, port_s)
    if policy.note:
        notes.append(policy.note)
    login = None
    if values.get("smtp_sasl_auth_enable", "no").lower() == "yes":
        login = _credentials(probe, values, first, host, port_s, notes)
    loopback = any(n.startswith(("127.", "[::ffff:127.")) for n in items(values.get("mynetworks", "")))
    return Outbound(relayhost=first, host="" if why else host, port=port, login=login, tls=policy.level,
                    origin=origin(probe, values), why=why, local_clients=loopback, tls_said=policy.said,
                    tls_stated=policy.stated, tls_stated_said=policy.stated_said)


@dataclass(frozen=True)
class RelayPolicy:
    """The TLS policy towards the relayhost: as Postfix applies it (`level`, `said`), and one the configuration
    states where Postfix never looks (`stated`, `stated_said`), with a note for the report ("" for none)."""

    level: str
    said: str
    stated: str = ""
    stated_said: str = ""
    note: str = ""


def policy_keys(nexthop: str) -> list[str]:
    """The keys Postfix looks the next hop up by in smtp_tls_policy_maps (postconf(5)): the next-hop destination
    verbatim, enclosing brackets and a port included; for a bare domain (no brackets, no port), its parent domains
    with a leading dot after it, as in transport(5)."""
    key = nexthop.strip().lower()
    if key.startswith("[") or ":" in key:
        return [key]
    labels = key.split(".")
    return [key, *(f".{'.'.join(labels[i:])}" for i in range(1, len(labels)))]


def relay_policy(probe: Probe, values: dict[str, str], relayhost: str, host: str, port: str) -> RelayPolicy:
    """Postfix's TLS policy for the relayhost: smtp_tls_policy_maps by the keys Postfix uses (policy_keys), else
    smtp_tls_security_level; and whether the table names the relayhost by another key (its host alone, in
    brackets, with its port), which Postfix never looks up: the operator's intent, and a configuration that sends
    in clear where they meant TLS."""
    level = tls_policy(values)
    default = RelayPolicy(level, f"smtp_tls_security_level = {level}"
                          + ("" if values.get("smtp_tls_security_level") else " (not set: the legacy smtp_use_tls "
                             "and smtp_enforce_tls say so)"))
    tables = [query_table(t) for t in items(values.get("smtp_tls_policy_maps", "")) if is_table(t)]
    if not tables or not host:
        return default
    keys = policy_keys(relayhost)
    number = str(_SERVICES.get(port, port))
    ports = [port, number, *(name for name, n in _SERVICES.items() if str(n) == number)]
    others = [k for k in dict.fromkeys([host, f"[{host}]", *(f"[{host}]:{p}" for p in ports),
                                        *(f"{host}:{p}" for p in ports), *policy_keys(host)[1:]])
              if k not in keys]
    asked = [(k, t) for k in [*keys, *others] for t in tables]
    found = {pair: a.out.strip() for pair, a in zip(asked, probe.run([["postmap", "-q", k, t] for k, t in asked]),
                                                   strict=True) if a.ok and a.out.strip()}
    hit = next(((k, found[(k, t)]) for k in keys for t in tables if (k, t) in found), None)
    if hit is not None:
        said = f"smtp_tls_policy_maps: {hit[0]} {hit[1]}"
        return RelayPolicy(hit[1].split()[0].lower(), said, note=f"the relayhost's TLS policy: {said}")
    miss = next(((k, found[(k, t)]) for k in others for t in tables if (k, t) in found), None)
    if miss is None:
        return default
    stated = miss[1].split()[0].lower()
    why = (f"smtp_tls_policy_maps has '{miss[0]} {miss[1]}', a key Postfix never looks up for relayhost = "
           f"{relayhost}: it looks the policy up by the next hop as relayhost writes it ({', '.join(keys)}), so "
           f"{default.said} applies")
    return RelayPolicy(level, default.said, stated, why, note=why)


def _credentials(probe: Probe, values: dict[str, str], relayhost: str, host: str, port: str,
                 notes: list[str]) -> tuple[str, str] | None:
    """(user, password) smtp_sasl_password_maps holds for the relayhost, looked up as Postfix does: the next hop
    as written, then the host alone."""
    keys = list(dict.fromkeys([relayhost, f"[{host}]:{port}", f"[{host}]", host]))
    tables = [query_table(t) for t in items(values.get("smtp_sasl_password_maps", "")) if is_table(t)]
    answers = probe.run([["postmap", "-q", k, t] for t in tables for k in keys])
    for a in answers:
        user, sep, password = a.out.strip().partition(":")
        if a.ok and sep:
            return user, password
    notes.append(f"smtp_sasl_auth_enable = yes, and smtp_sasl_password_maps holds no user:password for "
                 f"{relayhost} (looked up: {', '.join(keys)}): the stand-in relayhost accepts no login")
    return None
