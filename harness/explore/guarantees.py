"""The guarantees mail makes, each an invariant with its RFC reference, checked on one scenario's story.

The story is the verdict's (harness.verdict: every Postfix line was read by harness.evidence); this module only
reads its hops and DSNs, the submission's transcript, and the DSNs as delivered (checked with the DSN validator in
the `postfix` profile). Each check returns Violations; none means the guarantee held.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import TYPE_CHECKING

from ..dsn import NotADSN, assert_dsn, parse_dsn
from ..errors import UsageError
from ..evidence import queued_as
from ..verdict import EmittedDsn, Hop, Story, VerdictError

if TYPE_CHECKING:
    from ..ports import NodeView
    from ..world import MailTopology

CONSERVATION = "conservation"
BACKSCATTER = "no backscatter"
RESPONSIBILITY = "responsibility"
COMPLIANCE = "DSN compliance"
NOTIFY = "NOTIFY semantics"
# A copy still queued past a lifetime this short (the verdict waits longer: harness.explore.run) was neither
# delivered nor returned: kept beyond its lifetime. Longer lifetimes count as "still being retried".
LIFETIME_JUDGED = 2.0
# RFC 3463 s3.2: these subjects are "only useful for permanent failures" (bad mailbox, bad system, mailbox moved,
# null MX): a 4xx reply with one of them says "try again" about something that will not change.
ONLY_PERMANENT = ("1.1", "1.2", "1.6", "1.10")
GUARANTEES: dict[str, str] = {
    CONSERVATION: "RFC 5321 s6.1, s4.5.5, s4.2.1; RFC 3461 s4.1, s5.2; RFC 3463 s3.2",
    BACKSCATTER: "RFC 5321 s6.2; RFC 3834 s2",
    RESPONSIBILITY: "RFC 5321 s6.1; RFC 3464 s2.3.5",
    COMPLIANCE: "RFC 3464 (profile postfix: docs/dsn-rules.md)",
    NOTIFY: "RFC 3461 s4.1, s5.2.1, s6.2",
}


@dataclass(frozen=True)
class Violation:
    guarantee: str
    what: str  # what happened instead, in one sentence
    key: str = ""  # what makes two violations of one guarantee the same finding (shape, not addresses)

    @property
    def rfc(self) -> str:
        return GUARANTEES[self.guarantee]

    @property
    def signature(self) -> tuple[str, str]:
        return (self.guarantee, self.key or self.what)


@dataclass
class Fate:
    """What became of one recipient of the envelope."""

    refused: bool = False  # refused during the submission's dialogue
    delivered: int = 0  # final deliveries (a Postfix mailbox, or a mock next hop that said 250)
    bounced_at: list[str] = field(default_factory=list)  # nodes that gave up on it (bounced, or expired)
    deferred_at: list[str] = field(default_factory=list)
    finals: list[str] = field(default_factory=list)  # the addresses it finally went to (forwards followed)
    visited: set[str] = field(default_factory=set)  # every address on its way (itself, forward targets)


@dataclass
class Judged:
    """A scenario's story, as the guarantees read it."""

    story: Story
    forwards: dict[str, list[str]]  # address -> where the applied Forward faults send it
    dsn_messages: dict[str, EmailMessage]  # Message-ID -> the DSN as delivered
    lifetimes: dict[str, float] = field(default_factory=dict)  # node -> queue lifetime (s) the faults set
    # copies of a notification about the message a node sent for its postmaster (notify_classes) that went to an
    # address outside that node: (node, kind, recipient)
    copies_out: list[tuple[str, str, str]] = field(default_factory=list)
    fates: dict[str, Fate] = field(default_factory=dict)  # envelope recipient -> its fate

    def shared(self, f: Fate) -> bool:
        """Whether another recipient's way crosses this one's (a forward to an address also in the envelope): the
        logs name addresses, so a DSN "about" such an address cannot be told apart."""
        return any(f.visited & g.visited for g in self.fates.values() if g is not f)

    @property
    def sender(self) -> str:
        return self.story.sent.envelope.sender.lower()

    def notify(self, address: str) -> tuple[str, ...]:
        for r in self.story.sent.envelope.recipients:
            if r.address.lower() == address:
                return tuple(n.upper() for n in r.notify)
        return ()


def _hops(story: Story, address: str) -> list[Hop]:
    """The message's hops for `address`: to it, or to what the server's own aliases rewrote it to (orig_to)."""
    return [h for h in story.hops if not h.dsn and address in (h.recipient.lower(), h.original.lower())]


