"""The topology's DNS server: the A, PTR and MX records of the topology's names, and its DNS faults.

The node runs containers/dns/zone.py, which answers from a table (`zone_table`) and reads it again when the file
changes: a DNS fault is one file written in the running node, not a new container. Every name outside the
topology is NXDOMAIN at once (nothing is forwarded), so DNSBL, SPF or any other look-up costs no time-out.
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

from .base import Node, Placement

TABLE = "/run/mailharness/zone.json"


def _reverse(ip: str) -> str:
    return ipaddress.ip_address(ip).reverse_pointer


def zone_table(records: Iterable[tuple[str, str, str]], faults: Mapping[str, str] | None = None,
               dead_ip: str = "") -> dict[str, Any]:
    """records: (domain, mx host name, ip); a record with no domain is an address record only.
    faults: domain -> nxdomain | servfail | no_mx | null_mx | dead_mx (see harness.faults.Dns).
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
    return {"a": a, "mx": mx, "ptr": ptr, "servfail": sorted(servfail)}


class DnsNode(Node):
    kind = "dns"

    def __init__(self, image: str, placement: Placement, records: list[tuple[str, str, str]], dead_ip: str = ""):
        super().__init__("dns", "ns.mailharness.test", image, placement)
        self.records, self.dead_ip = records, dead_ip
        self.faults: dict[str, str] = {}
        self.container.with_command([json.dumps(zone_table(records, {}, dead_ip))])

    def wait_started(self, timeout: float, since: int) -> None:
        self.wait_log("started, version", timeout, since, "DNS server up")

    def set_faults(self, faults: Mapping[str, str]) -> None:
        """Answer with `faults` (domain -> kind) from the next query on; {} heals. The table is replaced whole
        (a rename), so no query ever sees half of it."""
        if dict(faults) == self.faults:
            return
        table = zone_table(self.records, faults, self.dead_ip)
        self.put_file(TABLE, json.dumps(table).encode())
        self.faults = dict(faults)

    def query(self, name: str, rdtype: str = "A", *, timeout: float = 3.0) -> dns.message.Message:
        """Ask this server one question from the test process (over TCP, on the topology's access path: directly
        or through its gateway) and return the whole answer: `.rcode()`, `.answer`. A PTR question takes an
        address ("10.1.2.10") as its name."""
        qname = dns.reversename.from_address(name) if rdtype.upper() == "PTR" and name[:1].isdigit() else name
        q = dns.message.make_query(qname, dns.rdatatype.from_text(rdtype))
        with self.connect(53, timeout) as sock:
            return dns.query.tcp(q, self.ip, timeout=timeout, sock=sock)
