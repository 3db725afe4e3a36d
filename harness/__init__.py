"""pytest-mailharness: real mail servers in Docker, injected failures, and verdicts on who bounced what.

The public API is what this module names; everything else is internal. Names are imported on first use, so
that `mailharness dsn-lint` (pure Python) does not pay for Docker's client, testcontainers and faker.
"""

# ruff: noqa: F401  (the TYPE_CHECKING imports exist for type checkers; __getattr__ serves them at run time)
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_WHERE = {
    # DSNs: parser, validator, assertions
    "DSN": "dsn", "DsnEnvelope": "dsn", "Finding": "dsn", "NotADSN": "dsn", "OriginalEnvelope": "dsn",
    "assert_dsn": "dsn", "parse_dsn": "dsn", "validate": "dsn",
    # the world and driving it
    "MailTopology": "world", "Sent": "world", "NodeSpec": "topology", "TopologySpec": "topology",
    "default_topology": "topology", "topology_with_mock_next_hop": "topology",
    "Envelope": "smtp", "Recipient": "smtp", "Reply": "smtp", "Transcript": "smtp", "Stage": "smtp",
    "UnknownStage": "smtp", "FaultApplier": "plugin", "FaultError": "faults",
    "Mailbox": "mail", "is_dsn": "mail", "make_message": "mail",
    "LogEvent": "evidence.events", "MailTimeout": "evidence.events", "EngineUnavailable": "engine.docker",
    "MailharnessError": "errors",
    # faults and the verdict
    "Fault": "faults", "AcceptUnknownUsers": "faults", "BareNewlineAccepted": "faults", "DiskFull": "faults",
    "Dns": "faults", "Down": "faults",
    "Forward": "faults", "MailboxFull": "faults", "QueueFull": "faults", "QueueLifetime": "faults",
    "Refuse": "faults", "SizeLimit": "faults", "Tarpit": "faults", "UnknownUser": "faults",
    "Unreachable": "faults", "TlsPolicy": "faults", "NoStartTLS": "faults", "BadCertificate": "faults",
    "StripStartTLS": "faults", "SaslLogin": "faults",
    "Story": "verdict", "VerdictError": "verdict",
    "assert_guarantees": "explore.guarantees",  # the guarantees `mailharness explore` checks
    # SMTP smuggling: the probe and its report
    "probe_smuggling": "smuggling", "SmugglingReport": "smuggling",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'harness' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # what type checkers and IDEs see
    from .dsn import DSN, DsnEnvelope, Finding, NotADSN, OriginalEnvelope, assert_dsn, parse_dsn, validate
    from .engine.docker import EngineUnavailable
    from .errors import MailharnessError
    from .evidence.events import LogEvent, MailTimeout
    from .explore.guarantees import assert_guarantees
    from .faults import (
        AcceptUnknownUsers,
        BadCertificate,
        BareNewlineAccepted,
        DiskFull,
        Dns,
        Down,
        Fault,
        FaultError,
        Forward,
        MailboxFull,
        NoStartTLS,
        QueueFull,
        QueueLifetime,
        Refuse,
        SaslLogin,
        SizeLimit,
        StripStartTLS,
        Tarpit,
        TlsPolicy,
        UnknownUser,
        Unreachable,
    )
    from .mail import Mailbox, is_dsn, make_message
    from .plugin import FaultApplier
    from .smtp import Envelope, Recipient, Reply, Stage, Transcript, UnknownStage
    from .smuggling import SmugglingReport, probe_smuggling
    from .topology import NodeSpec, TopologySpec, default_topology, topology_with_mock_next_hop
    from .verdict import Story, VerdictError
    from .world import MailTopology, Sent
