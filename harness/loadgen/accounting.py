"""Every recipient of every message accounted for, from the client's transcripts and the nodes' logs alone.

    acct = account(submissions, world.log())
    acct.unaccounted, acct.duplicates, acct.misdirected   # all three 0: nothing lost, nothing twice, no backscatter

A recipient the server refused during the dialogue is the client's to report ("refused"). One the server accepted
is followed through every copy of its message (copies share the Message-ID; a forwarded copy logs the recipient it
came from as orig_to) to its final log lines: a delivery to a mailbox, or a failure (bounced). A failure must be
covered by exactly one DSN (the bounce daemon's "sender non-delivery notification" about that copy, after the
failure in the node's log) unless NOTIFY=NEVER, and that DSN must reach exactly one mailbox: the envelope sender's.
Anything else is a problem, and named:

    unaccounted   no final log line (lost, or still queued), or a failure with no DSN, or a DSN that never arrived
    duplicate     delivered or failed more than once (or both), reported by more than one DSN, a DSN delivered twice
    misdirected   a DSN to anyone but the envelope sender, a DSN NOTIFY=NEVER forbids, a DSN that reports nothing
                  (about no failed recipient), and any queued message the run cannot name (a notification to a
                  postmaster, mail nobody sent)

Log parsing is harness.evidence's; this module only links its records. Over a run of thousands of messages Postfix
reuses queue ids (evidence.queue_lives tells their lives apart), so copies are linked by Message-ID only.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .. import evidence
from ..evidence import Delivery, Notice, QueueEntry
from ..evidence.events import LogEvent
from ..smtp import Transcript
from .mix import OUTCOMES, PlannedMessage, PlannedRecipient

PROBLEMS = ("unaccounted", "duplicate", "misdirected")
Key = tuple[str, str]  # (node, queue id)


@dataclass(frozen=True)
class Submitted:
    """One message as the client submitted it: the plan, the transcript, when its session started and ended, and
    when the server took it (the 250 after the end of data; None if it did not). Times are time.time()."""

    message: PlannedMessage
    transcript: Transcript
    started: float
    ended: float
    accepted_at: float | None

    @property
    def accepted(self) -> bool:
        return self.accepted_at is not None


@dataclass(frozen=True)
class RecipientResult:
    message: PlannedMessage
    recipient: PlannedRecipient
    outcome: str  # one of OUTCOMES, or of PROBLEMS
    detail: str = ""  # what was seen, for a problem (and how it was refused, for "refused")
    latency: float | None = None  # acceptance -> the recipient's final log event (seconds)

    @property
    def expected(self) -> bool:
        return self.outcome == self.recipient.expect

    def __str__(self) -> str:
        return (f"{self.message.message_id} <{self.recipient.address}> ({self.recipient.scenario}): {self.outcome}, "
                f"expected {self.recipient.expect}" + (f": {self.detail}" if self.detail else ""))


@dataclass
class Accounting:
    results: list[RecipientResult] = field(default_factory=list)
    misdirected_dsns: list[str] = field(default_factory=list)  # DSNs (and strays) that belong to no recipient
    pending: list[str] = field(default_factory=list)  # copies still queued at the end (logs and queue listings)

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.results if r.outcome == outcome)

    @property
    def unaccounted(self) -> int:
        return self.count("unaccounted")

    @property
    def duplicates(self) -> int:
        return self.count("duplicate")

    @property
    def misdirected(self) -> int:
        return self.count("misdirected") + len(self.misdirected_dsns)

    @property
    def unexpected(self) -> list[RecipientResult]:
        """Recipients with a proper outcome, but not the one the mix expects (an MTA that behaves otherwise)."""
        return [r for r in self.results if r.outcome in OUTCOMES and not r.expected]

    @property
    def problems(self) -> list[RecipientResult]:
        return [r for r in self.results if r.outcome in PROBLEMS]

    @property
    def ok(self) -> bool:
        return not (self.unaccounted or self.duplicates or self.misdirected or self.unexpected)

    def latencies(self) -> list[float]:
        return sorted(r.latency for r in self.results if r.latency is not None)

    def table(self) -> dict[str, Counter[str]]:
        """scenario -> outcome -> recipients (with "expected" -> the count the mix expects of its outcome)."""
        rows: dict[str, Counter[str]] = defaultdict(Counter)
        for r in self.results:
            rows[r.recipient.scenario][r.outcome] += 1
            rows[r.recipient.scenario]["count"] += 1
        return dict(rows)


@dataclass
class _Logs:
    """The log records, indexed once."""

    events: Sequence[LogEvent]
    at: dict[int, float] = field(default_factory=dict)
    copies: dict[str, set[Key]] = field(default_factory=lambda: defaultdict(set))  # Message-ID -> copies
    mids: dict[Key, str] = field(default_factory=dict)
    deliveries: dict[Key, list[Delivery]] = field(default_factory=lambda: defaultdict(list))
    notices: dict[Key, list[tuple[LogEvent, Notice]]] = field(default_factory=lambda: defaultdict(list))
    senders: dict[Key, str] = field(default_factory=dict)
    removed: set[Key] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.events = evidence.queue_lives(self.events)  # a queue id Postfix reused is two copies, not one
        self.at = {e.seq: e.at for e in self.events}
        self.mids = evidence.message_ids(self.events)
        for key, mid in self.mids.items():
            self.copies[mid].add(key)
        for d in evidence.deliveries(self.events):
            self.deliveries[(d.node, d.queue_id)].append(d)
        for e, n in evidence.notice_events(self.events):
            self.notices[(n.node, n.queue_id)].append((e, n))
        self.senders = evidence.senders(self.events)
        self.removed = evidence.removed(self.events)

    def finals(self, copies: Iterable[Key]) -> list[Delivery]:
        """The final lines of these copies' recipients: mailbox deliveries and failures, in log order."""
        out = [d for k in copies for d in self.deliveries.get(k, [])
               if evidence.is_mailbox_delivery(d) or evidence.is_final_failure(d)]
        return sorted(out, key=lambda d: d.seq)

    def dsn_copies(self, n: Notice) -> set[Key]:
        mid = self.mids.get((n.node, n.dsn_queue_id))
        return set(self.copies[mid]) if mid else {(n.node, n.dsn_queue_id)}


