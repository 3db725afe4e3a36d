"""The verdict: everything that happened to one message, gathered from every node, and who should have done what.

    story = sent.verdict()
    assert story.rejected_by("library.example", stage="RCPT", status="5.1.1")
    assert story.bounced_by("store.example", to="jack@store.example")
    assert story.no_backscatter()

Each assertion returns True or raises VerdictError, whose message shows the message's whole path, hop by hop.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import TYPE_CHECKING

from . import evidence
from .events import LogEvent
from .smtp import Reply

if TYPE_CHECKING:
    from .world import MailTopology, Sent

_SAID = re.compile(r"said: (?P<code>\d{3})[ -](?P<text>.*?)(?: \(in reply to (?P<cmd>.+?) command\))?$")
_QUEUED_AS = re.compile(r"queued as (\w+)")
_STAGES = {"RCPT TO": "RCPT", "MAIL FROM": "MAIL", "end of DATA": "EOD", "DATA": "DATA"}


class VerdictError(AssertionError):
    """What was expected, and the message's whole path."""


@dataclass(frozen=True)
class Hop:
    """One thing that happened to the message (or a DSN about it) on one node."""

    seq: int
    node: str  # where it was logged ("harness" for the submission)
    kind: str  # accepted, rejected, relayed, delivered, forwarded, deferred, bounced, expired
    recipient: str = ""
    peer: str = ""  # the other node (next hop, or the client that was rejected)
    stage: str = ""  # for rejections: banner, EHLO, MAIL, RCPT, DATA, EOD
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
        if self.reply is not None:
            return f"{self.node}: {what}{rcpt}, {self.peer or 'the next hop'} said at {self.stage or '?'}: {self.reply}"
        who = f"{self.node} -> {self.peer}" if self.peer else self.node
        tail = f" ({self.status}{', ' if self.status and self.detail else ''}{self.detail})" \
            if self.status or self.detail else ""
        return f"{who}: {what}{rcpt}{tail}"


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


@dataclass
class Story:
    """The evidence about one sent message; see the module docstring for the assertions."""

    world: MailTopology
    sent: Sent
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
        return key if key == "harness" else self.world.spec.node(key).name

    def rejections(self) -> list[Hop]:
        return [h for h in self.hops if h.kind == "rejected"]

    # -- assertions --------------------------------------------------------------------------------------------
    def accepted_by(self, node: str) -> bool:
        """The node took responsibility for the message (queued it after 250 at the end of data)."""
        name = self._node(node)
        if name not in self.accepted:
            raise self._fail(f"{name} accepted the message", [f"accepted by {n}" for n in self.accepted])
        return True

    def rejected_by(self, node: str, *, stage: str | None = None, status: str | None = None,
                    code: int | None = None, recipient: str | None = None) -> bool:
        """The node refused during the SMTP dialogue (at `stage`, with `code` / enhanced `status`)."""
        name = self._node(node)
        cands = [h for h in self.rejections() if not h.dsn]
        for h in cands:
            if h.node == name and (stage is None or h.stage == stage.upper()) and \
                    (status is None or (h.reply is not None and h.reply.enhanced == status)) and \
                    (code is None or (h.reply is not None and h.reply.code == code)) and \
                    (recipient is None or h.recipient.lower() == recipient.lower()):
                return True
        want = " ".join(x for x in (f"at {stage}" if stage else "", str(code or ""), status or "") if x)
        raise self._fail(f"rejected by {name} {want}".rstrip(), [h.render() for h in cands])

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
                box = self.world.mailbox(to)
                for m in box.messages():
                    if str(m["Message-ID"]).strip() == d.message_id:
                        return m
                raise self._fail(f"the {kind} DSN {d.message_id} in {to}'s mailbox", [str(m["Message-ID"])
                                                                                        for m in box.messages()])
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

    def _domains_of(self, node: str) -> set[str]:
        spec = self.world.spec.node(node)
        return {spec.domain, *spec.other_domains}

    def no_backscatter(self) -> bool:
        """No DSN went where none may go: none for a null sender (RFC 3461 s5.2, RFC 5321 s4.5.5), none for
        NOTIFY=NEVER recipients (RFC 3461 s4.1), and none for a failure the server could have known at RCPT
        time (unknown user: RFC 5321 s6.2) after it accepted the message."""
        problems = []
        env = self.sent.envelope
        if env.sender == "" and self.dsns:
            problems.append("a DSN about a message with a null sender")
        never = {r.address.lower() for r in env.recipients if [n.upper() for n in r.notify] == ["NEVER"]}
        for d in self.dsns:
            if never and all(a.lower() in never for a in d.about):
                problems.append(f"a DSN from {d.node} about NOTIFY=NEVER recipient(s) {', '.join(d.about)}")
        for h in self.hops:
            if h.kind == "bounced" and not h.dsn and h.status.startswith("5.1.") and h.node in self.accepted \
                    and h.recipient.rsplit("@", 1)[-1].lower() in self._domains_of(h.node) \
                    and self.dsns_from(h.node):
                problems.append(f"{h.node} accepted mail for {h.recipient}, then bounced it ({h.status}): it "
                                "should have rejected at RCPT; its DSN goes to whoever the sender claimed to be")
        if problems:
            raise self._fail("no backscatter", problems)
        return True


