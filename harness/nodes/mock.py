"""The programmable mock SMTP server (harness.mock) in its own container."""

from __future__ import annotations

from ..events import EventLog
from ..topology import NodeSpec
from .base import Node


class MockNode(Node):
    kind = "mock"

    def __init__(self, spec: NodeSpec, image: str, ip: str, network: str, topology_id: str, dns_ip: str,
                 events: EventLog):
        super().__init__(spec.name, spec.hostname, image, ip, network, topology_id, dns_ip, events)
        self.spec = spec
        self.domain = spec.domain
        self.container.with_command(["--hostname", spec.hostname])

    def wait_ready(self, timeout: float, since: int) -> None:
        self.wait_banner(timeout)

    def reset(self) -> None:
        self.exec(["sh", "-c", "rm -rf /var/spool/mock/* /etc/mock/script.json"])
