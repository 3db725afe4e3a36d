"""The story of one sent message: questions that answer, and assertions that raise.

    story = sent.verdict()
    story.assert_rejected_by("library.example", stage="RCPT", status="5.1.1")
    dsn = story.bounced_by("store.example", to="jack@store.example")   # the DSN, as delivered
    story.assert_no_backscatter()
    assert not story.delivered_to("jill@example.edu"), story          # a question: True or False

Each question (`accepted_by`, `rejected_by`, `unreachable`, `delivered_to`, `failed_at`, `no_dsn`,
`no_backscatter`) answers True or False. Its assertion (`assert_accepted_by`, ...) returns nothing or raises
VerdictError, whose message says what was expected, the nearest candidates, and the message's whole path, hop by
hop (`str(story)`). The Story is a list of Hops (what happened to the message, or to a DSN about it, on one node)
and of the DSNs the nodes emitted, drawn by `render`. It keeps two narrow doors to the world (harness.ports): the
node directory, for the names in assertions, and the mailboxes, where bounced_by reads the DSN.
harness.verdict.linking gathers it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage

from ..errors import MailharnessError
from ..evidence.records import TlsSession
from ..keywords import keywords
from ..ports import Mailboxes, NodeDirectory, Submission
from ..smtp import Reply, Stage, as_stage

# Names users try for the checks' keywords (harness.keywords): the reply's parts, the recipient, the DSN's addressee.
_HINTS = {"enhanced": "status", "enhanced_status": "status", "reply": "code", "at": "stage", "rcpt": "recipient",
          "address": "recipient", "sender": "to", "from_node": "by", "client": "by"}
HARNESS = "harness"  # the harness's own SMTP client, as a node of the story
SESSION_FAILURES = ("unreachable", "lost")  # hop kinds of a session that ended without a reply


class VerdictError(MailharnessError, AssertionError):
    """What was expected, and the message's whole path."""


@dataclass(frozen=True)
class Hop:
    """One thing that happened to the message (or a DSN about it) on one node: an element of `Story.hops`, in the
    order it happened. ``str(story)`` draws them one a line."""

    seq: int
    """Its place in the topology's event log (-1 for the harness's own submission)."""
    node: str
    """The node where it was logged ("harness" for the submission)."""
    kind: str
    """What happened: accepted, rejected, relayed, delivered, forwarded, deferred, bounced, expired, held (set
    aside: Exim froze it, Postfix put it on hold; nothing more happens to it until it is released); and for a
    session that ended without a reply: unreachable (at CONNECT: refused, timed out, no route) or lost (later:
    closed, timed out)."""
    recipient: str = ""
    """The recipient it is about ("" for the whole message)."""
    peer: str = ""
    """The other node: the next hop, or the client that was rejected ("harness" for the harness's client)."""
    stage: Stage | None = None
    """Where in the SMTP session a refusal, a reply or a failed session came (RCPT, END-OF-MESSAGE...)."""
    reply: Reply | None = None
    """The SMTP reply the hop got, when there was one."""
    status: str = ""
    """The enhanced status of the outcome ("5.1.1"), as the node logged it."""
    detail: str = ""
    """The rest of what the node said (Postfix's text in parentheses, a failed session's reason)."""
    queue_id: str = ""
    """The node's queue id for the copy concerned."""
    dsn: bool = False
    """True for a hop of a DSN about the message, not of the message itself."""
    original: str = ""
    """The recipient as the message first had it, where the server's own aliases, a .forward or a virtual alias
    rewrote it (Postfix's orig_to); "" when it was not rewritten."""
    tls: TlsSession | None = None
    """The TLS session a delivery to the next hop went over, as the sending node's log said it (protocol, whether
    the certificate verified, and why not); None: in clear, or the log said nothing of it."""
    tls_required: str = ""
    """Why the sending node's policy required TLS for this hop when it happened ("TlsPolicy(library, level=
    'encrypt')", or YOUR configuration's own policy for its relayhost); "" when it did not, or the harness cannot
    tell. A hop relayed in clear with it set is one that should have been encrypted and was not."""

    @property
    def in_clear_against_policy(self) -> bool:
        """The message went on to the next hop in clear although the sending node's policy required TLS."""
        return self.kind == "relayed" and self.tls is None and bool(self.tls_required)

    def render(self, names: Mapping[str, str] | None = None) -> str:
        """The hop on one line, as `Story.render` lists it ("store -> library: relayed <jill@library.example> ...");
        `names`: how to name nodes other than by their node name (`Story.names`)."""
        names = names or {}
        node, peer = names.get(self.node, self.node), names.get(self.peer, self.peer)
        what = f"{'DSN ' if self.dsn else ''}{self.kind}"
        rcpt = f" <{self.recipient}>" if self.recipient else ""
        if self.kind == "rejected":
            return f"{node}: rejected{rcpt} from {peer} at {self.stage}: {self.reply}"
        if self.kind == "accepted":
            return f"{node}: accepted from {peer}: {self.reply}"
        if self.kind == "unreachable":
            return f"{node}: {what} from {peer} at {self.stage}: {self.detail}"
        if self.kind == "lost":
            return f"{node}: {'DSN ' if self.dsn else ''}session with {peer} lost at {self.stage}: {self.detail}"
        tls = f" [{self.tls.describe()}]" if self.tls is not None else \
            f" [in clear, TLS required: {self.tls_required}]" if self.in_clear_against_policy else ""
        if self.reply is not None:
            return f"{node}: {what}{rcpt}, {peer or 'the next hop'} said at {self.stage or '?'}: {self.reply}{tls}"
        who = f"{node} -> {peer}" if peer else node
        at = f" at {self.stage}" if self.stage else ""
        tail = f" ({self.status}{', ' if self.status and self.detail else ''}{self.detail})" \
            if self.status or self.detail else ""
        return f"{who}: {what}{rcpt}{at}{tail}{tls}"


