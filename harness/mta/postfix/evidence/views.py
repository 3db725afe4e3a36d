"""What a whole log says: the records of harness.evidence.lines gathered over the nodes' events (for one node or
all), and the views that link lines to each other: a failed session to the delivery it was part of, each life of
a reused queue id, every Message-ID and sender by (node, queue id); and what `postqueue -j` lists as still queued.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ....evidence.events import LogEvent
from ....evidence.records import Hold, QueueEntry, TlsSession, split_host, still_held
from .lines import (
    Delivery,
    Expiry,
    Notice,
    Rejection,
    SessionFailure,
    created_notice,
    is_message_id_line,
    is_problem,
    is_release,
    is_removal,
    opens_queue_file,
    process_of,
    read_delivery,
    read_expiry,
    read_hold,
    read_message_id,
    read_notice,
    read_rejection,
    read_sender,
    read_session_failure,
    read_tls,
    read_tls_problem,
)


def rejections(events: Sequence[LogEvent], node: str | None = None) -> list[Rejection]:
    return [r for e in events if (node is None or e.node == node) and (r := read_rejection(e)) is not None]


def message_ids(events: Sequence[LogEvent]) -> dict[tuple[str, str], str]:
    """(node, queue id) -> Message-ID, for every message a node queued (cleanup logs `message-id=<...>`)."""
    return {(e.node, e.queue_id): mid for e in events if e.queue_id and (mid := read_message_id(e)) is not None}


def queued(events: Sequence[LogEvent], node: str | None = None) -> list[str]:
    """Queue ids of messages the node accepted into its queue (cleanup logged a message-id)."""
    return [qid for (n, qid) in message_ids(events) if node is None or n == node]


def deliveries(events: Sequence[LogEvent], node: str | None = None) -> list[Delivery]:
    """Every delivery attempt's outcome, with the next hop's reply and its stage, or how its session failed, and
    the TLS session it went over: the SMTP client logs the session (and why the certificate did not verify) on lines
    of its own just before the delivery lines of the same process, which are those of one queue id."""
    out: list[Delivery] = []
    tls: dict[tuple[str, str, str], tuple[str, TlsSession]] = {}  # process -> its last session, not yet used
    problem: dict[tuple[str, str, str], tuple[str, str]] = {}
    bound: dict[tuple[str, str, str], tuple[str, TlsSession]] = {}  # process -> (queue id, the session it used)
    for e in events:
        if node is not None and e.node != node:
            continue
        proc = process_of(e)
        if (p := read_tls_problem(e)) is not None:
            problem[proc] = p
        elif (t := read_tls(e)) is not None:
            server, session = t
            why = problem.pop(proc, None)
            if why is not None and why[0] == server and not session.verified:
                session = replace(session, problem=why[1])
            tls[proc] = (server, session)
        elif (d := read_delivery(e)) is not None:
            if proc in tls:
                server, session = tls.pop(proc)
                bound[proc] = (d.queue_id, session) if split_host(server) == (d.host, d.address) else ("", session)
            b = bound.get(proc)
            out.append(replace(d, tls=b[1]) if b is not None and b[0] == d.queue_id and d.host else d)
    return out


def session_failures(events: Sequence[LogEvent], node: str | None = None) -> list[SessionFailure]:
    """Failed sessions the SMTP client logged on their own line ("connect to ...: Connection refused" before it
    tries the next server, or before its delivery line), each with the queue id of the delivery it was part of:
    the next queue id the same client process logged after it."""
    out: list[SessionFailure] = []
    waiting: dict[tuple[str, str, str], list[int]] = {}  # (node, program, pid) -> failures without a queue id
    for e in events:
        if node is not None and e.node != node:
            continue
        proc = process_of(e)
        if e.queue_id and e.queue_id != "NOQUEUE":
            for i in waiting.pop(proc, []):
                out[i] = replace(out[i], queue_id=e.queue_id)
        elif (f := read_session_failure(e)) is not None:
            waiting.setdefault(proc, []).append(len(out))
            out.append(f)
    return out


def notices(events: Sequence[LogEvent], node: str | None = None) -> list[Notice]:
    return [n for e in events if (node is None or e.node == node) and (n := read_notice(e)) is not None]


def postmaster_notices(events: Sequence[LogEvent], node: str | None = None) -> list[Notice]:
    """Copies of a notification the node sent to its postmaster (notify_classes), not to the sender."""
    return [n for e in events if (node is None or e.node == node)
            and (n := read_notice(e, postmaster=True)) is not None]


def notice_events(events: Sequence[LogEvent], node: str | None = None) -> list[tuple[LogEvent, Notice]]:
    """Each DSN a node created (as `notices`) with the event that says so: its place in the log and arrival time."""
    return [(e, n) for e in events for n in notices([e], node)]


def expirations(events: Sequence[LogEvent], node: str | None = None) -> list[Expiry]:
    return [x for e in events if (node is None or e.node == node) and (x := read_expiry(e)) is not None]


def removed(events: Sequence[LogEvent]) -> set[tuple[str, str]]:
    """(node, queue id) of every message removed from its queue."""
    return {(e.node, e.queue_id) for e in events if e.queue_id and is_removal(e)}


def problems(events: Sequence[LogEvent]) -> list[str]:
    """What the servers said went wrong with themselves (fatal, panic, error, warning lines), once each."""
    return list(dict.fromkeys(f"[{e.node}] {e.program}: {e.text}" for e in events if is_problem(e)))


def senders(events: Sequence[LogEvent], node: str | None = None) -> dict[tuple[str, str], str]:
    """(node, queue id) -> envelope sender ("" for a DSN's null sender) of every message the queue manager took
    in (`QID: from=<..>, size=.., nrcpt=.. (queue active)`)."""
    return {(e.node, e.queue_id): s for e in events
            if (node is None or e.node == node) and e.queue_id and (s := read_sender(e)) is not None}


def queue_lives(events: Sequence[LogEvent]) -> list[LogEvent]:
    """The events with each queue id made unique per life of its queue file. Postfix reuses a short queue id once
    its file is gone (the id is made of the file's inode number and the time's microseconds), so over a long log
    two messages on one node can share an id, and everything keyed by (node, queue id), `message_ids` first,
    would merge them. A new life starts at a message's first line: smtpd's `client=`, pickup's `uid=`, or a
    cleanup `message-id=` when the life so far already had one or was removed (a DSN and a forwarded copy start
    there); a line that starts nothing stays with the life before it, removed or not. The second and later
    lives of an id get a suffix: QID_2, QID_3... The same node's references to a queue file it
    just created are renamed with it ("sender non-delivery notification: QID"); references to another node's
    queue ("queued as QID") are left alone: link copies across nodes by Message-ID."""
    life: dict[tuple[str, str], int] = {}
    closed: set[tuple[str, str]] = set()
    named: set[tuple[str, str]] = set()  # lives whose cleanup line (message-id=) was seen

    def current(node: str, qid: str) -> str:
        n = life.get((node, qid), 1)
        return qid if n == 1 else f"{qid}_{n}"

    out: list[LogEvent] = []
    for e in events:
        qid = e.queue_id
        if not qid or qid == "NOQUEUE":
            out.append(e)
            continue
        key = (e.node, qid)
        cleanup = is_message_id_line(e)
        first = opens_queue_file(e) or (cleanup and (key in named or key in closed))
        if key in life and first:
            life[key] += 1
            closed.discard(key)
            named.discard(key)
        life.setdefault(key, 1)
        if cleanup:
            named.add(key)
        if is_removal(e):
            closed.add(key)
        text = e.text
        created = created_notice(e)
        if created:
            text = created[0] + current(e.node, created[1])
        renamed = current(e.node, qid)
        out.append(e if renamed == qid and text == e.text else replace(e, queue_id=renamed, text=text))
    return out


def queue_listing(text: str, node: str = "") -> list[QueueEntry]:
    """`postqueue -j` output (one JSON object per queued message; nothing when the queue is empty) as entries.
    A line Postfix writes instead (`postqueue: fatal: Queue report unavailable - mail system is down`) raises
    ValueError with its words: an empty list must mean an empty queue."""
    import json

    out = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            raise ValueError(f"{node or 'postqueue'}: not a queue listing: {line.strip()}") from None
        rcpts = obj.get("recipients") or []
        out.append(QueueEntry(node, str(obj.get("queue_id", "")), str(obj.get("queue_name", "")),
                              str(obj.get("sender", "")), tuple(str(r.get("address", "")) for r in rcpts),
                              tuple(str(r.get("delay_reason", "")) for r in rcpts)))
    return out


def holds(events: Sequence[LogEvent], node: str | None = None) -> list[Hold]:
    """The messages set aside and not released since (nor removed: a removal ends a hold as well)."""
    return still_held(events, node, read_hold, lambda e: is_release(e) or is_removal(e))
