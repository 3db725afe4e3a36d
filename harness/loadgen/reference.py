"""Postfix's own load generator, smtp-source, as the reference throughput for the harness's client.

It runs inside a node of the topology (edu by default) against the same server the load run submits to (store),
with as many parallel sessions, one message per session (as the harness's client), messages of about the same
size, to a recipient that is delivered. Its time is measured inside the container, around the command; what the
server accepted is read from the server's log (the queue manager's from= lines of its sender) once it drained.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .. import evidence
from ..errors import MailharnessError

if TYPE_CHECKING:
    from ..world import MailTopology

SMTP_SOURCE = "/usr/sbin/smtp-source"
_TIMING = re.compile(r"mailharness-timing rc=(?P<rc>\d+) t0=(?P<t0>[\d.]+) t1=(?P<t1>[\d.]+)")
_SCRIPT = ('t0=$(date +%s.%N); "$0" -s "$1" -m "$2" -l "$3" -f "$4" -t "$5" "$6:25" 2>&1; rc=$?; '
           't1=$(date +%s.%N); echo "mailharness-timing rc=$rc t0=$t0 t1=$t1"')


class SmtpSourceError(MailharnessError, RuntimeError):
    """smtp-source is missing from the node, or did not run."""


@dataclass(frozen=True)
class Reference:
    messages: int  # asked for
    accepted: int  # queued by the server (its log)
    seconds: float  # smtp-source's run time, measured inside the container
    exit_code: int
    output: str  # what smtp-source said (empty when all went well)
    command: str

    @property
    def accepted_per_s(self) -> float:
        return self.accepted / self.seconds if self.seconds > 0 else 0.0

    @classmethod
    def joined(cls, refs: Sequence[Reference]) -> Reference:
        """Several runs as one: messages, accepted and seconds added up; the first failing exit status."""
        return cls(sum(r.messages for r in refs), sum(r.accepted for r in refs), sum(r.seconds for r in refs),
                   next((r.exit_code for r in refs if r.exit_code), 0),
                   "\n".join(r.output for r in refs if r.output), refs[0].command)


def smtp_source(world: MailTopology, *, messages: int, sessions: int, size: int, sender: str, recipient: str,
                target: str = "store", runner: str = "edu") -> Reference:
    """Run smtp-source in `runner` against `target`'s port 25; the accepted count is read from `target`'s log (call
    it after the queues drained and the logs synced: see `count_accepted`)."""
    node = world.postfix(runner)
    ip = world.node(target).ip
    if node.exec(["sh", "-c", f"test -x {SMTP_SOURCE} && echo yes"], check=False).strip() != b"yes":
        raise SmtpSourceError(f"{SMTP_SOURCE} is not in {node.name}'s image (Debian's postfix package ships it)")
    args = [SMTP_SOURCE, str(sessions), str(messages), str(size), sender, recipient, ip]
    out = node.exec(["sh", "-c", _SCRIPT, *args], check=False).decode("utf-8", "replace")
    m = _TIMING.search(out)
    if m is None:
        raise SmtpSourceError(f"smtp-source did not run in {node.name}: {out.strip()[-2000:]}")
    said = out[:m.start()].strip()
    command = (f"{SMTP_SOURCE} -s {sessions} -m {messages} -l {size} -f {sender} -t {recipient} {ip}:25 "
               f"(in {node.name})")
    return Reference(messages, 0, float(m.group("t1")) - float(m.group("t0")), int(m.group("rc")), said, command)


def count_accepted(world: MailTopology, ref: Reference, sender: str, target: str = "store") -> Reference:
    """The reference with the number of messages `target` queued from `sender` since the last reset."""
    name = world.node(target).name
    accepted = sum(1 for s in evidence.senders(evidence.queue_lives(world.log(name))).values() if s == sender)
    return Reference(ref.messages, accepted, ref.seconds, ref.exit_code, ref.output, ref.command)