@dataclass
class EmittedDsn:
    """A DSN a node created: its kind, to whom, and where it was finally delivered (an element of `Story.dsns`).
    The message itself: `Story.bounced_by`."""

    node: str
    """The node that created it."""
    queue_id: str
    """Its queue id on that node."""
    kind: str
    """"failed" (non-delivery), "delayed" or "delivered" (success)."""
    to: str = ""
    """The address it was sent to (the original envelope sender)."""
    delivered_at: str = ""
    """The node whose mailbox got it ("" while it is not delivered)."""
    message_id: str = ""
    """Its Message-ID."""
    about: tuple[str, ...] = ()
    """The recipients it reports on (those bounced or deferred at that node)."""
    about_original: tuple[str, ...] = ()
    """The same, as the message first had them (where an alias, .forward or virtual alias rewrote one)."""


@dataclass
class Story:
    """Everything that happened to one sent message, on every node: ``story = sent.verdict()``.

    Each check comes twice. A question (`accepted_by`, `rejected_by`, `unreachable`, `delivered_to`, `failed_at`,
    `no_dsn`, `no_backscatter`) answers True or False and never raises for what did or did not happen: use it for
    a negative check, ``assert not story.delivered_to("jill@example.edu"), story`` (the story as the message shows
    the whole path when it fails). Its assertion (`assert_accepted_by`, ...) returns nothing or raises
    `VerdictError`, which says what was expected, the nearest candidates and the whole path. Nodes are named by
    node name, domain, host name or an address in the domain ("library", "library.example"); an unknown one is a
    mistake and raises (KeyError), in a question too.
    """

    sent: Submission
    """The message, as submitted (a `Sent`)."""
    directory: NodeDirectory = field(repr=False, compare=False)
    """How node names in the checks are resolved (the topology)."""
    mailboxes: Mailboxes = field(repr=False, compare=False)
    """Where `bounced_by` reads the DSN (the topology)."""
    hops: list[Hop] = field(default_factory=list)
    """What happened, hop by hop, in order (see `Hop`)."""
    dsns: list[EmittedDsn] = field(default_factory=list)
    """The DSNs the nodes created about the message (see `EmittedDsn`)."""
    accepted: list[str] = field(default_factory=list)
    """The nodes that took responsibility for the message (250 at the end of data), in order."""
    pending: list[tuple[str, str]] = field(default_factory=list)
    """(node, queue id) of the copies still queued when the story was gathered."""
    errors: list[str] = field(default_factory=list)
    """Fatal or panic lines any server logged meanwhile (their own words)."""

    # -- reading ---------------------------------------------------------------------------------------------
    @property
    def names(self) -> Mapping[str, str]:
        """How the story's text names the nodes a user knows by another name than the topology's: a node that runs
        YOUR configuration by its host name (mail.acme.test, not "library"); node name -> that name. The data
        (`hops`, `dsns`, `accepted`) keeps the node names, and the checks take either."""
        return self.directory.display_names

    def shown(self, node: str) -> str:
        """The name the story's text gives `node` (see `names`)."""
        return self.names.get(node, node)

    def render(self) -> str:
        """The whole story as text, hop by hop, then the DSNs (what ``str(story)`` and a failed check show)."""
        env = self.sent.envelope
        rcpts = ", ".join(r.address for r in env.recipients)
        lines = [f"message <{env.sender}> -> {rcpts} (Message-ID {self.sent.message['Message-ID']}), "
                 f"submitted to {self.shown(self.sent.via)}"]
        lines += [f"  {i}. {h.render(self.names)}" for i, h in enumerate(self.hops, 1)]
        for d in self.dsns:
            lines.append(f"  DSN ({d.kind}) from {self.shown(d.node)} to <{d.to or '?'}>"
                         + (f", delivered at {self.shown(d.delivered_at)}" if d.delivered_at
                            else ", not delivered (yet)"))
        if not self.dsns:
            lines.append("  no DSN was emitted")
        for node, qid in self.pending:
            lines.append(f"  still queued at {self.shown(node)}: {qid}")
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
        """The hops where a node refused during the SMTP dialogue."""
        return [h for h in self.hops if h.kind == "rejected"]

    def session_failures(self) -> list[Hop]:
        """The sessions that ended without a reply: unreachable at CONNECT, or lost later."""
        return [h for h in self.hops if h.kind in SESSION_FAILURES]

    # -- questions: True or False ------------------------------------------------------------------------------
    @keywords(hints=_HINTS)
    def accepted_by(self, node: str) -> bool:
        """Whether the node took responsibility for the message (queued it after 250 at the end of data)."""
        return _holds(self.assert_accepted_by, node)

    @keywords(hints=_HINTS)
    def rejected_by(self, node: str, *, stage: str | None = None, status: str | None = None,
                    code: int | None = None, recipient: str | None = None) -> bool:
        """Whether the node refused during the SMTP dialogue (see assert_rejected_by)."""
        return _holds(self.assert_rejected_by, node, stage=stage, status=status, code=code, recipient=recipient)

    @keywords(hints=_HINTS)
    def unreachable(self, node: str, *, stage: str | None = None, by: str | None = None) -> bool:
        """Whether a session with the node ended without a reply (see assert_unreachable)."""
        return _holds(self.assert_unreachable, node, stage=stage, by=by)

    @keywords(hints=_HINTS)
    def delivered_to(self, address: str) -> bool:
        """Whether the message (not a DSN) was delivered to `address` (after any forwarding)."""
        return _holds(self.assert_delivered_to, address)

    @keywords(hints=_HINTS)
    def failed_at(self, node: str, *, recipient: str | None = None) -> bool:
        """Whether the node gave up delivering the message (see assert_failed_at)."""
        return _holds(self.assert_failed_at, node, recipient=recipient)

    @keywords(hints=_HINTS)
    def no_dsn(self, node: str | None = None) -> bool:
        """Whether no DSN at all was emitted (by `node`, or by anyone)."""
        return _holds(self.assert_no_dsn, node)

    @keywords(hints=_HINTS)
    def no_backscatter(self) -> bool:
        """Whether no DSN went where none may go (see assert_no_backscatter)."""
        return _holds(self.assert_no_backscatter)

    # -- assertions: nothing, or VerdictError --------------------------------------------------------------------
    @keywords(hints=_HINTS)
    def assert_accepted_by(self, node: str) -> None:
        """The node took responsibility for the message (queued it after 250 at the end of data)."""
        name = self._node(node)
        if name not in self.accepted:
            raise self._fail(f"{self.shown(name)} accepted the message",
                             [f"accepted by {self.shown(n)}" for n in self.accepted])

    @keywords(hints=_HINTS)
    def assert_rejected_by(self, node: str, *, stage: str | None = None, status: str | None = None,
                           code: int | None = None, recipient: str | None = None) -> None:
        """The node refused during the SMTP dialogue (at `stage`, with `code` / enhanced `status`). The stage is
        read in any case and usual spelling ("rcpt", "EOD", "banner"); an unknown one raises UnknownStage. A server
        that gives no enhanced status codes (RFC 2034: it does not advertise ENHANCEDSTATUSCODES, as Exim) meets
        `status` with a reply that has none; a reply that has one must have that one."""
        name = self._node(node)
        want = as_stage(stage) if stage is not None else None
        cands = [h for h in self.rejections() if not h.dsn]
        for h in cands:
            if h.node == name and (want is None or h.stage == want) and \
                    (status is None or (h.reply is not None and self._status_matches(name, h.reply, status))) and \
                    (code is None or (h.reply is not None and h.reply.code == code)) and \
                    (recipient is None or h.recipient.lower() == recipient.lower()):
                return
        what = " ".join(x for x in (f"at {want}" if want else "", str(code or ""), status or "") if x)
        raise self._fail(f"rejected by {self.shown(name)} {what}".rstrip(), [h.render(self.names) for h in cands])

    def _status_matches(self, node: str, reply: Reply, status: str) -> bool:
        """The reply has the enhanced status `status`, or has none at all and comes from a server that gives none
        (RFC 2034 s3: only a server that advertises ENHANCEDSTATUSCODES must prefix its replies with one); the
        reply code itself is checked on its own (`code`)."""
        if reply.enhanced == status:
            return True
        n = self.directory.nodes.get(node)
        return reply.enhanced is None and n is not None and not n.enhanced_status_codes

    @keywords(hints=_HINTS)
    def assert_unreachable(self, node: str, *, stage: str | None = None, by: str | None = None) -> None:
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
                return
        what = " ".join(x for x in (f"from {peer}" if peer else "", f"at {want}" if want else "") if x)
        raise self._fail(f"no session with {self.shown(name)} {what}".rstrip(), [h.render(self.names) for h in cands])

    @keywords(hints=_HINTS)
    def assert_delivered_to(self, address: str) -> None:
        """The message (not a DSN) was delivered to `address` (after any forwarding)."""
        hits = [h for h in self.hops if h.kind == "delivered" and not h.dsn]
        if any(h.recipient.lower() == address.lower() for h in hits):
            return
        raise self._fail(f"delivered to {address}", [h.render(self.names) for h in hits])

    @keywords(hints=_HINTS)
    def assert_failed_at(self, node: str, *, recipient: str | None = None) -> None:
        """The node gave up delivering the message (not a DSN) to a recipient (`recipient`, if given): bounced or
        expired there, after it had accepted it. A scenario about what follows a failure asserts this first, so
        that it cannot pass when the failure never happened."""
        name = self._node(node)
        cands = [h for h in self.hops if not h.dsn and h.kind in ("bounced", "expired", "deferred")]
        for h in cands:
            if h.node == name and h.kind != "deferred" and \
                    (recipient is None or h.recipient.lower() == recipient.lower()):
                return
        what = f" to {recipient}" if recipient else ""
        raise self._fail(f"{self.shown(name)} gave up delivering the message{what} (bounced or expired)",
                         [h.render(self.names) for h in cands])

    @keywords(hints=_HINTS)
    def dsns_from(self, node: str) -> list[EmittedDsn]:
        """The DSNs that `node` created about the message (empty when none)."""
        name = self._node(node)
        return [d for d in self.dsns if d.node == name]

    @keywords(hints=_HINTS)
    def bounced_by(self, node: str, *, to: str | None = None, kind: str = "failed") -> EmailMessage:
        """The DSN of `kind` ("failed", "delayed" or "delivered") the node emitted that reached `to` (default: the
        original envelope sender), as delivered: an `email.message.EmailMessage` (check it with `assert_dsn`; keep
        it for ``mailharness dsn-lint`` with ``Path("bounce.eml").write_bytes(dsn.as_bytes())``). VerdictError
        when there is none; for a question, use `no_dsn` or `dsns_from`."""
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
        raise self._fail(f"a {kind} DSN from {self.shown(name)} delivered to {to}",
                         [f"DSN ({d.kind}) from {self.shown(d.node)} to {d.to} delivered at "
                          f"{self.shown(d.delivered_at) if d.delivered_at else '-'}"
                          for d in self.dsns])

    @keywords(hints=_HINTS)
    def assert_no_dsn(self, node: str | None = None) -> None:
        """No DSN at all (from `node`, or from anyone)."""
        found = self.dsns if node is None else self.dsns_from(node)
        if found:
            raise self._fail(f"no DSN from {self.names.get(self._node(node), node) if node else 'any node'}",
                             [f"DSN ({d.kind}) from {self.shown(d.node)} to {d.to}" for d in found])

    def _serves(self, node: str, address: str) -> bool:
        """The address's domain is one of the node's (its own or another it serves)."""
        try:
            return self.directory.node(address).name == node
        except KeyError:
            return False

    @keywords(hints=_HINTS)
    def assert_no_backscatter(self) -> None:
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
                problems.append(f"a DSN from {self.shown(d.node)} about NOTIFY=NEVER recipient(s) "
                                f"{', '.join(d.about_original or d.about)}")
        for h in self.hops:
            if h.kind == "bounced" and not h.dsn and h.status.startswith("5.1.") and h.node in self.accepted \
                    and "@" in h.recipient and self._serves(h.node, h.recipient) and self.dsns_from(h.node):
                problems.append(f"{self.shown(h.node)} accepted mail for {h.recipient}, then bounced it "
                                f"({h.status}): it should have rejected at RCPT; its DSN goes to whoever the sender "
                                "claimed to be")
        if problems:
            raise self._fail("no backscatter", problems)


def _holds(check: Callable[..., None], *args: object, **kwargs: object) -> bool:
    """The answer of an assertion: True when it passes, False when it raises VerdictError (any other error, such as
    an unknown node or stage, is the caller's mistake and is raised)."""
    try:
        check(*args, **kwargs)
    except VerdictError:
        return False
    return True
