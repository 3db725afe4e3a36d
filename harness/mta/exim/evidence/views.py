"""What a whole Exim log says: the records of .lines gathered over the events of Exim nodes (the functions
harness.evidence dispatches an Exim node's events to). Exim never reuses a message id, so a queue id is one life."""

from __future__ import annotations

from collections.abc import Sequence

from ....evidence.events import LogEvent
from ....evidence.records import Delivery, Expiry, Notice, Rejection, SessionFailure
from .lines import is_problem, is_removal, read_arrival, read_delivery, read_expiry, read_notice, read_rejection


def _of(events: Sequence[LogEvent], node: str | None) -> list[LogEvent]:
    return [e for e in events if node is None or e.node == node]


def rejections(events: Sequence[LogEvent], node: str | None = None) -> list[Rejection]:
    return [r for e in _of(events, node) if (r := read_rejection(e)) is not None]


def deliveries(events: Sequence[LogEvent], node: str | None = None) -> list[Delivery]:
    return [d for e in _of(events, node) if (d := read_delivery(e)) is not None]


def session_failures(events: Sequence[LogEvent], node: str | None = None) -> list[SessionFailure]:
    """Exim logs a failed session on the deferral or failure of each address it was for (Delivery.failure)."""
    return [d.failure for d in deliveries(events, node) if d.failure is not None]


def notices(events: Sequence[LogEvent], node: str | None = None) -> list[Notice]:
    return [n for e in _of(events, node) if (n := read_notice(e)) is not None]


def postmaster_notices(events: Sequence[LogEvent], node: str | None = None) -> list[Notice]:
    """Exim sends no separate copy of a bounce to its postmaster unless configured to (errors_copy)."""
    return []


def notice_events(events: Sequence[LogEvent], node: str | None = None) -> list[tuple[LogEvent, Notice]]:
    return [(e, n) for e in _of(events, node) if (n := read_notice(e)) is not None]


def expirations(events: Sequence[LogEvent], node: str | None = None) -> list[Expiry]:
    return [x for e in _of(events, node) if (x := read_expiry(e)) is not None]


def message_ids(events: Sequence[LogEvent]) -> dict[tuple[str, str], str]:
    """(node, message id) -> Message-ID (in angle brackets) of every message an Exim node took in."""
    return {(e.node, e.queue_id or ""): a[1] for e in events if (a := read_arrival(e)) is not None and a[1]}


def senders(events: Sequence[LogEvent], node: str | None = None) -> dict[tuple[str, str], str]:
    return {(e.node, e.queue_id or ""): a[0] for e in _of(events, node) if (a := read_arrival(e)) is not None}


def queued(events: Sequence[LogEvent], node: str | None = None) -> list[str]:
    return [qid for (n, qid) in message_ids(events) if node is None or n == node]


def removed(events: Sequence[LogEvent]) -> set[tuple[str, str]]:
    return {(e.node, e.queue_id or "") for e in events if is_removal(e)}


def problems(events: Sequence[LogEvent]) -> list[str]:
    return list(dict.fromkeys(f"[{e.node}] {e.program}: {e.text}" for e in events if is_problem(e)))


def queue_lives(events: Sequence[LogEvent]) -> list[LogEvent]:
    return list(events)
