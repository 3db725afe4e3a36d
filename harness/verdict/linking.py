"""Gathering one message's story: its copies on every node, linked, and each turned into Hops.

The records come from harness.evidence (which alone reads Postfix's log lines) and from the harness's own SMTP
transcript; this module links them into one message's Story (harness.verdict.story): copies across nodes by
Message-ID, the DSNs about them, the refusals, the failed sessions, and what is still queued. It reads the world
through the narrow Protocols of harness.ports (the events, the log barrier, the node directory, the mailboxes),
never the whole topology, and waits (on log events, with a deadline) until no copy is still being handled.
"""

from __future__ import annotations

import time
from typing import Protocol

from .. import evidence
from ..evidence.events import FollowerDied, LogEvent, MailTimeout
from ..mta.readers import READERS, queued_as
from ..ports import NodeDirectory, StoryWorld, Submission, TlsPolicies
from .story import HARNESS, EmittedDsn, Hop, Story


def gather(world: StoryWorld, sent: Submission, *, timeout: float = 10.0) -> Story:
    """Collect the story, waiting (on log events, up to `timeout`) until no copy of the message or of a DSN
    about it is still being handled."""
    deadline = time.monotonic() + timeout
    while True:
        pos = world.events.mark()
        story = _collect(world, sent)
        left = deadline - time.monotonic()
        if not story.pending:
            # Settled as far as we know: make sure every server's log has arrived, then look once more.
            world.sync_logs()
            story = _collect(world, sent)
            if not story.pending or deadline - time.monotonic() <= 0:
                return story
            continue
        if left <= 0:
            # Out of time with copies still queued: what the servers logged up to now still counts (a next hop's
            # refusal can arrive after the sender's deferral: each container's log streams on its own).
            world.sync_logs()
            return _collect(world, sent)
        try:
            world.events.wait(_settles, timeout=left, since=pos, what="a queued copy's removal (or hold)")
        except FollowerDied:
            raise  # the harness lost a node's log: say so, do not return a story with holes
        except MailTimeout:
            world.sync_logs()
            return _collect(world, sent)


def _settles(e: LogEvent) -> bool:
    """A line after which a copy may be settled: its removal, or its hold (frozen, on hold)."""
    return evidence.is_removal(e) or evidence.is_hold(e)


def _collect(world: StoryWorld, sent: Submission) -> Story:
    story = Story(sent, world, world)
    events = world.events.since(world.mark)
    _submission(story)
    mids = evidence.message_ids(events)
    tracked = _link_copies(story, events, mids)
    deliveries = [d for d in evidence.deliveries(events) if (d.node, d.queue_id) in tracked]
    for d in deliveries:
        _delivery_hop(story, d, tracked[(d.node, d.queue_id)], mids)
    for x in evidence.expirations(events):
        if (x.node, x.queue_id) in tracked:
            story.hops.append(Hop(x.seq, x.node, "expired", "", queue_id=x.queue_id, detail="returned to sender",
                                  dsn=tracked[(x.node, x.queue_id)]))
    held = {(h.node, h.queue_id): h for h in evidence.holds(events) if (h.node, h.queue_id) in tracked}
    for (node, qid), h in held.items():
        story.hops.append(Hop(h.seq, node, "held", "", queue_id=qid, detail=f"{h.why}: no delivery is tried until "
                              "it is released", dsn=tracked[(node, qid)]))
    _attempts(story, events, tracked, deliveries)
    reported = {"failed": ("bounced", "deferred"), "delayed": ("deferred",),
                "delivered": ("delivered", "relayed", "forwarded")}
    original = {(d.node, d.queue_id, d.recipient): evidence.original_recipient(d) for d in deliveries}
    for dsn in story.dsns:
        hops = [h for h in story.hops if not h.dsn and h.node == dsn.node and h.kind in reported.get(dsn.kind, ())]
        dsn.about = tuple(dict.fromkeys(h.recipient for h in hops))
        dsn.about_original = tuple(dict.fromkeys(original.get((h.node, h.queue_id, h.recipient), h.recipient)
                                                 for h in hops))
    _refusals(story, events)
    story.hops = _one_record_per_refusal(sorted(story.hops, key=lambda h: h.seq))
    story.errors = evidence.problems(events)
    story.pending = [k for k in _pending(story, events, tracked) if k not in held]
    return story


