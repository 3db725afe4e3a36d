"""Mail submitted inside a node, as an application there does: through its MTA's sendmail program, or over SMTP to
the node's own loopback address (a client in mynetworks).

This is how mail leaves a null client or an application host (a server that listens on loopback only). The result
is a transcript, so that `Sent.verdict()` follows the message like any other. For sendmail it has one exchange:
the program's exit at END-OF-MESSAGE, 250 when it took the message, 554 with its error output when it did not.
Over SMTP it is the dialogue itself, as the client inside the node (Python's smtplib) saw it.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Literal, Protocol

from .smtp import Envelope, Exchange, Reply, Transcript


class SubmittingNode(Protocol):
    """What submission needs of a node: a file written into it, a command run, and its MTA's sendmail."""

    name: str

    def put_file(self, path: str, content: bytes, mode: int = 0o644) -> None: ...

    def run(self, cmd: list[str] | str) -> tuple[int, bytes, bytes]: ...

    def submit_command(self, sender: str, recipients: list[str], path: str) -> list[str]: ...


# The SMTP client inside the node: argv = message file, sender, recipients; prints the exchanges as JSON
# [stage, command, code, text] (code 0: no reply, the text says why). python3 is in every node image.
_SMTP_CLIENT = """import json, smtplib, sys
path, sender, rcpts = sys.argv[1], sys.argv[2], sys.argv[3:]
out, stage = [], "CONNECT"
def rec(st, cmd, code, msg):
    out.append([st, cmd, code, msg.decode("utf-8", "replace") if isinstance(msg, bytes) else str(msg)])
try:
    s = smtplib.SMTP(timeout=30)
    code, msg = s.connect("127.0.0.1", 25); rec("BANNER", "", code, msg)
    stage = "EHLO"; code, msg = s.ehlo("localhost"); rec(stage, "EHLO localhost", code, msg)
    stage = "MAIL"; code, msg = s.mail(sender); rec(stage, "MAIL FROM:<%s>" % sender, code, msg)
    ok = 0
    for r in rcpts if code == 250 else []:
        stage = "RCPT"; code, msg = s.rcpt(r); rec(stage, "RCPT TO:<%s>" % r, code, msg); ok += code in (250, 251)
    if ok:
        stage = "END-OF-MESSAGE"
        try:
            code, msg = s.data(open(path, "rb").read()); rec(stage, ".", code, msg)
        except smtplib.SMTPDataError as e:  # DATA itself was refused
            rec("DATA", "DATA", e.smtp_code, e.smtp_error)
    s.quit()
except (OSError, smtplib.SMTPException) as e:
    rec(stage, "", 0, "%s: %s" % (type(e).__name__, e))
print(json.dumps(out))
"""


def submit_inside(node: SubmittingNode, envelope: Envelope, data: bytes,
                  over: Literal["sendmail", "smtp"] = "sendmail") -> Transcript:
    """Submit `data` for `envelope` inside the node: with its sendmail (NOTIFY, ORCPT, RET and ENVID are SMTP's and
    are not passed), or over SMTP to 127.0.0.1:25 from the node itself. The temporary file holding the message is
    removed whatever happens."""
    path = f"/tmp/mailharness-submit-{uuid.uuid4().hex[:12]}.eml"
    node.put_file(path, data, 0o644)
    rcpts = [r.address for r in envelope.recipients]
    cmd = (node.submit_command(envelope.sender, rcpts, path) if over == "sendmail" else
           ["python3", "-c", _SMTP_CLIENT, path, envelope.sender, *rcpts])
    try:
        code, out, err = node.run(cmd)
    finally:
        node.run(["rm", "-f", path])
    if over == "smtp":
        return _smtp_transcript(node.name, envelope, code, out, err)
    said = (out + err).decode("utf-8", "replace").strip()
    reply = (Reply(250, "2.0.0", f"submitted with the MTA's sendmail on {node.name} (exit 0)") if code == 0 else
             Reply(554, "5.3.0", f"sendmail on {node.name} exited {code}: {said[-500:] or 'no output'}"))
    t = Transcript(server=f"{node.name} (sendmail)", envelope=envelope)
    t.exchanges.append(Exchange("END-OF-MESSAGE", f"sendmail -f <{envelope.sender}> {' '.join(rcpts)}", reply,
                                time.time()))
    return t


def _smtp_transcript(name: str, envelope: Envelope, code: int, out: bytes, err: bytes) -> Transcript:
    t = Transcript(server=f"127.0.0.1:25 inside {name}", envelope=envelope)
    try:
        exchanges = json.loads(out)
    except json.JSONDecodeError:
        said = (out + err).decode("utf-8", "replace").strip()[-500:]
        exchanges = [["CONNECT", "", 0, f"the SMTP client in {name} exited {code}: {said or 'no output'}"]]
    for stage, command, reply_code, text in exchanges:
        t.exchanges.append(Exchange(stage, command, Reply.parse(int(reply_code), text),
                                    time.time()))
    return t
