"""What the nodes' logs say happened since the last reset: rejections, queued messages, deliveries, failed sessions,
bounces: the raw material of the verdict, as plain records (harness.evidence.records; the verdict links them, the
report draws them).

Reading them from a log is the MTA's own knowledge and lives in its package (`harness.mta.<kind>.evidence`). This
module is where the MTA-neutral core reads them: each function hands every event to the reader of the MTA whose
log it is (`LogEvent.mta`; a line of a node that runs no MTA goes to the default MTA's reader, which finds nothing
in it) and merges what the readers found in the order of the log. A world of Postfix and Exim nodes reads as one.

Import the names from here (`from harness import evidence`; `evidence.deliveries(...)`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from ..mta.readers import evidence_reader, queued_as
from ..smtp import Stage
from .events import LogEvent
from .records import (
    Delivery,
    Expiry,
    Hold,
    Notice,
    Outcome,
    QueueEntry,
    Rejection,
    SessionFailure,
    TlsSession,
    connection_use,
    is_final_failure,
    is_mailbox_delivery,
    original_recipient,
    split_host,
)

T = TypeVar("T")


def _groups(events: Sequence[LogEvent]) -> dict[str, list[LogEvent]]:
    out: dict[str, list[LogEvent]] = {}
    for e in events:
        out.setdefault(e.mta, []).append(e)
    return out


def _lists(name: str, events: Sequence[LogEvent], key: Callable[[Any], int], *args: Any) -> list[Any]:
    groups = _groups(events)
    if len(groups) <= 1:
        kind = next(iter(groups), "")
        return list(getattr(evidence_reader(kind), name)(events, *args))
    merged = [r for kind, evs in groups.items() for r in getattr(evidence_reader(kind), name)(evs, *args)]
    return sorted(merged, key=key)


def _dicts(name: str, events: Sequence[LogEvent], *args: Any) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    for kind, evs in _groups(events).items():
        out.update(getattr(evidence_reader(kind), name)(evs, *args))
    return out


def _seq(r: Any) -> int:
    return int(r.seq)


def rejections(events: Sequence[LogEvent], node: str | None = None) -> list[Rejection]:
    """Every refusal a server gave in the dialogue."""
    return _lists("rejections", events, _seq, node)


def deliveries(events: Sequence[LogEvent], node: str | None = None) -> list[Delivery]:
    """Every delivery attempt's outcome, with the next hop's reply and its stage, or how its session failed."""
    return _lists("deliveries", events, _seq, node)


def session_failures(events: Sequence[LogEvent], node: str | None = None) -> list[SessionFailure]:
    """Failed sessions a node's SMTP client logged on their own, each with the delivery it was part of."""
    return _lists("session_failures", events, _seq, node)


def notices(events: Sequence[LogEvent], node: str | None = None) -> list[Notice]:
    """Every DSN a node created for the sender of one of its messages."""
    return _lists("notices", events, _seq, node)


def postmaster_notices(events: Sequence[LogEvent], node: str | None = None) -> list[Notice]:
    """Copies of a notification a node sent to its postmaster, not to the sender."""
    return _lists("postmaster_notices", events, _seq, node)


def notice_events(events: Sequence[LogEvent], node: str | None = None) -> list[tuple[LogEvent, Notice]]:
    """Each DSN a node created (as `notices`) with the event that says so."""
    return _lists("notice_events", events, lambda p: int(p[0].seq), node)


def expirations(events: Sequence[LogEvent], node: str | None = None) -> list[Expiry]:
    """Every message a node gave up on because its time in the queue ran out."""
    return _lists("expirations", events, _seq, node)


def holds(events: Sequence[LogEvent], node: str | None = None) -> list[Hold]:
    """The messages a node set aside (Exim's frozen ones, Postfix's on hold) and has not released or removed since."""
    return _lists("holds", events, _seq, node)


def is_hold(e: LogEvent) -> bool:
    """The line sets a message aside (a frozen or held message: no delivery is tried until it is released)."""
    return bool(evidence_reader(e.mta).is_hold(e))


def queue_lives(events: Sequence[LogEvent]) -> list[LogEvent]:
    """The events with each queue id made unique per life of its queue file (an MTA that reuses ids renames the
    later lives: QID_2, QID_3...)."""
    return _lists("queue_lives", events, _seq)


def problems(events: Sequence[LogEvent]) -> list[str]:
    """What the servers said went wrong with themselves, once each."""
    return list(dict.fromkeys(p for kind, evs in _groups(events).items()
                              for p in evidence_reader(kind).problems(evs)))


def message_ids(events: Sequence[LogEvent]) -> dict[tuple[str, str], str]:
    """(node, queue id) -> Message-ID, for every message a node queued."""
    return _dicts("message_ids", events)


def senders(events: Sequence[LogEvent], node: str | None = None) -> dict[tuple[str, str], str]:
    """(node, queue id) -> envelope sender ("" for a DSN's null sender) of every message a node queued."""
    return _dicts("senders", events, node)


def queued(events: Sequence[LogEvent], node: str | None = None) -> list[str]:
    """Queue ids of the messages a node accepted into its queue."""
    return [qid for kind, evs in _groups(events).items() for qid in evidence_reader(kind).queued(evs, node)]


def removed(events: Sequence[LogEvent]) -> set[tuple[str, str]]:
    """(node, queue id) of every message removed from its queue (done with: delivered, bounced or deleted)."""
    return {k for kind, evs in _groups(events).items() for k in evidence_reader(kind).removed(evs)}


def is_removal(e: LogEvent) -> bool:
    """The node is done with a message: the line that says its queue file is gone."""
    return bool(evidence_reader(e.mta).is_removal(e))


def is_still_being_delivered(e: LogEvent) -> bool:
    """The node found a message still locked by a delivery of before and set it aside (the load run reschedules it)."""
    return bool(evidence_reader(e.mta).is_still_being_delivered(e))


def is_local_delivery(e: LogEvent, node: str, address: str) -> bool:
    """The line says `node` delivered a message into `address`'s mailbox."""
    return bool(evidence_reader(e.mta).is_local_delivery(e, node, address))


def logged_at(e: LogEvent) -> float | None:
    """When the node wrote the line, from its own time stamp, as a Unix time; None for a line without one."""
    at = evidence_reader(e.mta).logged_at(e)
    return None if at is None else float(at)


__all__ = [
    "Delivery", "Expiry", "Hold", "Notice", "Outcome", "Rejection", "SessionFailure", "Stage", "deliveries",
    "expirations",
    "holds", "is_hold", "is_local_delivery", "is_removal", "message_ids", "notices", "problems", "queued",
    "postmaster_notices",
    "queued_as", "rejections", "removed", "session_failures", "split_host", "TlsSession",
    # accounting for every recipient (harness.loadgen)
    "QueueEntry", "is_final_failure", "is_mailbox_delivery", "notice_events", "original_recipient",
    "senders", "is_still_being_delivered", "connection_use", "queue_lives", "logged_at",
]
