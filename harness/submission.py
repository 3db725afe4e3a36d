"""Mail submitted inside a node, as an application there does: through its MTA's sendmail program, not over SMTP.

This is how mail leaves a null client or an application host (a server that listens on loopback only). The result
is recorded as a one-exchange transcript, so that `Sent.verdict()` follows the message like any other: the
program's exit at END-OF-MESSAGE, 250 when it took the message, 554 with its error output when it did not.
"""

from __future__ import annotations

import time
import uuid
from typing import Protocol

from .smtp import Envelope, Exchange, Reply, Transcript


class SubmittingNode(Protocol):
    """What submission needs of a node: a file written into it, a command run, and its MTA's sendmail."""

    name: str

    def put_file(self, path: str, content: bytes, mode: int = 0o644) -> None: ...

    def run(self, cmd: list[str] | str) -> tuple[int, bytes, bytes]: ...

    def submit_command(self, sender: str, recipients: list[str], path: str) -> list[str]: ...


def submit_inside(node: SubmittingNode, envelope: Envelope, data: bytes) -> Transcript:
    """Submit `data` with the node's sendmail for `envelope` (NOTIFY, ORCPT, RET and ENVID are SMTP's and are not
    passed). The temporary file holding the message is removed whatever happens."""
    path = f"/tmp/mailharness-submit-{uuid.uuid4().hex[:12]}.eml"
    node.put_file(path, data, 0o644)
    rcpts = [r.address for r in envelope.recipients]
    cmd = node.submit_command(envelope.sender, rcpts, path)
    try:
        code, out, err = node.run(cmd)
    finally:
        node.run(["rm", "-f", path])
    said = (out + err).decode("utf-8", "replace").strip()
    reply = (Reply(250, "2.0.0", f"submitted with the MTA's sendmail on {node.name} (exit 0)") if code == 0 else
             Reply(554, "5.3.0", f"sendmail on {node.name} exited {code}: {said[-500:] or 'no output'}"))
    t = Transcript(server=f"{node.name} (sendmail)", envelope=envelope)
    t.exchanges.append(Exchange("END-OF-MESSAGE", f"sendmail -f <{envelope.sender}> {' '.join(rcpts)}", reply,
                                time.time()))
    return t
