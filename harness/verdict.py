"""The verdict: everything that happened to one message, gathered from every node, and who should have done what.

    story = sent.verdict()
    assert story.rejected_by("library.example", stage="RCPT", status="5.1.1")
    assert story.bounced_by("store.example", to="jack@store.example")
    assert story.no_backscatter()

Each assertion returns True or raises VerdictError, whose message shows the message's whole path, hop by hop.

The records come from harness.evidence (which alone reads Postfix's log lines) and from the harness's own SMTP
transcript; this module links them into one message's story and asserts on it. It reads the world through the
narrow Protocols of harness.ports (the events, the log barrier, the node directory, the mailboxes), never the
whole topology.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Protocol

from . import evidence
from .errors import MailharnessError
from .events import FollowerDied, LogEvent, MailTimeout
from .ports import Mailboxes, NodeDirectory, StoryWorld, Submission
from .smtp import Reply, Stage, as_stage

HARNESS = "harness"  # the harness's own SMTP client, as a node of the story
SESSION_FAILURES = ("unreachable", "lost")  # hop kinds of a session that ended without a reply


class VerdictError(MailharnessError, AssertionError):
    """What was expected, and the message's whole path."""


@dataclass(frozen=True)
class Hop:
    """One thing that happened to the message (or a DSN about it) on one node."""

    seq: int
    node: str  # where it was logged ("harness" for the submission)
    # accepted, rejected, relayed, delivered, forwarded, deferred, bounced, expired; and for a session that ended
    # without a reply: unreachable (at CONNECT: refused, timed out, no route) or lost (later: closed, timed out)
    kind: str
    recipient: str = ""
    peer: str = ""  # the other node (next hop, or the client that was rejected)
    stage: Stage | None = None  # where a refusal, a reply or a failed session came
    reply: Reply | None = None
    status: str = ""  # enhanced status of the outcome
    detail: str = ""
    queue_id: str = ""
    dsn: bool = False  # a hop of a DSN, not of the message itself

    def render(self) -> str:
        what = f"{'DSN ' if self.dsn else ''}{self.kind}"
        rcpt = f" <{self.recipient}>" if self.recipient else ""
        if self.kind == "rejected":
            return f"{self.node}: rejected{rcpt} from {self.peer} at {self.stage}: {self.reply}"
        if self.kind == "accepted":
            return f"{self.node}: accepted from {self.peer}: {self.reply}"
        if self.kind == "unreachable":
            return f"{self.node}: {what} from {self.peer} at {self.stage}: {self.detail}"
        if self.kind == "lost":
            return f"{self.node}: {'DSN ' if self.dsn else ''}session with {self.peer} lost at {self.stage}: " \
                   f"{self.detail}"
        if self.reply is not None:
            return f"{self.node}: {what}{rcpt}, {self.peer or 'the next hop'} said at {self.stage or '?'}: {self.reply}"
        who = f"{self.node} -> {self.peer}" if self.peer else self.node
        at = f" at {self.stage}" if self.stage else ""
        tail = f" ({self.status}{', ' if self.status and self.detail else ''}{self.detail})" \
            if self.status or self.detail else ""
        return f"{who}: {what}{rcpt}{at}{tail}"


@dataclass
class EmittedDsn:
    """A DSN a node created: its kind, to whom, and where it was finally delivered."""

    node: str
    queue_id: str
    kind: str  # failed (non-delivery), delayed, delivered (success)
    to: str = ""
    delivered_at: str = ""  # node whose mailbox got it
    message_id: str = ""
    about: tuple[str, ...] = ()  # the recipients it reports on (bounced/deferred ones at that node)
    # the same, as the message first had them (`orig_to`, where an alias, .forward or virtual alias rewrote one)
    about_original: tuple[str, ...] = ()