def _submission(story: Story) -> None:
    """Our client's view of the first node: accepted at the end of data, refused at some stage, or no session (the
    connection refused or timed out, the greeting never came, the server closed the connection)."""
    sent, t = story.sent, story.sent.transcript
    eod = t.reply("END-OF-MESSAGE")
    if eod is not None and eod.code == 250:
        story.hops.append(Hop(-1, sent.via, "accepted", "", HARNESS, "END-OF-MESSAGE", eod))
    for ex in t.exchanges:
        if ex.failed:
            kind = "unreachable" if ex.stage == "CONNECT" else "lost"
            story.hops.append(Hop(-1, sent.via, kind, "", HARNESS, ex.stage, detail=ex.reply.text))
        elif ex.stage != "QUIT" and not ex.reply.ok:
            rcpt = ex.command.split("<", 1)[1].split(">", 1)[0] if ex.stage == "RCPT" and "<" in ex.command else ""
            story.hops.append(Hop(-1, sent.via, "rejected", rcpt, HARNESS, ex.stage, ex.reply))


def _link_copies(story: Story, events: list[LogEvent], mids: dict[tuple[str, str], str]) -> dict[tuple[str, str], bool]:
    """Every queued copy of the message and of the DSNs about it: (node, queue id) -> is a DSN. Copies are linked
    by Message-ID, which Postfix keeps across hops and forwards. Each server's log streams on its own, so this
    works on the whole index, not in arrival order."""
    msgid = str(story.sent.message["Message-ID"]).strip()
    tracked = {k: False for k, mid in mids.items() if mid == msgid}
    story.accepted = list(dict.fromkeys(node for node, _ in tracked))
    for n in evidence.notices(events):
        if (n.node, n.queue_id) not in tracked:
            continue
        kind = {"non-delivery": "failed", "delay": "delayed"}.get(n.kind, "delivered")
        d = EmittedDsn(n.node, n.dsn_queue_id, kind, message_id=mids.get((n.node, n.dsn_queue_id), ""))
        story.dsns.append(d)
        tracked[(n.node, d.queue_id)] = True
        if d.message_id:
            tracked.update({k: True for k, mid in mids.items() if mid == d.message_id})
    return tracked


def _attempts(story: Story, events: list[LogEvent], tracked: dict[tuple[str, str], bool],
              deliveries: list[evidence.Delivery]) -> None:
    """Failed sessions a node's client logged on their own line during a tracked delivery (another MX host tried
    first, an earlier address refused), unless the delivery's own line already says the same."""
    said = {(d.node, d.queue_id, d.detail.removeprefix("delivery temporarily suspended: ")) for d in deliveries}
    for f in evidence.session_failures(events):
        key = (f.node, f.queue_id)
        if key not in tracked or (f.node, f.queue_id, f.reason) in said:
            continue
        server = _who(story.directory, f.host, f.address)
        kind = "unreachable" if f.stage == "CONNECT" else "lost"
        story.hops.append(Hop(f.seq, server, kind, "", f.node, f.stage, detail=f.reason, queue_id=f.queue_id,
                              dsn=tracked[key]))


def _refusals(story: Story, events: list[LogEvent]) -> None:
    """Refusals logged by the refusing servers (the client's view is the deferred/bounced hop), for this
    message's sender and the recipients on its path."""
    sender = story.sent.envelope.sender.lower()
    rcpts = {r.address.lower() for r in story.sent.envelope.recipients} | {h.recipient.lower() for h in story.hops}
    for r in evidence.rejections(events):
        if r.sender.lower() == sender and (not r.recipient or r.recipient.lower() in rcpts):
            story.hops.append(Hop(r.seq, r.node, "rejected", r.recipient,
                                  _who(story.directory, r.client_host, r.client_address) or HARNESS, r.stage,
                                  r.reply))


