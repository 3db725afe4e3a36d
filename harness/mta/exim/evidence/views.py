"""What a whole Exim log says: the records of .lines gathered over the events of Exim nodes (the functions
harness.evidence dispatches an Exim node's events to). Exim never reuses a message id, so a queue id is one life."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ....evidence.events import LogEvent
from ....evidence.records import Delivery, Expiry, Hold, Notice, Rejection, SessionFailure, still_held
from .lines import (
    is_problem,
    is_release,
    is_removal,
    read_arrival,
    read_delivery,
    read_expiry,
    read_hold,
    read_host_error,
    read_notice,
    read_rejection,
)


def _of(events: Sequence[LogEvent], node: str | None) -> list[LogEvent]:
    return [e for e in events if node is None or e.node == node]


def rejections(events: Sequence[LogEvent], node: str | None = None) -> list[Rejection]:
    return [r for e in _of(events, node) if (r := read_rejection(e)) is not None]


def deliveries(events: Sequence[LogEvent], node: str | None = None) -> list[Delivery]:
    """Every delivery attempt's outcome. A deferral or failure whose session failed without a reply names no host
    ("== jill@example.edu R=dnslookup T=remote_smtp defer (111): Connection refused"): the transport logged the
    host on the line before ("ID H=mx.example.edu [10.1.2.12]:25 Connection refused"), which it takes."""
    out: list[Delivery] = []
    last: dict[tuple[str, str], SessionFailure] = {}
    for e in _of(events, node):
        f = read_host_error(e)
        if f is not None:
            last[(e.node, f.queue_id)] = f
            continue
        d = read_delivery(e)
        if d is None:
            continue
        f = last.get((d.node, d.queue_id))
        if d.status != "sent" and not d.host and not d.address and f is not None and d.failure is not None:
            d = replace(d, host=f.host, address=f.address, relay=f"{f.host or 'unknown'}[{f.address}]",
                        failure=replace(d.failure, host=f.host, address=f.address))
        out.append(d)
    return out


def session_failures(events: Sequence[LogEvent], node: str | None = None) -> list[SessionFailure]:
    """The sessions with a next hop that failed without a reply, each on the transport's own line with its queue
    id (the deferral lines after them repeat the reason per address)."""
    return [f for e in _of(events, node) if (f := read_host_error(e)) is not None]


# What each address's last attempt makes of the DSN that follows it: the kind of Notice.
_KIND_OF = {"sent": "delivery", "bounced": "non-delivery", "deferred": "delay"}
# The order one delivery run writes its DSNs in (deliver.c: the success report, the bounce, then the warning), and,
# when fewer came than the outcomes allow, which is likeliest: a bounce (unless NOTIFY says otherwise, always), a
# warning (once delay_warning is due), a success report (only for NOTIFY=SUCCESS).
_RUN_ORDER = ("delivery", "non-delivery", "delay")
_LIKELIEST = ("non-delivery", "delay", "delivery")


def notices(events: Sequence[LogEvent], node: str | None = None) -> list[Notice]:
    """Every DSN an Exim node created. Exim logs a bounce, a "delayed" warning and a success report alike (an
    arrival from the null sender, R= naming the message it is about); which one each is follows from the last
    outcome of each address of that message since its previous DSN: failed (`**`) a bounce, deferred (`==`) a
    warning, delivered a success report (NOTIFY=SUCCESS). The DSNs one delivery run writes come after all its
    outcome lines, in the order of _RUN_ORDER."""
    outcomes: dict[tuple[str, str], dict[str, str]] = {}  # message -> address -> its last outcome since a DSN
    failed: set[tuple[str, str]] = set()
    groups: dict[tuple[str, str], list[Notice]] = {}  # message -> the DSNs of its last run, not yet told apart
    kinds: dict[int, str] = {}  # a DSN's seq -> its kind

    def tell(key: tuple[str, str]) -> None:
        group = groups.pop(key, [])
        if not group:
            return
        seen = {_KIND_OF[s] for s in outcomes.pop(key, {}).values()}
        chosen = [k for k in _LIKELIEST if k in seen][:len(group)]
        chosen += ["non-delivery" if key in failed else "delivery"] * (len(group) - len(chosen))
        for n, kind in zip(group, sorted(chosen, key=_RUN_ORDER.index), strict=True):
            kinds[n.seq] = kind

    for e in events:
        if e.mta != "exim":
            continue
        n = read_notice(e)
        if n is not None:
            groups.setdefault((n.node, n.queue_id), []).append(n)
            continue
        d = read_delivery(e)
        if d is not None:
            key = (d.node, d.queue_id)
            tell(key)  # a new run: the DSNs before it are told apart
            outcomes.setdefault(key, {})[d.recipient.lower()] = d.status
            if d.status == "bounced":
                failed.add(key)
    for key in list(groups):
        tell(key)
    return [replace(n, kind=kinds.get(n.seq, n.kind)) for e in _of(events, node)
            if (n := read_notice(e)) is not None]


def postmaster_notices(events: Sequence[LogEvent], node: str | None = None) -> list[Notice]:
    """Exim sends no separate copy of a bounce to its postmaster unless configured to (errors_copy)."""
    return []


def notice_events(events: Sequence[LogEvent], node: str | None = None) -> list[tuple[LogEvent, Notice]]:
    by_seq = {n.seq: n for n in notices(events, node)}
    return [(e, by_seq[e.seq]) for e in _of(events, node) if e.seq in by_seq]


def expirations(events: Sequence[LogEvent], node: str | None = None) -> list[Expiry]:
    return [x for e in _of(events, node) if (x := read_expiry(e)) is not None]


def message_ids(events: Sequence[LogEvent]) -> dict[tuple[str, str], str]:
    """(node, message id) -> Message-ID (in angle brackets) of every message an Exim node took in."""
    return {(e.node, e.queue_id or ""): a[1] for e in events if (a := read_arrival(e)) is not None and a[1]}


def senders(events: Sequence[LogEvent], node: str | None = None) -> dict[tuple[str, str], str]:
    return {(e.node, e.queue_id or ""): a[0] for e in _of(events, node) if (a := read_arrival(e)) is not None}


def queued(events: Sequence[LogEvent], node: str | None = None) -> list[str]:
    """The message ids of every message an Exim node took in (its bounces, which may carry no Message-ID, too)."""
    return [e.queue_id or "" for e in _of(events, node) if read_arrival(e) is not None]


def removed(events: Sequence[LogEvent]) -> set[tuple[str, str]]:
    return {(e.node, e.queue_id or "") for e in events if is_removal(e)}


def problems(events: Sequence[LogEvent]) -> list[str]:
    return list(dict.fromkeys(f"[{e.node}] {e.program}: {e.text}" for e in events if is_problem(e)))


def queue_lives(events: Sequence[LogEvent]) -> list[LogEvent]:
    return list(events)


def holds(events: Sequence[LogEvent], node: str | None = None) -> list[Hold]:
    """The messages set aside and not released since (nor removed: a removal ends a hold as well)."""
    return still_held(events, node, read_hold, lambda e: is_release(e) or is_removal(e))
