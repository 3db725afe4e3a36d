"""The SMTP smuggling probe: each published variant against one node of a topology, and a search for the message it
smuggled, in the logs and in the mailboxes of the whole topology.

    report = probe_smuggling(world, "library", recipient="jill@library.example", sender="jack@store.example")
    assert not report.vulnerable, report.render()

It speaks SMTP over a socket and names no MTA setting: it judges what the server does. Whether the server treats
the probe's own address as a trusted client (one it lets send bare line feeds) is the MTA package's to say
(`MtaNode.lenient_to`, with `SmugglingReport.client`).
"""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .. import evidence
from ..loadgen.settle import MailboxFile, mailbox_files
from ..mail import parse_message
from ..mta.base import MtaNode
from ..nodes.base import in_parallel
from ..nodes.mock import MockNode
from ..sent import Sent
from ..smtp import Envelope, Exchange, Reply, Stage, Transcript
from .session import Line, Pacer, Session, run
from .variants import CONTROL, VARIANTS, Variant, control_wire, wire

if TYPE_CHECKING:
    from ..verdict import Story
    from ..world import MailTopology


@dataclass(frozen=True)
class Found:
    """Where a message the probe sent was found again, by its Message-ID: the copies the servers logged as
    queued, the mailboxes (and mock servers) that hold it, and its text as stored (the first of them)."""

    message_id: str
    """The Message-ID looked for, <...> (it carries the probe's marker)."""
    queued: tuple[str, ...] = ()
    """"library: 4F2A31C0B3" for each copy a server's log shows queued."""
    mailboxes: tuple[str, ...] = ()
    """"library: jill" for each mailbox that holds it, "edu (mock)" for a mock server that accepted it."""
    files: tuple[str, ...] = ()
    """Where, one for each of `mailboxes` ("library:/var/mail/jill/new/...")."""
    text: str = ""
    """The stored copy (its first 4000 bytes), as read from the first mailbox that holds it."""
    story: Story | None = None
    """Its path through the topology (`Story`), when a server logged it."""

    @property
    def anywhere(self) -> bool:
        """A server logged it, or a mailbox holds it."""
        return bool(self.queued or self.mailboxes)

    def render(self) -> str:
        """Where it was found, its stored text and its path, as lines."""
        where = "; ".join([*(f"queued at {q}" for q in self.queued), *(f"in {m}" for m in self.files)])
        out = [f"{self.message_id}: {where or 'found nowhere'}"]
        if self.text:
            out += ["  as stored:", *(f"    {ln}" for ln in self.text.splitlines())]
        if self.story is not None:
            out += ["  its path:", *(f"    {ln}" for ln in self.story.render().splitlines())]
        return "\n".join(out)


@dataclass
class VariantResult:
    """What one variant did to the server: its transcript, whether the server ended DATA before the probe's own
    end of data, and the second message, when a server accepted it (found in the logs or a mailbox)."""

    variant: Variant
    """The variant sent."""
    session: Session
    """Its session: the transcript and the replies."""
    ended_early: bool = False
    """The server answered the carrier before the probe's own end of data (it replied to the smuggled commands)."""
    smuggled: Found | None = None
    """Where the smuggled message was found; None when nothing was smuggled (or the variant smuggles nothing)."""
    carrier: Found | None = None
    """Where the carrier was found (looked for by the variants with a bare character inside a line)."""

    @property
    def vulnerable(self) -> bool:
        """The server ended DATA at the smuggled sequence, or took the smuggled message (ending variants only)."""
        return self.variant.smuggles and (self.ended_early or self.smuggled is not None)

    @property
    def transcript(self) -> list[Line]:
        """The session, line by line (client, server, notes)."""
        return self.session.lines

    @property
    def carrier_reply(self) -> Reply | None:
        """The server's reply to what it took for the carrier's end of data (None: it never replied)."""
        return self.session.after[0] if self.session.after else None

    @property
    def stored_as(self) -> str:
        """For a bare <CR> or <LF> inside a line: how the stored carrier has it ("kept", "a line end", "replaced
        by a space", or "" when the carrier was not found)."""
        if self.carrier is None or not self.carrier.text or not self.variant.inside:
            return ""
        text = self.carrier.text
        crlf = "\r\n" in text  # stored with <CR><LF> line ends (a mock's spool), or <LF> ones (a Maildir file)
        if "line one line two" in text:
            return "replaced by a space"
        if "line one\r\nline two" in text or (not crlf and "line one\nline two" in text):
            return "a line end"
        if f"line one{self.variant.inside.decode()}line two" in text:
            return "kept"
        return "changed otherwise"

    def outcome(self) -> str:
        """One line: what happened."""
        s = self.session
        if s.stopped:
            return f"not tried: {s.stopped}"
        if self.variant.inside:
            reply = self.carrier_reply
            took = f"refused ({reply})" if reply is None or not reply.ok else "accepted"
            return f"{took}; stored: {self.stored_as or 'not found'}"
        parts = ["ended DATA early" if self.ended_early else "did not end DATA early"]
        if self.smuggled is not None:
            found = self.smuggled
            where = f"delivered to {', '.join(found.mailboxes)}" if found.mailboxes else "in no mailbox yet"
            parts.append(f"the smuggled message was accepted (queued at {', '.join(found.queued) or '?'}; {where})")
        elif self.ended_early:
            refused = next((r for r in s.after[1:] if not r.ok), None)
            parts.append(f"the smuggled message was refused ({refused})" if refused else
                         "the smuggled message was not found")
        return ", ".join(parts)

    def render(self) -> str:
        """The outcome, the transcript, and the smuggled message where one was found."""
        head = f"{self.variant.name} ({self.variant.label}): {self.outcome()}"
        out = [head, *(f"  {ln.render()}" for ln in self.session.lines)]
        if self.smuggled is not None:
            out += ["  the smuggled message:", *(f"    {ln}" for ln in self.smuggled.render().splitlines())]
        return "\n".join(out)


