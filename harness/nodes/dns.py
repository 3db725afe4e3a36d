"""The topology's DNS server: the A, PTR and MX records of the topology's names, and its DNS faults.

The node runs containers/dns/zone.py, which answers from a table (`zone_table`) and reads it again when the file
changes: a DNS fault is one file written in the running node, not a new container. Every name outside the
topology is NXDOMAIN at once (nothing is forwarded), so DNSBL, SPF or any other look-up costs no time-out.

Beside it runs the man in the middle of StripStartTLS (containers/dns/mitm.py), on the node's own address: the
answer "mitm" for a server's host name gives that address instead of the server's, and the man in the middle,
told where each port goes (`mitm_routes`), relays every session to the server with STARTTLS taken out.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Mapping
from typing import Any

import dns.message
import dns.query
import dns.rdatatype
import dns.reversename

from ..faults import FaultError
from .base import Node, Placement

TABLE = "/run/mailharness/zone.json"
MITM_ROUTES = "/run/mailharness/mitm.json"
MITM_ACK = "/run/mailharness/mitm.ack"
MITM_PID = "/run/mailharness/mitm.pid"
MITM = "mitm"  # the answer that points a host name at the man in the middle (harness.faults.StripStartTLS)


class MitmError(FaultError):
    """StripStartTLS cannot be carried out: the man in the middle cannot sit where the faults ask (two servers on
    one port: it has one address), or did not take its routes (its own words follow)."""


def _reverse(ip: str) -> str:
    return ipaddress.ip_address(ip).reverse_pointer


def zone_table(records: Iterable[tuple[str, str, str]], faults: Mapping[str, str] | None = None,
               dead_ip: str = "", mitm_ip: str = "") -> dict[str, Any]:
    """records: (domain, mx host name, ip); a record with no domain is an address record only.
    faults: domain -> nxdomain | servfail | no_mx | null_mx | dead_mx (see harness.faults.Dns); host name -> mitm
    (its address record gives `mitm_ip`, the man in the middle's: harness.faults.StripStartTLS).
    Only these names exist; everything else is NXDOMAIN."""
    faults = faults or {}
    a: dict[str, str] = {}
    mx: dict[str, list[list[Any]]] = {}
    ptr: dict[str, str] = {}
    servfail: list[str] = []

    def host(name: str, ip: str) -> None:
        if name not in a:  # a node that is the MX of several domains has one address record
            a[name] = ip
            ptr.setdefault(_reverse(ip), name)

    for domain, hostname, ip in records:
        if not domain:
            host(hostname, ip)
            continue
        kind = faults.get(domain, "")
        if kind == "servfail":  # the domain and every name under it
            servfail.append(domain)
            continue
        if kind == "nxdomain":  # neither the domain nor its MX host exist
            continue
        host(hostname, ip)
        if kind == "no_mx":  # RFC 5321 s5.1: the domain's own A record is the implicit MX
            a[domain] = ip
        elif kind == "null_mx":  # RFC 7505: "MX 0 ." (preference 0, the root name)
            mx[domain] = [[0, "."]]
        elif kind == "dead_mx":  # an MX whose address no host answers
            mx[domain] = [[10, f"dead.{domain}"]]
            a[f"dead.{domain}"] = dead_ip
        else:
            mx[domain] = [[10, hostname]]
    # A name a fault took away is gone, even when another domain's record added it (nxdomain under its domain).
    gone = [d for d, k in faults.items() if k == "nxdomain"]
    for name in [n for n in a if any(n == d or n.endswith("." + d) for d in gone)]:
        ptr = {r: h for r, h in ptr.items() if h != name}
        del a[name]
    for name in [n for n, k in faults.items() if k == MITM and n in a and mitm_ip]:
        a[name] = mitm_ip  # its PTR stays: the server's own address still names it
    return {"a": a, "mx": mx, "ptr": ptr, "servfail": sorted(servfail)}


def mitm_routes(records: Iterable[tuple[str, str, str]], faults: Mapping[str, str],
                ports: Mapping[str, tuple[int, ...]]) -> dict[int, str]:
    """Where the man in the middle sends each port it listens on (port -> "address:port"): for every host name the
    faults point at it, the ports its server listens on (`ports`: host name -> ports; 25 when not given).
    MitmError when two servers share a port: the man in the middle has one address."""
    address = {host: ip for _, host, ip in records}
    routes: dict[int, str] = {}
    owner: dict[int, str] = {}
    for host in sorted(n for n, k in faults.items() if k == MITM):
        if host not in address:
            raise MitmError(f"no server of the topology has the host name {host!r}: nothing to sit in front of")
        for port in ports.get(host, (25,)):
            if port in owner and owner[port] != host:
                raise MitmError(f"StripStartTLS on {owner[port]} and {host}: both listen on port {port}, and the man "
                                "in the middle has one address (it cannot tell their clients apart); strip one at a "
                                "time")
            owner[port] = host
            routes[port] = f"{address[host]}:{port}"
    return routes


class DnsNode(Node):
    kind = "dns"

    def __init__(self, image: str, placement: Placement, records: list[tuple[str, str, str]], dead_ip: str = "",
                 ports: Mapping[str, tuple[int, ...]] | None = None):
        super().__init__("dns", "ns.mailharness.test", image, placement)
        self.records, self.dead_ip = records, dead_ip
        self.ports = dict(ports or {})  # host name -> the ports its server listens on (the man in the middle's)
        self.faults: dict[str, str] = {}
        self.routes: dict[int, str] = {}  # where the man in the middle sends each port now
        self._serial = 0
        self.container.with_command([json.dumps(zone_table(records, {}, dead_ip))])

    def wait_started(self, timeout: float, since: int) -> None:
        self.wait_log("started, version", timeout, since, "DNS server up")

    def set_faults(self, faults: Mapping[str, str]) -> None:
        """Answer with `faults` (domain -> kind, host name -> "mitm") from the next query on; {} heals. The table is
        replaced whole (a rename), so no query ever sees half of it. The man in the middle is waited for as it
        takes its routes: a host name never points at it before it listens for that server, and it stops listening
        (its open sessions cut) once the name points at the server again."""
        if dict(faults) == self.faults:
            return
        routes = mitm_routes(self.records, faults, self.ports)
        table = zone_table(self.records, faults, self.dead_ip, mitm_ip=self.ip)
        new = any(self.routes.get(p) != t for p, t in routes.items())
        if new:  # it listens before any name points at it
            self._route(routes)
        self.put_file(TABLE, json.dumps(table).encode())
        if routes != self.routes:  # the names point elsewhere before it stops listening
            self._route(routes)
        self.faults = dict(faults)

    def _route(self, routes: dict[int, str]) -> None:
        """Give the man in the middle its routes, and wait (5 s at most) until it says it took them."""
        self._serial += 1
        data = json.dumps({"serial": self._serial, "routes": {str(p): t for p, t in sorted(routes.items())}})
        # It writes its first acknowledgement once its SIGHUP handler is in place: signalling it before would end it.
        script = (f"i=0; while [ ! -s {MITM_ACK} ] && [ $i -lt 250 ]; do sleep 0.02; i=$((i+1)); done; "
                  f"kill -HUP $(cat {MITM_PID}) || exit 3; i=0; "
                  f"while ! grep -q '^{self._serial} ' {MITM_ACK} 2>/dev/null && [ $i -lt 250 ]; do sleep 0.02; "
                  f"i=$((i+1)); done; cat {MITM_ACK}")
        self.put_file(MITM_ROUTES, data.encode())
        said = self.exec(["sh", "-c", script], check=False).decode("utf-8", "replace").strip()
        if not said.startswith(f"{self._serial} ok"):
            raise MitmError(f"the man in the middle did not take its routes {routes or '(none)'} within 5 s: "
                            f"{said or 'no answer'}; its log: " + " | ".join(self.log_lines()[-5:]))
        self.routes = dict(routes)

    def query(self, name: str, rdtype: str = "A", *, timeout: float = 3.0) -> dns.message.Message:
        """Ask this server one question from the test process (over TCP, on the topology's access path: directly
        or through its gateway) and return the whole answer: `.rcode()`, `.answer`. A PTR question takes an
        address ("10.1.2.10") as its name."""
        qname = dns.reversename.from_address(name) if rdtype.upper() == "PTR" and name[:1].isdigit() else name
        q = dns.message.make_query(qname, dns.rdatatype.from_text(rdtype))
        with self.connect(53, timeout) as sock:
            return dns.query.tcp(q, self.ip, timeout=timeout, sock=sock)