def final_delivery(h: Hop, nodes: Mapping[str, NodeView]) -> bool:
    """Whether the hop ends the message's way: a mailbox of the node, a mock next hop that said 250, or a server on
    the node itself that did not queue it again (LMTP to Dovecot, which Postfix logs as a relay to its own host:
    "250 2.0.0 <jill@...> Saved"; a content filter there answers "queued as" and the message comes back)."""
    if h.dsn:
        return False
    if h.kind == "delivered":
        return True
    if h.kind != "relayed":
        return False
    return (h.peer in nodes and nodes[h.peer].kind == "mock") or (h.peer == h.node and not queued_as(h.detail))


def fate_of(j: Judged, address: str, refused: bool) -> Fate:
    fate = Fate(refused=refused)
    if refused:
        return fate
    forwards = j.forwards
    nodes = j.story.directory.nodes
    expired = {h.node for h in j.story.hops if h.kind == "expired" and not h.dsn}
    todo, seen, counted = [address], set(), set()
    while todo:
        addr = todo.pop()
        if addr in seen:
            continue
        seen.add(addr)
        for h in _hops(j.story, addr):
            if id(h) in counted:  # found twice: by its address and by the one the server rewrote (orig_to)
                continue
            counted.add(id(h))
            if h.recipient.lower() != addr:  # the server's own aliases took it there: followed, as a forward is
                todo.append(h.recipient.lower())
            if final_delivery(h, nodes):
                fate.delivered += 1
                fate.finals.append(h.recipient.lower())
            elif h.kind == "bounced":
                fate.bounced_at.append(h.node)
            elif h.kind == "deferred":
                fate.deferred_at.append(h.node)
                if h.node in expired:
                    fate.bounced_at.append(h.node)
        # Where the applied faults forward it: by an alias or .forward (a "forwarded" hop), or by a virtual alias,
        # which rewrites the address as the message arrives (no hop of its own: the next lines name the target).
        todo += forwards.get(addr, [])
    fate.bounced_at = list(dict.fromkeys(fate.bounced_at))
    fate.visited = seen
    return fate


def judged(world: MailTopology, story: Story) -> Judged:
    """What the guarantees read: the story, the forwards the world's applied faults make, the DSNs delivered."""
    from ..faults import DiskFull, Forward, QueueLifetime

    forwards: dict[str, list[str]] = {}
    lifetimes: dict[str, float] = {}
    for f in world.faults:  # in the order applied: the last lifetime set on a node wins, as in the ledger
        if isinstance(f, Forward):
            forwards.setdefault(f"{f.user}@{world.node(f.node).domain}".lower(), []).append(f.to.lower())
        elif isinstance(f, (QueueLifetime, DiskFull)):
            value = f.lifetime if isinstance(f, QueueLifetime) else f.retry_for
            if value.rstrip("s").isdigit():
                lifetimes[world.node(f.node).name] = float(value.rstrip("s"))
    messages: dict[str, EmailMessage] = {}
    for d in story.dsns:
        if d.delivered_at and d.to and d.message_id:
            for m in world.mailbox(d.to).messages():
                if str(m["Message-ID"]).strip() == d.message_id:
                    messages[d.message_id] = m
    return Judged(story, forwards, messages, lifetimes, _copies_out(world, story))


def _copies_out(world: MailTopology, story: Story) -> list[tuple[str, str, str]]:
    """Postmaster copies (notify_classes) of a notification about this message, delivered outside their node."""
    from .. import evidence
    from ..evidence.events import MailTimeout

    mine = {(h.node, h.queue_id) for h in story.hops if h.queue_id and not h.dsn}
    out = []
    for n in evidence.postmaster_notices(world.log()):
        if (n.node, n.queue_id) not in mine:
            continue
        try:
            world.wait_log(lambda e, n=n: e.node == n.node and e.queue_id == n.dsn_queue_id  # type: ignore[misc]
                           and e.get("status") in ("sent", "bounced", "deferred"), timeout=3.0,
                           what=f"{n.node}'s postmaster copy {n.dsn_queue_id} handed on")
        except MailTimeout:
            continue  # not handed on yet: nothing to judge
        for d in evidence.deliveries(world.log(n.node)):
            if d.queue_id == n.dsn_queue_id and d.recipient:
                try:
                    owner = world.node(d.recipient).name
                except KeyError:
                    owner = ""
                if owner != n.node:
                    out.append((n.node, n.kind, d.recipient))
    return out


def assert_guarantees(world: MailTopology, story: Story, *guarantees: str) -> None:
    """Assert the guarantees (all, or those named) on a message's story, as `mailharness explore` checks them:
    the AssertionError names each violation, its RFC, and the message's path."""
    unknown = [g for g in guarantees if g not in GUARANTEES]
    if unknown:
        raise UsageError(f"unknown guarantee(s) {unknown}; the guarantees: {', '.join(GUARANTEES)}")
    found = [v for v in judge(judged(world, story)) if not guarantees or v.guarantee in guarantees]
    if found:
        lines = [f"{v.guarantee} ({v.rfc}): {v.what}" for v in found]
        raise VerdictError("guarantees broken:\n  " + "\n  ".join(lines) + "\nwhat happened:\n" + story.render())


