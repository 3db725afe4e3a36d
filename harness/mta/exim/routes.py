"""Where a recipient's mail ends, as Exim's own address test (`exim -bt`) says: the router that took each address it
ended at and its transport, whose driver tells the kind of place (appendfile: a mailbox or file on this server;
lmtp: an LMTP server on the node; smtp: a next hop; pipe, autoreply: other). A redirection that fans out (an alias
to several addresses) counts by the address that ends in a mailbox here, if any.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..facts import Outbound, Route
from .answers import Tested, list_items

_KINDS = {"appendfile": "mailbox", "lmtp": "lmtp", "smtp": "relay"}
_LOOKUP_FILE = re.compile(r"(?:[a-z]*search|cdb|dbm)\*{0,2}@?(?:,[^{;]*)?(?:\{|;\s*)(/[^}\s]+)")


@dataclass(frozen=True)
class Routing:
    """The configuration's routers and transports (name -> options), and never_users (deliveries as these users
    fail: Exim's own refusal, at delivery)."""

    routers: dict[str, dict[str, str]]
    transports: dict[str, dict[str, str]]
    never_users: str = ""

    def driver(self, transport: str) -> str:
        return self.transports.get(transport, {}).get("driver", "")

    def alias_files(self) -> list[str]:
        """The files the redirect routers look local parts up in (/etc/aliases...): their keys are recipients."""
        found = [m.group(1) for r in self.routers.values() if r.get("driver") == "redirect"
                 for m in _LOOKUP_FILE.finditer(r.get("data", "")) if "$local_part" in r.get("data", "")]
        return list(dict.fromkeys(found))

    def as_root(self, t: Tested) -> bool:
        """A delivery that would run as root, which Exim refuses (never_users, and Debian's build fixes root in
        it): a Unix account's router (check_local_user) for root, with no user= to run as instead."""
        router = self.routers.get(t.router, {})
        transport = self.transports.get(t.transport, {})
        return (t.address.split("@")[0] == "root" and router.get("check_local_user") == "true"
                and not router.get("user") and not transport.get("user"))


def route_of(address: str, tests: list[Tested], routing: Routing) -> Route | None:
    """Where `address`'s mail ends (None: Exim's routers do not deliver it: an unknown address, or one they cannot
    tell about here)."""
    if not tests or any(t.status == "undeliverable" for t in tests):
        return None
    ends: list[Route] = []
    for t in tests:
        if t.status == "deferred":
            if "host" not in t.reason:  # a lookup that could not complete: nothing known of it
                return None
            ends.append(Route(address, "relay", t.address, _via(t, "a remote host (not looked up here)")))
            continue
        if routing.as_root(t):
            continue
        driver = routing.driver(t.transport)
        kind = "other" if t.target.startswith("|") else _KINDS.get(driver, "other")
        ends.append(Route(address, kind, t.address, _via(t, f"transport {t.transport} ({driver or '?'})"
                                                        + (f" to {t.target}" if t.target else ""))))
    if not ends:
        return None
    return next((r for r in ends if r.stored_here), ends[0])


def why_not(tests: list[Tested], routing: Routing) -> str:
    """Why route_of found no place for an address's mail, in Exim's words where it gave some."""
    root = [t for t in tests if t.status == "deliverable" and routing.as_root(t)]
    if root:
        return (f"{root[0].address} would be delivered as root (router {root[0].router}, transport "
                f"{root[0].transport}), which Exim refuses at delivery (never_users; Debian's build fixes root in it)")
    return "; ".join(f"{t.address}: {t.status}" + (f" ({t.reason})" if t.reason else "") for t in tests) or \
        "exim -bt said nothing of it"


def _via(t: Tested, how: str) -> str:
    chain = " -> ".join([*reversed(t.parents), t.address]) if t.parents else t.address
    return f"{chain}: " + (f"router {t.router}, " if t.router else "") + how


def smarthost(routing: Routing, origin: str) -> Outbound | None:
    """How the configuration sends other domains' mail through a smarthost, as a manualroute router for every
    domain but its own says (Exim's default configure with ROUTER_SMARTHOST, Debian's satellite and smarthost
    types); None when it sends by MX. The harness does not stand in for an Exim smarthost yet: `why` says so, and
    the outbound requirements are NOT JUDGED."""
    for name, r in routing.routers.items():
        domains = r.get("domains", "").replace(" ", "")
        if r.get("driver") != "manualroute" or domains not in ("", "*", "!+local_domains"):
            continue
        route = r.get("route_data", "") or " ".join(r.get("route_list", "").split()[1:2])
        if not route:
            continue
        transport = routing.transports.get(r.get("transport", ""), {})
        tls = ("verify" if transport.get("tls_verify_hosts") else
               "encrypt" if transport.get("hosts_require_tls") else "may")
        host = list_items(route)[0] if list_items(route) else route
        port = transport.get("port", "25")
        return Outbound(route, "", int(port) if port.isdigit() else 25, None, tls, origin,
                        why=f"router {name} sends every other domain's mail to {host} (an Exim smarthost): the "
                            "harness does not stand in for one yet; pass the outbound requirements with a Postfix "
                            "configuration of the same relayhost, or judge this one by hand")
    return None

