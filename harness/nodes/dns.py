"""dnsmasq serving the topology's A, PTR and MX records (and, later, its DNS faults)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .base import Node, Placement


def dnsmasq_options(records: Iterable[tuple[str, str, str]], faults: Mapping[str, str] | None = None,
                    dead_ip: str = "") -> list[str]:
    """records: (domain, mx host name, ip). Only these names exist; everything else is NXDOMAIN.
    faults: domain -> nxdomain | servfail | no_mx | null_mx | dead_mx (see harness.faults.Dns).
    Given as command-line options (one API call less than copying a file in before the start)."""
    faults = faults or {}
    # --address=/#/: every name outside the topology is NXDOMAIN at once (DNSBL, SPF, DMARC look-ups of a
    # configuration never wait, and nothing is listed); a domain of the topology has a more specific rule.
    opts = ["--no-resolv", "--no-hosts", "--bogus-priv", "--log-queries", "--domain-needed", "--address=/#/"]
    hosts: set[str] = set()
    for domain, host, ip in records:
        if not domain:  # an address record only
            opts += [f"--host-record={host},{ip}"] if host not in hosts else []
            hosts.add(host)
            continue
        kind = faults.get(domain, "")
        if kind == "servfail":  # forwarded to the image's responder that answers SERVFAIL to everything
            opts += [f"--server=/{domain}/127.0.0.1#5353"]
            continue
        opts += [f"--local=/{domain}/"]
        if kind == "nxdomain":
            continue
        if host not in hosts:  # a node that is the MX of several domains has one address record
            hosts.add(host)
            opts += [f"--host-record={host},{ip}"]
        if kind == "no_mx":  # RFC 5321 s5.1: the domain's own A record is the implicit MX
            opts += [f"--host-record={domain},{ip}"]
        elif kind == "null_mx":  # RFC 7505: "MX 0 ." (preference 0, the root name)
            opts += [f"--dns-rr={domain},15,000000"]
        elif kind == "dead_mx":
            opts += [f"--mx-host={domain},dead.{domain},10", f"--host-record=dead.{domain},{dead_ip}"]
        else:
            opts += [f"--mx-host={domain},{host},10"]
    return opts


class DnsNode(Node):
    kind = "dns"

    def __init__(self, image: str, placement: Placement, records: list[tuple[str, str, str]],
                 faults: Mapping[str, str] | None = None, dead_ip: str = ""):
        super().__init__("dns", "ns.mailharness.test", image, placement)
        self.records, self.faults, self.dead_ip = records, dict(faults or {}), dead_ip
        self.container.with_command(dnsmasq_options(records, faults, dead_ip))

    def wait_started(self, timeout: float, since: int) -> None:
        self.wait_log("started, version", timeout, since, "dnsmasq up")