def about(j: Judged, d: EmittedDsn) -> list[str]:
    """The recipients a DSN reports on: from the DSN itself when it was delivered (Final- and Original-Recipient),
    otherwise the verdict's estimate (the recipients its node handled)."""
    msg = j.dsn_messages.get(d.message_id)
    if msg is not None:
        parsed = parse_dsn(msg)
        if not isinstance(parsed, NotADSN):
            return [a.lower() for r in parsed.recipients for a in (r.address, r.original_address) if a]
    return [a.lower() for a in d.about]


def judge(j: Judged) -> list[Violation]:
    """Every guarantee, checked on one story."""
    t = j.story.sent.transcript
    env = j.story.sent.envelope
    replies = t.rcpt_replies
    for i, r in enumerate(env.recipients):
        refused = not t.accepted or (i < len(replies) and not replies[i].ok)
        j.fates[r.address.lower()] = fate_of(j, r.address.lower(), refused)
    checks: list[Callable[[Judged], list[Violation]]] = [conservation, no_backscatter, responsibility,
                                                         compliance, notify_semantics]
    return [v for check in checks for v in check(j)]


# -- the guarantees ------------------------------------------------------------------------------------------------
def conservation(j: Judged) -> list[Violation]:
    """Each recipient ends in exactly one of: delivered once, refused in the dialogue, accepted and then one failed
    DSN to the envelope sender (unless NOTIFY=NEVER or a null sender), still being retried. Never silently
    dropped, never delivered twice, never a DSN to anyone but the envelope sender."""
    out = []
    pending = bool(j.story.pending)
    finals: dict[str, int] = {}
    for f in j.fates.values():
        for a in dict.fromkeys(f.finals):
            finals[a] = finals.get(a, 0) + 1
    for address, f in j.fates.items():
        if f.refused:
            continue
        if not f.delivered and not f.bounced_at and not (pending and f.deferred_at):
            if pending:
                continue  # still on its way (a copy queued somewhere): not dropped, not yet known
            out.append(Violation(CONSERVATION, f"{address} was accepted, then neither delivered, nor bounced, "
                                               "nor kept for retrying: silently dropped", "dropped"))
        notify = j.notify(address)
        if f.bounced_at and j.sender and "NEVER" not in notify and (not notify or "FAILURE" in notify):
            failed = [d for d in j.story.dsns if d.kind == "failed" and d.node in f.bounced_at]
            if not failed:
                held = [n for n, _ in j.story.pending if n in f.bounced_at]
                why = (f"; {held[0]} still holds the message: its DSN could not be made (e.g. a DSN larger "
                       "than the server's own message size limit)") if held else ""
                out.append(Violation(CONSERVATION, f"{address} was bounced at {', '.join(f.bounced_at)} and no "
                                                   f"failed DSN went to <{j.sender}>{why}", "bounced without a DSN"))
    for address, n in finals.items():
        got = sum(1 for h in j.story.hops if h.recipient.lower() == address
                  and final_delivery(h, j.story.directory.nodes))
        if got > n:
            out.append(Violation(CONSERVATION, f"{address} was delivered {got} times (expected {n})",
                                 "delivered twice"))
    for node, qid in j.story.pending:
        life = j.lifetimes.get(node)
        returned = any(d.node == node and d.kind == "failed" for d in j.story.dsns)
        if life is not None and life <= LIFETIME_JUDGED and not returned:
            out.append(Violation(CONSERVATION, f"{node} still holds the message ({qid}) after its queue lifetime "
                                               f"of {life:g}s: neither delivered nor returned to the sender",
                                 "kept beyond its lifetime"))
    for h in j.story.hops:
        code = h.reply.enhanced if h.reply is not None else ""
        if not h.dsn and code and code.startswith("4.") and code[2:] in ONLY_PERMANENT:
            out.append(Violation(CONSERVATION, f"{h.peer if h.kind != 'rejected' else h.node} answered "
                                               f"<{h.recipient}> with {h.reply} : X.{code[2:]} is only useful for "
                                               "permanent failures (RFC 3463 s3.2), so the message waits out its "
                                               "lifetime instead of being returned", "permanent failure deferred"))
            break
    for node, kind, rcpt in j.copies_out:
        out.append(Violation(CONSERVATION, f"{node} sent a copy of its {kind} notification about the message to "
                                           f"<{rcpt}>, outside {node} (notify_classes, *_notice_recipient): a third "
                                           "party reads the bounce", "notification copy to a third party"))
    for d in j.story.dsns:
        if d.to and d.to.lower() != j.sender:
            out.append(Violation(CONSERVATION, f"a {d.kind} DSN from {d.node} went to <{d.to}>, not to the "
                                               f"envelope sender <{j.sender}>", "DSN to someone else"))
    return out