def _cover(failures: list[Delivery], notices: list[tuple[LogEvent, Notice]],
           eligible: set[int]) -> dict[int, list[tuple[LogEvent, Notice]]]:
    """Which DSNs report which failure of one copy (failure seq -> notices). Each non-delivery notice covers the
    failures logged before it and not covered yet, those whose NOTIFY asks for a DSN first; a notice logged before
    its failure (it should not be) takes the first failure left after it; a notice with nothing left to cover is
    one more DSN about the last failure before it (a duplicate). A copy without failures keeps its notices
    uncovered: they report nothing."""
    covered: dict[int, list[tuple[LogEvent, Notice]]] = {}
    bounces = [(e, n) for e, n in sorted(notices, key=lambda x: x[0].seq) if n.kind == "non-delivery"]
    used: set[int] = set()
    for rank in (True, False):
        for e, n in bounces:
            for f in failures:
                if f.seq < e.seq and f.seq not in covered and (f.seq in eligible) == rank:
                    covered[f.seq] = [(e, n)]
                    used.add(e.seq)
    for e, n in bounces:
        if e.seq in used or not failures:
            continue
        left = [f for f in failures if f.seq not in covered]
        before = [f for f in failures if f.seq < e.seq]
        target = left[0] if left else (before or failures)[-1]
        covered.setdefault(target.seq, []).append((e, n))
        used.add(e.seq)
    return covered


def account(submissions: Sequence[Submitted], events: Sequence[LogEvent], *,
            queued: Sequence[QueueEntry] = ()) -> Accounting:
    """Account for every recipient of every submission from the log events of the run (and what the queues still
    hold at the end, from `postqueue -j`)."""
    logs = _Logs(events)
    acct = Accounting()
    ours: set[str] = set()  # Message-IDs of our messages and of the DSNs about them
    for sub in submissions:
        ours.add(sub.message.message_id)
        acct.results += _message(sub, logs, acct, ours)
    for key, sender in sorted(logs.senders.items()):
        mid = logs.mids.get(key, "")
        if mid not in ours:
            where = ", ".join(f"{d.node}: {d.recipient} ({d.status})" for d in logs.finals(logs.copies.get(mid, {key})))
            acct.misdirected_dsns.append(f"{key[0]} {key[1]} from <{sender}>, Message-ID {mid or '(none logged)'}, "
                                         f"a message no recipient of the run accounts for" + (f": {where}" if where
                                                                                              else ""))
    acct.pending = [f"{n} {q} (logged, never removed)" for n, q in sorted(set(logs.senders) - logs.removed)]
    acct.pending += [str(q) for q in queued]
    return acct


def _message(sub: Submitted, logs: _Logs, acct: Accounting, ours: set[str]) -> list[RecipientResult]:
    m, t = sub.message, sub.transcript
    replies = t.rcpt_replies
    copies = logs.copies.get(m.message_id, set())
    finals = logs.finals(copies)
    never = "NEVER" in (n.upper() for n in m.notify) or not m.sender
    by_rcpt: dict[str, list[Delivery]] = defaultdict(list)
    for d in finals:
        by_rcpt[evidence.original_recipient(d).lower()].append(d)
    # Which DSN covers which failure, copy by copy (a DSN reports the failures of one queued copy).
    eligible = {d.seq for d in finals if evidence.is_final_failure(d) and not never}
    covered: dict[int, list[tuple[LogEvent, Notice]]] = {}
    for key in sorted(copies):
        fails = [d for d in finals if (d.node, d.queue_id) == key and evidence.is_final_failure(d)]
        mine = _cover(fails, logs.notices.get(key, []), eligible)
        covered.update(mine)
        used = {e.seq for ns in mine.values() for e, _ in ns}
        for e, n in logs.notices.get(key, []):
            ours.update(logs.mids[k] for k in logs.dsn_copies(n) if k in logs.mids)
            to = {d.recipient.lower() for d in logs.finals(logs.dsn_copies(n)) if evidence.is_mailbox_delivery(d)}
            if n.kind == "delay" and not never and to <= {m.sender.lower()}:
                continue  # a "delayed" warning to the sender is allowed (NOTIFY=DELAY is Postfix's default)
            if e.seq not in used:
                acct.misdirected_dsns.append(f"{n.node} sent a {n.kind} DSN about {m.message_id} ({n.queue_id}) that "
                                             f"reports no failed recipient it may report: {e.line}")
    out = []
    for i, r in enumerate(m.recipients):
        reply = replies[i] if i < len(replies) else None
        if reply is None or not reply.ok or not sub.accepted:
            why = str(reply) if reply is not None and not reply.ok else \
                str(t.failure.reply) if t.failure else "the message was not accepted: " + \
                "; ".join(str(e.reply) for e in t.exchanges if not e.reply.ok and e.stage != "QUIT")
            out.append(RecipientResult(m, r, "refused", why))
            continue
        out.append(_recipient(sub, r, by_rcpt.get(r.address.lower(), []), covered, never, logs, copies))
    return out


