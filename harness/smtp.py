"""An SMTP client whose replies are values: 4xx and 5xx never raise, every exchange lands in a transcript.

    t = submit("10.1.2.10", envelope=Envelope("jack@store.example", ("jill@library.example",)), data=msg)
    t.rcpt_replies[0].code == 550 and t.rcpt_replies[0].enhanced == "5.1.1"
"""

from __future__ import annotations

import re
import smtplib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

_ENHANCED = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})\b")


@dataclass(frozen=True)
class Reply:
    """One SMTP reply: `code` 0 means no reply (connection failed, closed, or timed out: see `text`)."""

    code: int
    enhanced: str | None
    text: str

    @classmethod
    def parse(cls, code: int, raw: bytes | str) -> Reply:
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        text = text.replace("\r", "")
        m = _ENHANCED.match(text)
        enhanced = m.group(0) if m else None
        return cls(code, enhanced, text)

    @property
    def ok(self) -> bool:
        return 200 <= self.code < 400

    @property
    def transient(self) -> bool:
        return 400 <= self.code < 500

    @property
    def permanent(self) -> bool:
        return 500 <= self.code < 600

    def __str__(self) -> str:
        return f"{self.code} {self.text}" if self.code else f"(no reply: {self.text})"


@dataclass(frozen=True)
class Recipient:
    """A recipient with its RFC 3461 parameters: NOTIFY (NEVER or SUCCESS/FAILURE/DELAY) and ORCPT."""

    address: str
    notify: tuple[str, ...] = ()
    orcpt: str | None = None

    @property
    def orcpt_value(self) -> str | None:
        """ORCPT as it goes on the wire: "rfc822;" and the address as xtext (unless a type was given)."""
        if not self.orcpt:
            return None
        return self.orcpt if ";" in self.orcpt else "rfc822;" + xtext(self.orcpt)

    def params(self) -> list[str]:
        out = []
        if self.notify:
            out.append("NOTIFY=" + ",".join(n.upper() for n in self.notify))
        if self.orcpt_value:
            out.append("ORCPT=" + self.orcpt_value)
        return out


@dataclass(frozen=True)
class Envelope:
    """MAIL FROM and RCPT TO with the RFC 3461 parameters RET (FULL or HDRS) and ENVID."""

    sender: str
    recipients: tuple[Recipient, ...]
    ret: str | None = None
    envid: str | None = None

    @classmethod
    def of(cls, sender: str, recipients: Sequence[str | Recipient], ret: str | None = None,
           envid: str | None = None) -> Envelope:
        rcpts = tuple(r if isinstance(r, Recipient) else Recipient(r) for r in recipients)
        return cls(sender, rcpts, ret, envid)

    def mail_params(self) -> list[str]:
        out = []
        if self.ret:
            out.append(f"RET={self.ret.upper()}")
        if self.envid:
            out.append(f"ENVID={xtext(self.envid)}")
        return out


def xtext(value: str) -> str:
    """RFC 3461 s4 xtext: '+', '=' and bytes outside 33-126 become '+XX'."""
    out = []
    for b in value.encode("utf-8"):
        out.append(f"+{b:02X}" if b < 33 or b > 126 or b in (0x2B, 0x3D) else chr(b))
    return "".join(out)


@dataclass(frozen=True)
class Exchange:
    """One command (or the banner, or the message body) and the reply it got."""

    stage: str  # banner, EHLO, MAIL, RCPT, DATA, EOD (end of data), QUIT
    command: str
    reply: Reply
    at: float  # time.time()


@dataclass
class Transcript:
    """What one SMTP session said, in order. `queue_id` is taken from the end-of-data reply."""

    server: str
    envelope: Envelope
    exchanges: list[Exchange] = field(default_factory=list)

    def replies(self, stage: str) -> list[Reply]:
        return [e.reply for e in self.exchanges if e.stage == stage]

    def reply(self, stage: str) -> Reply | None:
        r = self.replies(stage)
        return r[0] if r else None

    @property
    def rcpt_replies(self) -> list[Reply]:
        return self.replies("RCPT")

    @property
    def accepted(self) -> bool:
        """The server took responsibility: 250 after the end of data."""
        eod = self.reply("EOD")
        return eod is not None and eod.code == 250

    @property
    def queue_id(self) -> str | None:
        eod = self.reply("EOD")
        m = re.search(r"queued as ([0-9A-Za-z]+)", eod.text) if eod else None
        return m.group(1) if m else None

    def render(self) -> str:
        lines = [f"SMTP session with {self.server}"]
        for e in self.exchanges:
            if e.command:
                lines.append(f"  C: {e.command}")
            for i, part in enumerate(e.reply.text.split("\n") if e.reply.code else [str(e.reply)]):
                sep = "-" if i < len(e.reply.text.split("\n")) - 1 else " "
                lines.append(f"  S: {e.reply.code}{sep}{part}" if e.reply.code else f"  S: {part}")
        return "\n".join(lines)


def submit(host: str, envelope: Envelope, data: bytes, *, port: int = 25, helo: str = "client.mailharness.test",
           timeout: float = 30.0) -> Transcript:
    """Run one SMTP transaction. Never raises for 4xx/5xx, refusals, disconnects or timeouts."""
    t = Transcript(server=f"{host}:{port}", envelope=envelope)

    def add(stage: str, command: str, code: int, raw: bytes | str) -> Reply:
        r = Reply.parse(code, raw)
        t.exchanges.append(Exchange(stage, command, r, time.time()))
        return r

    s = smtplib.SMTP(timeout=timeout)
    try:
        code, msg = s.connect(host, port)
        if add("banner", "", code, msg).code != 220:
            return t
        code, msg = s.ehlo(helo)
        if add("EHLO", f"EHLO {helo}", code, msg).code != 250:
            return t
        esmtp = s.esmtp_features
        mail_params = envelope.mail_params() if "dsn" in esmtp else []
        cmd = " ".join([f"FROM:<{envelope.sender}>", *mail_params])
        if not add("MAIL", f"MAIL {cmd}", *s.docmd("MAIL", cmd)).ok:
            return t
        good = 0
        for rcpt in envelope.recipients:
            params = rcpt.params() if "dsn" in esmtp else []
            cmd = " ".join([f"TO:<{rcpt.address}>", *params])
            good += add("RCPT", f"RCPT {cmd}", *s.docmd("RCPT", cmd)).ok
        if not good:
            add("QUIT", "QUIT", *s.docmd("QUIT"))
            return t
        if add("DATA", "DATA", *s.docmd("DATA")).code != 354:
            return t
        body = re.sub(rb"(?m)^\.", b"..", re.sub(rb"\r\n|\n|\r", b"\r\n", data))
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        s.send(body + b".\r\n")
        add("EOD", f"<message, {len(data)} bytes>", *s.getreply())
        add("QUIT", "QUIT", *s.docmd("QUIT"))
    except smtplib.SMTPServerDisconnected as exc:
        add("disconnect", "", 0, f"server closed the connection: {exc}")
    except TimeoutError:
        add("timeout", "", 0, f"no reply within {timeout:g}s")
    except OSError as exc:
        add("connect" if not t.exchanges else "error", "", 0, f"{exc.__class__.__name__}: {exc}")
    finally:
        try:
            s.close()
        except OSError:
            pass
    return t