@dataclass
class SmugglingReport:
    """The probe's findings on one node: a result per variant. ``str(report)`` renders it."""

    node: str
    """The node probed."""
    client: str
    """The address the node saw the probe's connections come from."""
    release: str = ""
    """The node's MTA and release ("Postfix 3.10"), "" for a mock node."""
    results: list[VariantResult] = field(default_factory=list)
    """One per variant, in the order they were given."""

    @property
    def vulnerable(self) -> bool:
        """A variant made the server end DATA early, or got a smuggled message accepted."""
        return any(r.vulnerable for r in self.results)

    @property
    def smuggled(self) -> list[VariantResult]:
        """The variants whose smuggled message a server accepted."""
        return [r for r in self.results if r.smuggled is not None]

    def result(self, name: str) -> VariantResult:
        """The result of the variant named `name` ("lf-dot-crlf"); KeyError naming those probed otherwise."""
        for r in self.results:
            if r.variant.name == name:
                return r
        raise KeyError(f"no variant {name!r} in this report; probed: {', '.join(r.variant.name for r in self.results)}")

    def render(self, transcripts: bool = True) -> str:
        """A line per variant, then the transcript of each variant that found the server vulnerable (all of them
        with `transcripts` and none vulnerable)."""
        verdict = "VULNERABLE to SMTP smuggling" if self.vulnerable else "not vulnerable to SMTP smuggling"
        out = [f"{self.node} ({self.release or 'mock'}), probed from {self.client}: {verdict}"]
        out += [f"  {r.variant.name:12} {r.outcome()}" for r in self.results]
        if transcripts:
            shown = [r for r in self.results if r.vulnerable] or self.results
            out += ["", *("\n".join(["", r.render()]) for r in shown)]
        return "\n".join(out)

    def __str__(self) -> str:
        return self.render()


def probe_smuggling(world: MailTopology, node: str, *, recipient: str, sender: str, forged_sender: str = "",
                    variants: Sequence[Variant] = VARIANTS, pause: float = 2.0, timeout: float = 20.0,
                    ) -> SmugglingReport:
    """Send each of `variants` to `node` (name, domain or address) of `world`, all sessions at once, and look for
    what each smuggled: in every node's log (the Message-ID of each queued copy) and in every mailbox of the
    topology (its MTA nodes' and its mock servers'), waiting for the copies a log shows until they are settled
    (the message's story, harness.verdict) and never longer than `timeout`.

    :param recipient: the carrier's recipient and the smuggled message's: an address `node` accepts.
    :param sender: the carrier's sender (the attacker's own account at the outbound server).
    :param forged_sender: the smuggled message's sender; default ``ceo@`` the sender's domain.
    :param pause: the longest a split variant waits for the server's replies before it sends the rest; it waits
        less where the server answers quickly (a session beside the variants ends DATA the right way and times
        the server's four replies: harness.smuggling.session.Pacer).
    :param timeout: seconds for each step of a session, and for the search.
    """
    target = world.node(node)
    forged = forged_sender or f"ceo@{sender.rpartition('@')[2] or 'mailharness.test'}"
    token = uuid.uuid4().hex[:10]
    wires = [wire(v, token=f"{token}-{i}", sender=sender, rcpt=recipient, forged=forged) for i, v in
             enumerate(variants)]
    pacer = Pacer(pause)
    session = functools.partial(run, ip=target.ip, connect=world.access.connect,
                                client_address=world.access.client_address, sender=sender, rcpt=recipient,
                                pacer=pacer, timeout=timeout)
    pace = functools.partial(session, CONTROL, control_wire(token=f"{token}-pace", sender=sender, rcpt=recipient),
                             control=True)
    *sessions, _ = in_parallel([*(functools.partial(session, v, w) for v, w in zip(variants, wires, strict=True)),
                                pace])
    results = [VariantResult(v, s, ended_early=bool(s.early) or len(s.after) > 1)
               for v, s in zip(variants, sessions, strict=True)]
    deadline = time.monotonic() + timeout
    world.sync_logs()
    copies = _queued(world)
    # What each variant sent that a server took: the smuggled message, or (bare characters) the carrier.
    looked: list[tuple[VariantResult, str, Sent]] = []
    for r, w in zip(results, wires, strict=True):
        if r.session.stopped:
            continue
        if r.variant.smuggles:
            env = Envelope.of(forged, [recipient])
            looked.append((r, w.smuggled_id, Sent(env, _smuggled_transcript(r.session, env),
                                                  parse_message(w.smuggled), target.name, world)))
        elif r.carrier_reply is not None and r.carrier_reply.ok:
            env = Envelope.of(sender, [recipient])
            t = Transcript(r.session.server, env, [Exchange("END-OF-MESSAGE", "<carrier>", r.carrier_reply,
                                                            time.time())])
            looked.append((r, w.carrier_id, Sent(env, t, parse_message(w.first.partition(b"\r\n.\r\n")[0]),
                                                 target.name, world)))
    # The copies a log shows are followed until they are settled (delivered, bounced: their story), then every
    # mailbox is read once.
    stories = {mid: sent.verdict(timeout=max(1.0, deadline - time.monotonic())) for _, mid, sent in looked
               if copies.get(mid)}
    held = _held(world, {mid for _, mid, _ in looked})
    for r, mid, _ in looked:
        found = Found(mid, tuple(f"{n}: {q}" for n, q in copies.get(mid, [])), *held.get(mid, ((), (), "")),
                      story=stories.get(mid))
        if r.variant.smuggles:
            r.smuggled = found if found.anywhere else None
        else:
            r.carrier = found
    release = target.release if isinstance(target, MtaNode) else ""
    client = next((s.client for s in sessions if s.client), "")
    return SmugglingReport(target.name, client, release, results)


