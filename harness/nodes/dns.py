"""dnsmasq serving the topology's A, PTR and MX records (and, later, its DNS faults)."""

from __future__ import annotations

from collections.abc import Iterable

from ..events import EventLog
from .base import Node


def dnsmasq_options(records: Iterable[tuple[str, str, str]]) -> list[str]:
    """records: (domain, mx host name, ip). Only these names exist; everything else is NXDOMAIN or refused.
    Given as command-line options (one API call less than copying a file in before the start)."""
    opts = ["--no-resolv", "--no-hosts", "--bogus-priv", "--log-queries", "--domain-needed"]
    for domain, host, ip in records:
        opts += [f"--local=/{domain}/", f"--host-record={host},{ip}", f"--mx-host={domain},{host},10"]
    return opts


class DnsNode(Node):
    kind = "dns"

    def __init__(self, image: str, ip: str, network: str, topology_id: str, events: EventLog,
                 records: list[tuple[str, str, str]]):
        super().__init__("dns", "ns.mailharness.test", image, ip, network, topology_id, None, events)
        self.records = records
        self.container.with_command(dnsmasq_options(records))

    def wait_ready(self, timeout: float, since: int) -> None:
        self.wait_log("started, version", timeout, since, "dnsmasq up")
