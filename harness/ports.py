"""The narrow doors between a running world and what reads it: the verdict, the mailboxes and the report.

Each Protocol names exactly what one reader uses. `harness.world.MailTopology` satisfies them all structurally
(nothing here imports it), and so does any stand-in with the same members, such as the log-only worlds of the
project's own tests:

    EventSource    the topology's log events (harness.evidence.events.EventLog): mark, since, wait
    Logs           those events and the position of the last reset (`mark`)
    LogBarrier     sync_logs(): every node's log has arrived up to now
    NodeDirectory  a node by key (name, domain, host name, an address in its domain), all of them, and how
                   messages name them (display_names)
    Mailboxes      a user's mailbox, to read its messages
    Submission     a message the harness submitted (harness.world.Sent)

    StoryWorld     what harness.verdict.gather reads: Logs, LogBarrier, NodeDirectory, Mailboxes
    TlsPolicies    what it reads besides where the world has it: whether a node's client had to use TLS
    (SentWorld, a StoryWorld that keeps the stories for the report, is in harness.verdict, beside Story)
    MailStore      what harness.mail.Mailbox reads: Logs and NodeDirectory (and where it notes the DSNs it hands out)
"""

from __future__ import annotations

from collections.abc import Mapping
from email.message import EmailMessage
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from .dsn import OriginalEnvelope
    from .evidence.events import LogEvent, Predicate
    from .smtp import Envelope, Transcript


class EventSource(Protocol):
    """All nodes' log events in arrival order (harness.evidence.events.EventLog)."""

    def mark(self) -> int: ...

    def since(self, mark: int = 0, node: str | None = None) -> list[LogEvent]: ...

    def wait(self, predicate: Predicate, *, timeout: float, since: int = 0, what: str = "an event",
             hint: str = "") -> LogEvent:
        """The first event at or after `since` that matches; harness.evidence.events.MailTimeout after `timeout`."""
        ...


class Logs(Protocol):
    """The events, and where the current test's part of them starts (the last reset)."""

    @property
    def events(self) -> EventSource: ...

    @property
    def mark(self) -> int: ...


class LogBarrier(Protocol):
    def sync_logs(self, timeout: float = 10.0) -> None:
        """Return once every node's log has arrived up to now."""
        ...


class NodeView(Protocol):
    """What a reader may know of a node."""

    @property
    def name(self) -> str: ...

    @property
    def kind(self) -> str: ...  # postfix, exim, mock

    @property
    def hostname(self) -> str: ...

    @property
    def ip(self) -> str: ...

    @property
    def domain(self) -> str: ...

    @property
    def enhanced_status_codes(self) -> bool:
        """Whether its SMTP server gives enhanced status codes (RFC 2034: advertised as ENHANCEDSTATUSCODES)."""
        ...


class NodeDirectory(Protocol):
    def node(self, key: str) -> NodeView:
        """A node by name, domain, host name, or an address in its domain; KeyError if there is none."""
        ...

    @property
    def nodes(self) -> Mapping[str, NodeView]:
        """Every node that handles mail, by name, in the topology's order."""
        ...

    @property
    def display_names(self) -> Mapping[str, str]:
        """How messages and reports name the nodes a user knows by another name: node name -> that name (a node
        running the user's own configuration: its host name). Every other node goes by its node name."""
        ...


class MailboxReader(Protocol):
    def messages(self) -> list[EmailMessage]: ...

    def raw_messages(self) -> list[bytes]:
        """The messages as delivered, byte for byte (what --mailharness-keep-dsns keeps)."""
        ...


class Mailboxes(Protocol):
    def mailbox(self, address: str) -> MailboxReader: ...


class Submission(Protocol):
    """A message the harness submitted (harness.world.Sent)."""

    @property
    def envelope(self) -> Envelope: ...

    @property
    def transcript(self) -> Transcript: ...

    @property
    def message(self) -> EmailMessage: ...

    @property
    def via(self) -> str: ...  # the node it was submitted to

    def original_envelope(self) -> OriginalEnvelope: ...


class StoryWorld(Logs, LogBarrier, NodeDirectory, Mailboxes, Protocol):
    """What the verdict reads to gather a message's story."""


@runtime_checkable
class TlsPolicies(Protocol):
    """What a world may also say for the story (a log-only world need not): whether a node's client had to use TLS."""

    def tls_required(self, node: str, peer: str, seq: int) -> str:
        """Why `node`'s SMTP client had to use TLS with `peer` for what it logged at `seq` (its policy then); ""
        when it did not, or the world cannot tell."""
        ...


class MailStore(Logs, NodeDirectory, Protocol):
    """What a Mailbox reads: the node holding it, and the log events to wait on; and where it notes the DSNs it
    handed to the test (for --mailharness-keep-dsns)."""

    dsns_seen: list[tuple[str, str, EmailMessage]]
    """(mailbox address, Message-ID, message) of each DSN `Mailbox.wait_for_dsn` returned since the last reset."""
