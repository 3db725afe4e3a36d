"""pytest-mailharness: real mail servers in Docker, injected failures, and verdicts on who bounced what.

The public API is what this module names; everything else is internal.
"""

from .dsn import DSN, DsnEnvelope, Finding, NotADSN, OriginalEnvelope, assert_dsn, parse_dsn, validate
from .engine.docker import EngineUnavailable
from .events import LogEvent, MailTimeout
from .mail import Mailbox, is_dsn, make_message
from .smtp import Envelope, Recipient, Reply, Transcript
from .topology import NodeSpec, TopologySpec, default_topology
from .world import MailTopology, Sent

__all__ = [
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