def _one_record_per_refusal(hops: list[Hop]) -> list[Hop]:
    """The harness's own client shows up in the servers' logs too: keep one record of each refusal (a server logs
    the first recipient with a refusal at DATA or at the end of data; the client knows none there)."""
    seen: set[tuple[str, str, str, str, int]] = set()
    unique = []
    for h in hops:
        key = (h.node, h.kind, h.recipient.lower() if h.stage == "RCPT" else "", h.stage or "",
               h.reply.code if h.reply else 0)
        if h.kind == "rejected" and key in seen:
            continue
        seen.add(key)
        unique.append(h)
    return unique


def _pending(story: Story, events: list[LogEvent], tracked: dict[tuple[str, str], bool]) -> list[tuple[str, str]]:
    """Copies not yet removed from their queue (a held one is left out by the caller: nothing more happens to
    it). A copy may be known from elsewhere (our 250, a relay's "queued as") before its own server's lines
    arrive: it is pending until that server logs its removal."""
    sent, t = story.sent, story.sent.transcript
    nodes = story.directory.nodes
    removed = evidence.removed(events)
    expected = set(tracked)
    if t.accepted and t.queue_id and sent.via in nodes and nodes[sent.via].kind in READERS:
        expected.add((sent.via, t.queue_id))
    for h in story.hops:
        qid = queued_as(h.detail) if h.kind == "relayed" else ""
        if qid and h.peer in nodes and nodes[h.peer].kind in READERS:
            expected.add((h.peer, qid))
    return sorted(k for k in expected if k not in removed)


def _who(directory: NodeDirectory, host: str, address: str = "") -> str:
    """The node a server or client is, by host name or address ("" when it is none of the topology's and has no
    name: the harness's own client connects from the network's gateway, which has none)."""
    if host:
        try:
            return directory.node(host).name
        except KeyError:
            pass
    for n in directory.nodes.values():
        if address and n.ip == address:
            return n.name
    return host


def _delivery_hop(story: Story, d: evidence.Delivery, is_dsn: bool, mids: dict[tuple[str, str], str]) -> None:
    peer = _who(story.directory, d.host, d.address) if d.host or d.address else ""
    kind = d.status
    if d.status == "sent":
        kind = "relayed" if peer else ("forwarded" if d.forwarded else "delivered")
    reply = d.reply if d.status != "sent" else None
    original = evidence.original_recipient(d)
    policies = story.directory
    required = policies.tls_required(d.node, peer, d.seq) if peer and isinstance(policies, TlsPolicies) else ""
    hop = Hop(d.seq, d.node, kind, d.recipient, peer, d.stage if d.status != "sent" else None, reply, d.dsn,
              "" if reply else d.detail, d.queue_id, is_dsn,
              original if original.lower() != d.recipient.lower() else "", d.tls, required)
    story.hops.append(hop)
    if is_dsn:
        mid = mids.get((d.node, d.queue_id), "")
        for dsn in story.dsns:
            if (dsn.node, dsn.queue_id) == (d.node, d.queue_id) or (dsn.message_id and dsn.message_id == mid):
                dsn.to = dsn.to or d.recipient
                if kind == "delivered":
                    dsn.delivered_at = d.node
    elif d.status in ("bounced", "deferred") and reply is not None and d.stage and peer in story.directory.nodes \
            and story.directory.nodes[peer].kind == "mock":
        # A mock next hop keeps no Postfix log: its refusal is known from the client's side.
        story.hops.append(Hop(d.seq, peer, "rejected", d.recipient, d.node, d.stage, reply))


class SentWorld(StoryWorld, Protocol):
    """Where a sent message gathers its verdict, and where the stories are kept for the report."""

    stories: list[Story]