def gather(world: MailTopology, sent: Sent, *, timeout: float = 10.0) -> Story:
    """Collect the story, waiting (on log events, up to `timeout`) until no copy of the message or of a DSN
    about it is still being handled."""
    deadline = time.monotonic() + timeout
    while True:
        pos = world.events.mark()
        story = _collect(world, sent)
        left = deadline - time.monotonic()
        if not story.pending:
            # Settled as far as we know: make sure every server's log has arrived, then look once more.
            if hasattr(world, "sync_logs"):
                world.sync_logs()
            story = _collect(world, sent)
            if not story.pending or deadline - time.monotonic() <= 0:
                return story
            continue
        if left <= 0:
            return story
        try:
            world.events.wait(lambda e: e.text == "removed", timeout=left, since=pos)
        except AssertionError:
            return _collect(world, sent)


def _collect(world: MailTopology, sent: Sent) -> Story:
    story = Story(world, sent)
    events = world.log()
    _submission(story)
    mids = {(e.node, e.queue_id): e.text.split("message-id=", 1)[1].strip() for e in events
            if e.program == "postfix/cleanup" and e.queue_id and "message-id=" in e.text}
    tracked = _link_copies(story, events, mids)
    for e in events:
        if e.queue_id and (e.node, e.queue_id) in tracked and "status" in e.fields and e.to:
            _delivery_hop(world, story, e, tracked[(e.node, e.queue_id)], mids)
        elif e.queue_id and (e.node, e.queue_id) in tracked and e.get("status") == "expired":
            story.hops.append(Hop(e.seq, e.node, "expired", "", queue_id=e.queue_id, detail="returned to sender"))
    reported = {"failed": ("bounced", "deferred"), "delayed": ("deferred",),
                "delivered": ("delivered", "relayed", "forwarded")}
    for d in story.dsns:
        d.about = tuple(dict.fromkeys(h.recipient for h in story.hops if not h.dsn and h.node == d.node and h.kind in
                                      reported.get(d.kind, ())))
    _refusals(story, events)
    story.hops = _one_record_per_refusal(sorted(story.hops, key=lambda h: h.seq))
    story.errors = list(dict.fromkeys(f"[{e.node}] {e.program}: {e.text}" for e in events
                                      if e.text.startswith(("fatal:", "panic:", "error:", "warning:"))))
    story.pending = _pending(story, events, tracked)
    return story


def _submission(story: Story) -> None:
    """Our client's view of the first node: accepted at the end of data, or refused at some stage."""
    sent, t = story.sent, story.sent.transcript
    eod = t.reply("EOD")
    if eod is not None and eod.code == 250:
        story.hops.append(Hop(-1, sent.via, "accepted", "", "harness", "EOD", eod))
    for ex in t.exchanges:
        if ex.stage in ("MAIL", "RCPT", "DATA", "EOD", "banner", "EHLO") and not ex.reply.ok:
            rcpt = ex.command.split("<", 1)[1].split(">", 1)[0] if ex.stage == "RCPT" else ""
            story.hops.append(Hop(-1, sent.via, "rejected", rcpt, "harness", ex.stage, ex.reply))


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