def _recipient(sub: Submitted, r: PlannedRecipient, finals: list[Delivery],
               covered: dict[int, list[tuple[LogEvent, Notice]]], never: bool, logs: _Logs,
               copies: set[Key]) -> RecipientResult:
    m = sub.message
    delivered = [d for d in finals if evidence.is_mailbox_delivery(d)]
    failed = [d for d in finals if evidence.is_final_failure(d)]
    found: dict[str, list[str]] = {p: [] for p in PROBLEMS}
    last = [d.seq for d in finals]
    if len(delivered) > 1:
        found["duplicate"].append(f"delivered {len(delivered)} times: " + "; ".join(
            f"{d.node} {d.queue_id} to <{d.recipient}>" for d in delivered))
    if len(failed) > 1:
        found["duplicate"].append(f"failed {len(failed)} times: " + "; ".join(f"{d.node} {d.queue_id}" for d in failed))
    if delivered and failed:
        found["duplicate"].append(f"delivered at {delivered[0].node} and failed at {failed[0].node}")
    dsns = list({e.seq: (e, n) for f in failed for e, n in covered.get(f.seq, [])}.values())
    if never and dsns:
        found["misdirected"].append(f"a DSN from {dsns[0][1].node} although NOTIFY=NEVER forbids one")
    if len(dsns) > 1:
        found["duplicate"].append(f"{len(dsns)} DSNs: from " + ", ".join(n.node for _, n in dsns))
    for f in failed:
        if f.seq not in covered and not never:
            found["unaccounted"].append(f"failed at {f.node} ({f.dsn} {f.detail[:120]}), and no DSN about it")
    for _, n in dsns:
        dsn_copies = logs.dsn_copies(n)
        arrived = [d for d in logs.finals(dsn_copies) if evidence.is_mailbox_delivery(d)]
        lost = [d for d in logs.finals(dsn_copies) if evidence.is_final_failure(d)]
        last += [d.seq for d in arrived + lost]
        if len(arrived) > 1:
            found["duplicate"].append(f"the DSN from {n.node} was delivered {len(arrived)} times")
        for d in arrived:
            if d.recipient.lower() != m.sender.lower():
                found["misdirected"].append(f"the DSN from {n.node} went to <{d.recipient}>, not to the envelope "
                                            f"sender <{m.sender}>")
        if not arrived:
            still = sorted(k for k in dsn_copies if k in logs.senders and k not in logs.removed)
            why = f"failed itself at {lost[0].node} ({lost[0].detail[:120]})" if lost else \
                f"still queued at {', '.join(' '.join(k) for k in still)}" if still else "never delivered"
            found["unaccounted"].append(f"the DSN from {n.node} ({n.dsn_queue_id}) {why}")
    if not finals:
        still = sorted(k for k in copies if k in logs.senders and k not in logs.removed)
        seen = [d for k in copies for d in logs.deliveries.get(k, [])
                if evidence.original_recipient(d).lower() == r.address.lower()]
        why = f"still queued at {', '.join(' '.join(k) for k in still)}" if still else \
            f"last seen: {seen[-1].node} {seen[-1].status} ({seen[-1].detail[:120]})" if seen else \
            "no node logged anything about it after acceptance" if not copies else "no final log line"
        found["unaccounted"].append(why)
    latency = None
    if sub.accepted_at is not None and last:
        # Both are the harness's clock; a fast local delivery's line can reach the harness (its follower thread)
        # before the client's thread notes the 250 it answered: never less than 0.
        latency = max(0.0, max(logs.at.get(s, sub.accepted_at) for s in last) - sub.accepted_at)
    for problem in ("misdirected", "duplicate", "unaccounted"):
        if found[problem]:
            detail = "; ".join(found["misdirected"] + found["duplicate"] + found["unaccounted"])
            return RecipientResult(m, r, problem, detail, latency)
    outcome = "delivered" if delivered else "dsn" if dsns else "silent"
    return RecipientResult(m, r, outcome, "", latency)
