"""After the clients: wait until every queue is empty, then check the evidence itself.

- `wait_drained`: the queue of every MTA node (MtaNode.queue), polled with a deadline, until all are empty twice
  in a row (a DSN can be on its way from one node to another between two listings).
- `log_gaps`: the event pipeline lost nothing: every line Docker holds for a node, up to a token written to its
  log now, was followed into the EventLog (the accounting reads only the EventLog).
- `mailbox_census`: what the mailboxes hold (the first Message-ID of each Maildir file and of each message of an
  mbox file; `mailbox_files` says where each one is), to compare with the deliveries the logs report: a message
  in a mailbox that no log line delivered means a log line was lost before it reached the harness (by Postfix,
  or by Docker). The SMTP smuggling probe (harness.smuggling) looks for a smuggled message with it.
"""

from __future__ import annotations

import functools
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .. import evidence
from ..evidence import QueueEntry
from ..evidence.events import SYNC_PROGRAM, LogEvent
from ..mta.base import MtaNode
from ..nodes.base import in_parallel

if TYPE_CHECKING:
    from ..world import MailTopology

MailboxKey = tuple[str, str, str]  # (node, user, Message-ID)

# Prints "FILE<TAB>MESSAGE-ID" for the first Message-ID in the header of each Maildir file, and of each message in an
# mbox file (a "From " line starts one). A header folded after the colon is read from its next line.
_CENSUS_AWK = r"""
FNR == 1 { h = 1; mbox = (FILENAME ~ /\/mh-mbox\//) }
mbox && /^From / { h = 1; next }
h == 1 && tolower(substr($0, 1, 11)) == "message-id:" {
    v = substr($0, 12); gsub(/[ \t\r]/, "", v)
    if (v == "" && (getline nxt) > 0) { v = nxt; gsub(/[ \t\r]/, "", v) }
    print FILENAME "\t" v; h = 2; next
}
/^\r?$/ { h = 0 }
"""
_CENSUS = "p=$1; shift; find \"$@\" -type f ! -name '.mh-fill*' -print0 2>/dev/null | xargs -0 -r awk \"$p\""


@dataclass(frozen=True)
class Drain:
    seconds: float
    left: list[QueueEntry]  # what was still queued at the deadline (empty: every queue drained)
    woken: list[QueueEntry] = field(default_factory=list)  # stranded in incoming: the queue manager was woken


def queues(nodes: Sequence[MtaNode]) -> list[QueueEntry]:
    """Every message still queued on these nodes (each at once)."""
    return [q for listing in in_parallel([n.queue for n in nodes]) for q in listing]


def wait_drained(nodes: Sequence[MtaNode], timeout: float, interval: float = 0.5,
                 wake_after: float = 5.0) -> Drain:
    """Poll until every queue is empty (twice in a row), or the deadline. A message that stays in the incoming
    queue for `wake_after` seconds is stranded: the queue manager found it still locked by a delivery agent (after
    a reload, an agent of the old queue manager: harness.evidence.is_still_being_delivered) and parked it with its
    time stamp 60 s ahead, and once traffic stops nothing scans the incoming queue again. The node's queue
    manager is woken (`postqueue -f`, as new mail would) and the message is reported in `Drain.woken`."""
    by_name = {n.name: n for n in nodes}
    t0 = time.monotonic()
    deadline = t0 + timeout
    empty_rounds = 0
    first_seen: dict[tuple[str, str], float] = {}
    woken: list[QueueEntry] = []
    while True:
        left = queues(nodes)
        now = time.monotonic()
        incoming = {(q.node, q.queue_id): q for q in left if q.queue_name == "incoming"}
        first_seen = {k: first_seen.get(k, now) for k in incoming}
        done = {(q.node, q.queue_id) for q in woken}
        stuck = [q for k, q in incoming.items() if now - first_seen[k] >= wake_after and k not in done]
        for name in sorted({q.node for q in stuck}):
            by_name[name].flush_queue()
        woken += stuck
        empty_rounds = 0 if left else empty_rounds + 1
        if empty_rounds >= 2:
            return Drain(now - t0, [], woken)
        if now >= deadline:
            return Drain(now - t0, left, woken)
        time.sleep(interval)


