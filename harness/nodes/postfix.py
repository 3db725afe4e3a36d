"""A real Postfix server (Debian bookworm's), configured from the topology at start."""

from __future__ import annotations

from ..events import EventLog
from ..topology import NodeSpec, TopologySpec
from .base import Node


class PostfixNode(Node):
    kind = "postfix"

    def __init__(self, spec: NodeSpec, topology: TopologySpec, image: str, ip: str, network: str, subnet: str,
                 topology_id: str, dns_ip: str, events: EventLog):
        super().__init__(spec.name, spec.hostname, image, ip, network, topology_id, dns_ip, events)
        self.spec = spec
        self.domain = spec.domain
        others = [n.domain for n in topology if n.domain != spec.domain]
        extra = "\n".join(f"{k} = {v}" for k, v in spec.main_cf.items())
        env = {
            "MH_HOSTNAME": spec.hostname,
            "MH_DOMAIN": spec.domain,
            "MH_USERS": " ".join(spec.mailboxes),
            "MH_ROUTES": " ".join(others),
            "MH_NETWORKS": subnet,
            "MH_MAIN_CF": extra,
            "MH_DNS": dns_ip,
        }
        for k, v in env.items():
            self.container.with_env(k, v)
        self.config_dirty = False

    def wait_ready(self, timeout: float, since: int) -> None:
        self.wait_log("daemon started", timeout, since, "postfix master listening")
        self.wait_banner(timeout)

    def reset(self) -> None:
        """Queue emptied, mailboxes cleared, configuration back to its baseline if a fault changed it."""
        self.exec(["/usr/local/bin/reset.sh", *(["--config"] if self.config_dirty else [])])
        self.config_dirty = False

    def postconf(self, settings: dict[str, str]) -> None:
        """Change main.cf parameters and reload; `reset()` restores the baseline."""
        self.config_dirty = True
        args = [f"{k}={v}" for k, v in settings.items()]
        self.exec(["sh", "-c", 'postconf -e "$@" && touch -d "-1 min" /etc/postfix/main.cf && postfix reload',
                   "postconf", *args])
