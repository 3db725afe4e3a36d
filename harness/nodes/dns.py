"""dnsmasq serving the topology's A, PTR and MX records (and, later, its DNS faults)."""

from __future__ import annotations

from collections.abc import Iterable

from ..events import EventLog
from .base import Node


def dnsmasq_conf(records: Iterable[tuple[str, str, str]]) -> str:
    """records: (domain, mx host name, ip). Only these names exist; everything else is NXDOMAIN or refused."""
    lines = ["no-resolv", "no-hosts", "bogus-priv", "log-queries", "domain-needed"]
    for domain, host, ip in records:
        lines += [f"local=/{domain}/", f"host-record={host},{ip}", f"mx-host={domain},{host},10"]
    return "\n".join(lines) + "\n"


class DnsNode(Node):
    kind = "dns"

    def __init__(self, image: str, ip: str, network: str, topology_id: str, events: EventLog,
                 records: list[tuple[str, str, str]]):
        super().__init__("dns", "ns.mailharness.test", image, ip, network, topology_id, None, events)
        self.records = records
        self.container.with_copy_into_container(dnsmasq_conf(records).encode(), "/etc/mailharness/dnsmasq.conf")

    def wait_ready(self, timeout: float, since: int) -> None:
        self.wait_log("started, version", timeout, since, "dnsmasq up")
