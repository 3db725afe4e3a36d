"""How a Postfix configuration sends: through a relayhost (a null client, a satellite, an application host), and
whether it listens on the network at all. Read in the probe (harness.mta.postfix.configfacts) from the values
Postfix gives the parameters, and the credentials its smtp_sasl_password_maps hold for the relayhost.
"""

from __future__ import annotations

import re

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
    level = tls_policy(values)
    if items(values.get("smtp_tls_policy_maps", "")):
        notes.append("smtp_tls_policy_maps is set: the relayhost's TLS policy is judged as smtp_tls_security_level "
                     f"= {level} says (the policy table is not read)")
    login = None
    if values.get("smtp_sasl_auth_enable", "no").lower() == "yes":
        login = _credentials(probe, values, first, host, port_s, notes)
    loopback = any(n.startswith(("127.", "[::ffff:127.")) for n in items(values.get("mynetworks", "")))
    return Outbound(relayhost=first, host="" if why else host, port=port, login=login, tls=level,
                    origin=origin(probe, values), why=why, local_clients=loopback)


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
