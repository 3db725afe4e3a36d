"""pytest-mailharness: real mail servers in Docker, injected failures, and verdicts on who bounced what.

The public API is what this module names; everything else is internal.
"""

from .dsn import DSN, DsnEnvelope, Finding, NotADSN, OriginalEnvelope, assert_dsn, parse_dsn, validate
from .engine.docker import EngineUnavailable
from .events import LogEvent, MailTimeout
from .faults import (
    AcceptUnknownUsers,
    DiskFull,
    Dns,
    Down,
    Fault,
    Forward,
    MailboxFull,
    QueueFull,
    QueueLifetime,
    Refuse,
    SizeLimit,
    Tarpit,
    UnknownUser,
    Unreachable,
)
from .mail import Mailbox, is_dsn, make_message
from .smtp import Envelope, Recipient, Reply, Transcript
from .topology import NodeSpec, TopologySpec, default_topology, topology_with_mock_next_hop
from .verdict import Story, VerdictError
from .world import MailTopology, Sent

__all__ = [
    "AcceptUnknownUsers",
    "DiskFull",
    "Dns",
    "Down",
    "Fault",
    "Forward",
    "MailboxFull",
    "QueueFull",
    "QueueLifetime",
    "Refuse",
    "SizeLimit",
    "Story",
    "Tarpit",
    "UnknownUser",
    "Unreachable",
    "VerdictError",
    "topology_with_mock_next_hop",
    "DSN",
    "DsnEnvelope",
    "Finding",
    "NotADSN",
    "OriginalEnvelope",
    "assert_dsn",
    "parse_dsn",
    "validate",
    "EngineUnavailable",
    "Envelope",
    "LogEvent",
    "MailTimeout",
    "MailTopology",
    "Mailbox",
    "NodeSpec",
    "Recipient",
    "Reply",
    "Sent",
    "TopologySpec",
    "Transcript",
    "default_topology",
    "is_dsn",
    "make_message",
]