@dataclass
class Story:
    """The evidence about one sent message; see the module docstring for the assertions. It keeps two narrow doors
    to the world: the node directory (names in assertions) and the mailboxes (bounced_by reads the DSN)."""

    sent: Submission
    directory: NodeDirectory = field(repr=False, compare=False)
    mailboxes: Mailboxes = field(repr=False, compare=False)
    hops: list[Hop] = field(default_factory=list)
    dsns: list[EmittedDsn] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)  # nodes that took responsibility
    pending: list[tuple[str, str]] = field(default_factory=list)  # (node, queue id) still queued
    errors: list[str] = field(default_factory=list)  # fatal/panic lines any server logged meanwhile

    # -- reading ---------------------------------------------------------------------------------------------
    def render(self) -> str:
        env = self.sent.envelope
        rcpts = ", ".join(r.address for r in env.recipients)
        lines = [f"message <{env.sender}> -> {rcpts} (Message-ID {self.sent.message['Message-ID']}), "
                 f"submitted to {self.sent.via}"]
        lines += [f"  {i}. {h.render()}" for i, h in enumerate(self.hops, 1)]
        for d in self.dsns:
            lines.append(f"  DSN ({d.kind}) from {d.node} to <{d.to or '?'}>"
                         + (f", delivered at {d.delivered_at}" if d.delivered_at else ", not delivered (yet)"))
        if not self.dsns:
            lines.append("  no DSN was emitted")
        for node, qid in self.pending:
            lines.append(f"  still queued at {node}: {qid}")
        if self.errors:
            lines.append("  servers reported errors (their own words):")
            lines += [f"    {e}" for e in self.errors]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()

    def _fail(self, expected: str, candidates: list[str]) -> VerdictError:
        near = "\n".join(f"    {c}" for c in candidates) or "    (none)"
        return VerdictError(f"expected: {expected}\nnearest candidates:\n{near}\nwhat happened:\n{self.render()}")

    def _node(self, key: str) -> str:
        return key if key == HARNESS else self.directory.node(key).name

    def rejections(self) -> list[Hop]:
        return [h for h in self.hops if h.kind == "rejected"]

    def session_failures(self) -> list[Hop]:
        """The sessions that ended without a reply: unreachable at CONNECT, or lost later."""
        return [h for h in self.hops if h.kind in SESSION_FAILURES]

    # -- assertions --------------------------------------------------------------------------------------------
    def accepted_by(self, node: str) -> bool:
        """The node took responsibility for the message (queued it after 250 at the end of data)."""
        name = self._node(node)
        if name not in self.accepted:
            raise self._fail(f"{name} accepted the message", [f"accepted by {n}" for n in self.accepted])
        return True

    def rejected_by(self, node: str, *, stage: str | None = None, status: str | None = None,
                    code: int | None = None, recipient: str | None = None) -> bool:
        """The node refused during the SMTP dialogue (at `stage`, with `code` / enhanced `status`). The stage is
        read in any case and usual spelling ("rcpt", "EOD", "banner"); an unknown one raises UnknownStage."""
        name = self._node(node)
        want = as_stage(stage) if stage is not None else None
        cands = [h for h in self.rejections() if not h.dsn]
        for h in cands:
            if h.node == name and (want is None or h.stage == want) and \
                    (status is None or (h.reply is not None and h.reply.enhanced == status)) and \
                    (code is None or (h.reply is not None and h.reply.code == code)) and \
                    (recipient is None or h.recipient.lower() == recipient.lower()):
                return True
        what = " ".join(x for x in (f"at {want}" if want else "", str(code or ""), status or "") if x)
        raise self._fail(f"rejected by {name} {what}".rstrip(), [h.render() for h in cands])

    def unreachable(self, node: str, *, stage: str | None = None, by: str | None = None) -> bool:
        """A session with the node ended without a reply (refused, timed out, lost), at `stage` if given, from
        the client `by` if given (a node, or "harness" for the submission)."""
        name = self._node(node)
        want = as_stage(stage) if stage is not None else None
        peer = self._node(by) if by is not None else None
        cands = [h for h in self.hops if h.kind in SESSION_FAILURES or (h.kind in ("deferred", "bounced")
                                                                         and h.reply is None and h.stage)]
        for h in cands:
            server, client = (h.node, h.peer) if h.kind in SESSION_FAILURES else (h.peer, h.node)
            if server == name and (want is None or h.stage == want) and (peer is None or client == peer):
                return True
        what = " ".join(x for x in (f"from {peer}" if peer else "", f"at {want}" if want else "") if x)
        raise self._fail(f"no session with {name} {what}".rstrip(), [h.render() for h in cands])

    def delivered_to(self, address: str) -> bool:
        hits = [h for h in self.hops if h.kind == "delivered" and not h.dsn]
        if any(h.recipient.lower() == address.lower() for h in hits):
            return True
        raise self._fail(f"delivered to {address}", [h.render() for h in hits])

    def dsns_from(self, node: str) -> list[EmittedDsn]:
        name = self._node(node)
        return [d for d in self.dsns if d.node == name]

    def bounced_by(self, node: str, *, to: str | None = None, kind: str = "failed") -> EmailMessage:
        """The node emitted a DSN of `kind` that reached `to` (default: the original envelope sender).
        Returns the DSN as delivered (check its content with assert_dsn)."""
        name = self._node(node)
        to = (to or self.sent.envelope.sender).lower()
        for d in self.dsns:
            if d.node == name and d.kind == kind and d.to.lower() == to and d.delivered_at:
                messages = self.mailboxes.mailbox(to).messages()
                for m in messages:
                    if str(m["Message-ID"]).strip() == d.message_id:
                        return m
                raise self._fail(f"the {kind} DSN {d.message_id} in {to}'s mailbox",
                                 [str(m["Message-ID"]) for m in messages])
        raise self._fail(f"a {kind} DSN from {name} delivered to {to}",
                         [f"DSN ({d.kind}) from {d.node} to {d.to} delivered at {d.delivered_at or '-'}"
                          for d in self.dsns])

    def no_dsn(self, node: str | None = None) -> bool:
        """No DSN at all (from `node`, or from anyone)."""
        found = self.dsns if node is None else self.dsns_from(node)
        if found:
            raise self._fail(f"no DSN from {node or 'any node'}", [f"DSN ({d.kind}) from {d.node} to {d.to}"
                                                                  for d in found])
        return True

    def _serves(self, node: str, address: str) -> bool:
        """The address's domain is one of the node's (its own or another it serves)."""
        try:
            return self.directory.node(address).name == node
        except KeyError:
            return False

    def no_backscatter(self) -> bool:
        """No DSN went where none may go: none for a null sender (RFC 3461 s5.2, RFC 5321 s4.5.5), none for
        NOTIFY=NEVER recipients (RFC 3461 s4.1), and none for a failure the server could have known at RCPT
        time (unknown user: RFC 5321 s6.2) after it accepted the message."""
        problems = []
        env = self.sent.envelope
        if env.sender == "" and self.dsns:
            problems.append("a DSN about a message with a null sender")
        never = {r.address.lower() for r in env.recipients if [n.upper() for n in r.notify] == ["NEVER"]}
        for d in self.dsns:  # NOTIFY belongs to the recipient as sent: judged on the addresses before rewriting
            if never and all(a.lower() in never for a in d.about_original or d.about):
                problems.append(f"a DSN from {d.node} about NOTIFY=NEVER recipient(s) "
                                f"{', '.join(d.about_original or d.about)}")
        for h in self.hops:
            if h.kind == "bounced" and not h.dsn and h.status.startswith("5.1.") and h.node in self.accepted \
                    and "@" in h.recipient and self._serves(h.node, h.recipient) and self.dsns_from(h.node):
                problems.append(f"{h.node} accepted mail for {h.recipient}, then bounced it ({h.status}): it "
                                "should have rejected at RCPT; its DSN goes to whoever the sender claimed to be")
        if problems:
            raise self._fail("no backscatter", problems)
        return True


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
            world.events.wait(evidence.is_removal, timeout=left, since=pos, what="a queued copy's removal")
        except FollowerDied:
            raise  # the harness lost a node's log: say so, do not return a story with holes
        except MailTimeout:
            world.sync_logs()
            return _collect(world, sent)


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
    story.pending = _pending(story, events, tracked)
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
    """Copies not yet removed from their queue. A copy may be known from elsewhere (our 250, a relay's "queued
    as") before its own server's lines arrive: it is pending until that server logs its removal."""
    sent, t = story.sent, story.sent.transcript
    nodes = story.directory.nodes
    removed = evidence.removed(events)
    expected = set(tracked)
    if t.accepted and t.queue_id and sent.via in nodes and nodes[sent.via].kind == "postfix":
        expected.add((sent.via, t.queue_id))
    for h in story.hops:
        qid = evidence.queued_as(h.detail) if h.kind == "relayed" else ""
        if qid and h.peer in nodes and nodes[h.peer].kind == "postfix":
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
    hop = Hop(d.seq, d.node, kind, d.recipient, peer, d.stage if d.status != "sent" else None, reply, d.dsn,
              "" if reply else d.detail, d.queue_id, is_dsn)
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