def no_backscatter(j: Judged) -> list[Violation]:
    """No DSN to a null sender or for a NOTIFY=NEVER recipient, and none for a failure the server could have
    known at RCPT time (the verdict's own no_backscatter)."""
    try:
        j.story.assert_no_backscatter()
    except VerdictError as exc:
        problems = str(exc).split("nearest candidates:\n", 1)[-1].split("\nwhat happened:", 1)[0]
        first = problems.strip().splitlines()[0].strip() if problems.strip() else str(exc).splitlines()[0]
        key = "accepted then bounced" if "should have rejected at RCPT" in first else first.split(" from ")[0]
        return [Violation(BACKSCATTER, first, key)]
    return []


def responsibility(j: Judged) -> list[Violation]:
    """A failed DSN comes from a server that held the message when its delivery failed (it bounced there), and
    names the remote MTA that refused, where one did."""
    out = []
    gave_up = {n for f in j.fates.values() for n in f.bounced_at}
    for d in j.story.dsns:
        if d.kind == "failed" and d.node not in gave_up and d.about:
            out.append(Violation(RESPONSIBILITY, f"{d.node} sent a failed DSN about {', '.join(d.about)} but did "
                                                 "not hold the message when its delivery failed",
                                 "DSN from the wrong server"))
    for h in j.story.hops:
        if h.dsn or h.kind != "bounced" or h.reply is None or not h.peer:
            continue
        peer = j.story.directory.nodes.get(h.peer)
        msg = next((m for d in j.story.dsns if d.node == h.node and d.kind == "failed"
                    for mid, m in j.dsn_messages.items() if mid == d.message_id), None)
        if peer is None or msg is None:
            continue
        try:
            assert_dsn(msg, recipient=h.recipient, remote_mta=peer.hostname, profile="postfix")
        except AssertionError as exc:
            line = next((ln.strip() for ln in str(exc).splitlines() if "Remote-MTA" in ln or "not in the DSN" in ln),
                        "")
            if line:
                out.append(Violation(RESPONSIBILITY, f"{h.node}'s DSN about {h.recipient}, refused by "
                                                     f"{peer.hostname}: {line}", "remote MTA not named"))
    return out


def compliance(j: Judged) -> list[Violation]:
    """Every DSN delivered passes the checklist of the `postfix` profile (Postfix's known departures listed there,
    not counted)."""
    out = []
    env = j.story.sent.original_envelope()
    for d in j.story.dsns:
        msg = j.dsn_messages.get(d.message_id)
        if msg is None:
            continue
        try:
            assert_dsn(msg, envelope=env, profile="postfix")
        except AssertionError as exc:
            errors = [ln.strip() for ln in str(exc).splitlines() if "error" in ln.lower() and ln.startswith("  ")]
            rule = errors[0].split()[0] if errors else "?"
            out.append(Violation(COMPLIANCE, f"the {d.kind} DSN from {d.node}: "
                                             f"{errors[0] if errors else str(exc).splitlines()[0]}", rule))
    return out


def notify_semantics(j: Judged) -> list[Violation]:
    """NOTIFY=SUCCESS: a success DSN ("delivered", "relayed" or "expanded") once delivered by a server that keeps
    the responsibility for it; DELAY: a delayed DSN only where there was a delay; NEVER: nothing."""
    out = []
    for address, f in j.fates.items():
        notify = j.notify(address)
        if f.refused or not j.sender or not notify or j.shared(f):
            continue
        about_me = [d for d in j.story.dsns if address in about(j, d)]
        if "DELAY" not in notify and any(d.kind == "delayed" for d in about_me):
            out.append(Violation(NOTIFY, f"a delayed DSN about {address}, who asked NOTIFY={','.join(notify)}",
                                 "delayed DSN not asked for"))
        if "DELAY" in notify and not f.deferred_at and any(d.kind == "delayed" for d in about_me):
            out.append(Violation(NOTIFY, f"a delayed DSN about {address} with no delay", "delayed without delay"))
        postfix_final = any(h.kind == "delivered" for a in f.finals for h in _hops(j.story, a))
        if "SUCCESS" in notify and postfix_final and f.delivered and not f.bounced_at and not j.story.pending:
            if not any(d.kind == "delivered" for d in j.story.dsns):
                out.append(Violation(NOTIFY, f"{address} (NOTIFY={','.join(notify)}) was delivered and no success "
                                             "DSN was sent", "no success DSN"))
        if "SUCCESS" not in notify and f.delivered and not f.bounced_at \
                and any(d.kind == "delivered" for d in about_me):
            out.append(Violation(NOTIFY, f"a success DSN about {address}, who asked NOTIFY={','.join(notify)}",
                                 "success DSN not asked for"))
    return out
