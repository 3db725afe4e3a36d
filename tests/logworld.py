"""A world made of log lines only (no Docker), for the verdict's and the report's tests. It has exactly the members
the narrow doors of harness.ports name, so gather(), Story and the report records accept it as they accept a
MailTopology."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage

from harness.evidence.events import EventLog
from harness.mta.postfix.evidence.grammar import grammar
from harness.ports import MailboxReader
from harness.topology import TopologySpec, default_topology
from harness.verdict import Story


@dataclass(frozen=True)
class NodeInfo:
    name: str
    kind: str
    hostname: str
    ip: str
    domain: str
    enhanced_status_codes: bool = True


class EmptyMailbox:
    def messages(self) -> list[EmailMessage]:
        return []

    def raw_messages(self) -> list[bytes]:
        return []


class LogWorld:
    """The topology's nodes (from a spec, addresses 10.1.1.10, .11, ...), an event log fed with (node, line)
    pairs, no-op log barrier, empty mailboxes; `stories` as a MailTopology keeps them."""

    def __init__(self, lines: list[tuple[str, str]], spec: TopologySpec | None = None) -> None:
        self.spec = spec or default_topology()
        self.nodes: dict[str, NodeInfo] = {n.name: NodeInfo(n.name, n.kind, n.hostname, f"10.1.1.{10 + i}", n.domain)
                                           for i, n in enumerate(self.spec.nodes)}
        self.events = EventLog()
        for n in self.spec.nodes:  # every real node of these tests runs Postfix
            if n.kind == "postfix":
                self.events.grammars[n.name] = grammar
        self.mark = 0
        self.syncs = 0
        self.stories: list[Story] = []
        for node, line in lines:
            self.events.add(node, line)

    @property
    def display_names(self) -> dict[str, str]:
        return self.spec.display_names

    def node(self, key: str) -> NodeInfo:
        return self.nodes[self.spec.node(key).name]

    def sync_logs(self, timeout: float = 10.0) -> None:
        self.syncs += 1

    def mailbox(self, address: str) -> MailboxReader:
        return EmptyMailbox()