def mta_nodes(world: MailTopology) -> list[MtaNode]:
    return [n for n in world.nodes.values() if isinstance(n, MtaNode) and n.alive]


def log_gaps(world: MailTopology, timeout: float = 30.0) -> dict[str, tuple[int, int]]:
    """node -> (lines Docker holds, lines the EventLog followed), up to a token logged now, for every node whose
    counts differ (empty: nothing was lost between Docker and the harness)."""
    from ..engine.docker import client

    token = f"census-{uuid.uuid4().hex[:12]}"
    nodes = mta_nodes(world)
    mark = world.events.mark()
    in_parallel([functools.partial(n.exec, n.sync_command(token), check=False) for n in nodes])
    gaps: dict[str, tuple[int, int]] = {}
    for n in nodes:
        def is_token(e: LogEvent, name: str = n.name) -> bool:
            return e.node == name and e.program == SYNC_PROGRAM and e.text == token

        world.events.wait(is_token, timeout=timeout, since=mark, what=f"{n.name}'s log to catch up")
        followed = world.events.since(0, node=n.name)
        upto = next(i for i, e in enumerate(followed) if is_token(e)) + 1
        raw: bytes = client().api.logs(n.id, stdout=True, stderr=True)
        lines = [ln for ln in raw.split(b"\n") if ln.rstrip(b"\r")]
        held = next((i for i, ln in enumerate(lines) if token.encode() in ln), len(lines) - 1) + 1
        if held != upto:
            gaps[n.name] = (held, upto)
    return gaps


@dataclass(frozen=True)
class MailboxFile:
    """One message in a mailbox: the node, the user whose mailbox holds it, its first Message-ID ("" for none) and
    the file (a Maildir file, or the mbox file that holds it among others)."""

    node: str
    user: str
    message_id: str
    path: str


def mailbox_files(nodes: Sequence[MtaNode]) -> list[MailboxFile]:
    """Every message in the mailboxes of these nodes (the harness's mail layout: under each of the node's
    mailbox_roots, a Maildir folder or an mbox file named after the user), read in one command per node."""
    out: list[MailboxFile] = []
    raws = in_parallel([functools.partial(n.exec, ["sh", "-c", _CENSUS, "census", _CENSUS_AWK, *n.mailbox_roots],
                                          check=False) for n in nodes])
    for n, raw in zip(nodes, raws, strict=True):
        roots = sorted(n.mailbox_roots, key=len, reverse=True)
        for line in raw.decode("utf-8", "replace").splitlines():
            path, _, mid = line.partition("\t")
            root = next((r for r in roots if path.startswith(r.rstrip("/") + "/")), None)
            if root is None:
                continue
            user = path[len(root.rstrip("/")) + 1:].split("/")[0]
            out.append(MailboxFile(n.name, user, mid, path))
    return out


def mailbox_census(nodes: Sequence[MtaNode]) -> Counter[MailboxKey]:
    """(node, user, Message-ID) -> copies in that user's mailbox, on these nodes (see mailbox_files)."""
    return Counter((f.node, f.user, f.message_id) for f in mailbox_files(nodes))


def logged_mailboxes(events: Sequence[LogEvent], nodes: Sequence[str], delimiter: str = "+") -> Counter[MailboxKey]:
    """(node, user, Message-ID) -> mailbox deliveries the logs report on these nodes (the user is the recipient's
    local part without its extension)."""
    events = evidence.queue_lives(events)
    mids = evidence.message_ids(events)
    out: Counter[MailboxKey] = Counter()
    for d in evidence.deliveries(events):
        if d.node in nodes and evidence.is_mailbox_delivery(d):
            user = d.recipient.partition("@")[0].partition(delimiter)[0].lower()
            out[(d.node, user, mids.get((d.node, d.queue_id), ""))] += 1
    return out


def census_mismatches(in_mailboxes: Counter[MailboxKey], in_logs: Counter[MailboxKey]) -> list[str]:
    out = []
    for key in sorted(set(in_mailboxes) | set(in_logs)):
        held, logged = in_mailboxes.get(key, 0), in_logs.get(key, 0)
        if held != logged:
            node, user, mid = key
            out.append(f"{node} {user}: {mid or '(no Message-ID)'} is {held} time(s) in the mailbox, "
                       f"{logged} time(s) delivered in the log")
    return out