def _queued(world: MailTopology) -> dict[str, list[tuple[str, str]]]:
    """Message-ID -> the (node, queue id) of each copy the logs show, since the last reset."""
    out: dict[str, list[tuple[str, str]]] = {}
    for key, mid in evidence.message_ids(world.log()).items():
        out.setdefault(mid, []).append(key)
    return out


def _smuggled_transcript(s: Session, env: Envelope) -> Transcript:
    """The smuggled transaction as the server answered it: its MAIL, RCPT, DATA and end of data."""
    t = Transcript(s.server, env)
    commands: tuple[tuple[Stage, str], ...] = (
        ("MAIL", f"MAIL FROM:<{env.sender}>"), ("RCPT", f"RCPT TO:<{env.recipients[0].address}>"),
        ("DATA", "DATA"), ("END-OF-MESSAGE", "<smuggled message>"))
    for (stage, command), reply in zip(commands, s.after[1:], strict=False):
        t.exchanges.append(Exchange(stage, command, reply, time.time()))
    return t


def _mailbox(f: MailboxFile) -> str:
    """"library: jill" for a mailbox file; below a folder of the harness's own (".mh_home/jill/Maildir/new/..." for
    a configuration's home_mailbox), the folders that name the owner."""
    if not f.user.startswith("."):
        return f"{f.node}: {f.user}"
    rest = f.path.split(f"/{f.user}/", 1)[-1].split("/")[:-1]
    owner = "/".join(p for p in rest if p not in ("new", "cur", "tmp", "Maildir"))
    return f"{f.node}: {owner or f.user}"


def _held(world: MailTopology, wanted: set[str]) -> dict[str, tuple[tuple[str, ...], tuple[str, ...], str]]:
    """Message-ID -> the mailboxes that hold it, where, and its stored text (the first copy's first 4000 bytes):
    every MTA node's mailboxes (the census) and every mock server's accepted messages, each read once."""
    found: dict[str, tuple[list[str], list[str], str]] = {}
    mtas = [n for n in world.nodes.values() if isinstance(n, MtaNode) and n.alive]
    for f in mailbox_files(mtas):
        if f.message_id in wanted:
            boxes, paths, text = found.setdefault(f.message_id, ([], [], ""))
            boxes.append(_mailbox(f))
            paths.append(f"{f.node}:{f.path}")
            if not text:
                raw = world.nodes[f.node].read(["head", "-c", "4000", f.path])
                found[f.message_id] = (boxes, paths, raw.decode("utf-8", "replace"))
    for n in world.nodes.values():
        if not (isinstance(n, MockNode) and n.alive):
            continue
        for m in n.messages:
            for mid in wanted:
                if m.accepted and mid.encode() in m.data:
                    boxes, paths, text = found.setdefault(mid, ([], [], ""))
                    boxes.append(f"{n.name} (mock)")
                    paths.append(f"{n.name} (mock): message {m.id}")
                    found[mid] = (boxes, paths, text or m.data.decode("utf-8", "replace")[:4000])
    return {mid: (tuple(b), tuple(p), t) for mid, (b, p, t) in found.items()}