def _refusals(story: Story, events: list[LogEvent]) -> None:
    """Refusals logged by the refusing servers (the client's view is the deferred/bounced hop), for this
    message's sender and the recipients on its path."""
    sender = story.sent.envelope.sender.lower()
    rcpts = {r.address.lower() for r in story.sent.envelope.recipients} | {h.recipient.lower() for h in story.hops}
    for r in evidence.rejections(events):
        if r.sender.lower() == sender and (not r.recipient or r.recipient.lower() in rcpts):
            stage = {"END-OF-MESSAGE": "EOD"}.get(r.stage, r.stage)
            story.hops.append(Hop(r.seq, r.node, "rejected", r.recipient, _peer(story.world, r.client), stage,
                                  r.reply))


def _one_record_per_refusal(hops: list[Hop]) -> list[Hop]:
    """The harness's own client shows up in the servers' logs too: keep one record of each refusal."""
    seen: set[tuple[str, str, str, str, int]] = set()
    unique = []
    for h in hops:
        key = (h.node, h.kind, h.recipient.lower(), h.stage, h.reply.code if h.reply else 0)
        if h.kind == "rejected" and key in seen:
            continue
        seen.add(key)
        unique.append(h)
    return unique


def _pending(story: Story, events: list[LogEvent], tracked: dict[tuple[str, str], bool]) -> list[tuple[str, str]]:
    """Copies not yet removed from their queue. A copy may be known from elsewhere (our 250, a relay's "queued
    as") before its own server's lines arrive: it is pending until that server logs its removal."""
    world, sent, t = story.world, story.sent, story.sent.transcript
    removed = {(e.node, e.queue_id) for e in events if e.text == "removed"}
    expected = set(tracked)
    if t.accepted and t.queue_id and sent.via in world.nodes and world.nodes[sent.via].kind == "postfix":
        expected.add((sent.via, t.queue_id))
    for h in story.hops:
        m = _QUEUED_AS.search(h.detail) if h.kind == "relayed" else None
        if m and h.peer in world.nodes and world.nodes[h.peer].kind == "postfix":
            expected.add((h.peer, m.group(1)))
    return sorted(k for k in expected if k not in removed)


def _peer(world: MailTopology, relay: str) -> str:
    host = relay.split("[", 1)[0]
    if host == "unknown":
        return "harness"
    try:
        return world.spec.node(host).name
    except KeyError:
        return host


def _delivery_hop(world: MailTopology, story: Story, e: LogEvent, is_dsn: bool,
                  mids: dict[tuple[str, str], str]) -> None:
    status, relay, detail = e.get("status") or "", e.get("relay") or "", e.get("detail") or ""
    rcpt = e.to or ""
    peer = "" if relay in ("local", "none", "virtual") else _peer(world, relay)
    said = _SAID.search(detail)
    reply = Reply.parse(int(said.group("code")), said.group("text")) if said else None
    stage = _STAGES.get(said.group("cmd") or "", "") if said else ""
    kind = status
    if status == "sent":
        kind = "relayed" if peer else ("forwarded" if detail.startswith("forwarded") else "delivered")
    hop = Hop(e.seq, e.node, kind, rcpt, peer, stage, reply if status != "sent" else None, e.get("dsn") or "",
              "" if reply else detail, e.queue_id or "", is_dsn)
    story.hops.append(hop)
    if is_dsn:
        mid = mids.get((e.node, e.queue_id or ""), "")
        for d in story.dsns:
            if (d.node, d.queue_id) == (e.node, e.queue_id) or (d.message_id and d.message_id == mid):
                d.to = d.to or rcpt
                if kind == "delivered":
                    d.delivered_at = e.node
    elif status in ("bounced", "deferred") and reply is not None and stage and peer in world.nodes \
            and world.nodes[peer].kind == "mock":
        # A mock next hop keeps no Postfix log: its refusal is known from the client's side.
        story.hops.append(Hop(e.seq, peer, "rejected", rcpt, e.node, stage, reply))
