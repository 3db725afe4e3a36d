"""An SMTP client whose replies are values: 4xx and 5xx never raise, every exchange lands in a transcript.

    t = submit("10.1.2.10", envelope=Envelope("jack@store.example", ("jill@library.example",)), data=msg)
    t.rcpt_replies[0].code == 550 and t.rcpt_replies[0].enhanced == "5.1.1"

`Stage` names the steps of an SMTP session, once for the whole harness: this client's exchanges, the refusals and
failed sessions read from Postfix's logs (harness.evidence) and the verdict's assertions all use it. `as_stage()`
reads a stage name as a person writes it ("rcpt", "EOD", "banner", "end of DATA").
"""

from __future__ import annotations

import re
import smtplib
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, get_args

from .errors import MailharnessError

_ENHANCED = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})\b")

Stage = Literal["CONNECT", "BANNER", "HELO", "EHLO", "STARTTLS", "MAIL", "RCPT", "DATA", "END-OF-MESSAGE", "BDAT",
                "RSET", "VRFY", "ETRN", "QUIT"]
"""Where in an SMTP session something happened. CONNECT: the TCP connection (refused, timed out, or refused by the
server's connection checks); BANNER: the server's greeting; END-OF-MESSAGE: the reply to the final "." of DATA
(Postfix's own word for it in its logs); the others are the commands of that name."""
STAGES: tuple[Stage, ...] = get_args(Stage)
_STAGE_ALIASES: dict[str, Stage] = {
    "EOD": "END-OF-MESSAGE", "END OF DATA": "END-OF-MESSAGE", "END OF MESSAGE": "END-OF-MESSAGE",
    "DOT": "END-OF-MESSAGE", "GREETING": "BANNER", "MAIL FROM": "MAIL", "RCPT TO": "RCPT", "LHLO": "EHLO",
}


class UnknownStage(MailharnessError, ValueError):
    """A stage name that is none of `STAGES` (nor one of their usual spellings)."""


def stage_of(name: str) -> Stage | None:
    """The stage a name means, in any case and with the usual spellings ("eod", "RCPT TO", "banner"); else None."""
    key = " ".join(name.replace("_", " ").split()).upper()
    for s in STAGES:
        if key == s:
            return s
    return _STAGE_ALIASES.get(key)


def as_stage(name: str) -> Stage:
    """Like `stage_of`, but an unknown name raises UnknownStage (a ValueError) listing the stages."""
    found = stage_of(name)
    if found is None:
        raise UnknownStage(f"unknown SMTP stage {name!r}; the stages are {', '.join(STAGES)} (any case; EOD means "
                           "END-OF-MESSAGE)")
    return found


@dataclass(frozen=True)
class Reply:
    """One SMTP reply: `code` 0 means no reply (connection failed, closed, or timed out: see `text`)."""

    code: int
    """The three-digit reply code (250, 450, 550...); 0 for no reply."""
    enhanced: str | None
    """The enhanced status code at the start of the text ("5.1.1"), None when the server gave none."""
    text: str
    """The reply's text after the code, lines joined with "\\n" (the enhanced code included)."""

    @classmethod
    def parse(cls, code: int, raw: bytes | str) -> Reply:
        """A reply from its code and raw text (bytes or str), the enhanced status read from the text."""
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        text = text.replace("\r", "")
        m = _ENHANCED.match(text)
        enhanced = m.group(0) if m else None
        return cls(code, enhanced, text)

    @property
    def ok(self) -> bool:
        """A 2xx or 3xx reply."""
        return 200 <= self.code < 400

    @property
    def transient(self) -> bool:
        """A 4xx reply: try again later."""
        return 400 <= self.code < 500

    @property
    def permanent(self) -> bool:
        """A 5xx reply: refused for good."""
        return 500 <= self.code < 600

    def __str__(self) -> str:
        return f"{self.code} {self.text}" if self.code else f"(no reply: {self.text})"


@dataclass(frozen=True)
class Recipient:
    """A recipient with its RFC 3461 parameters: NOTIFY (NEVER or SUCCESS/FAILURE/DELAY) and ORCPT."""

    address: str
    """The address of RCPT TO."""
    notify: tuple[str, ...] = ()
    """NOTIFY: ``("NEVER",)`` or any of ``("SUCCESS", "FAILURE", "DELAY")``; empty: no NOTIFY parameter."""
    orcpt: str | None = None
    """ORCPT: an address ("rfc822;" is added and the address xtext-encoded) or "type;value" as is."""

    @property
    def orcpt_value(self) -> str | None:
        """ORCPT as it goes on the wire: "rfc822;" and the address as xtext (unless a type was given)."""
        if not self.orcpt:
            return None
        return self.orcpt if ";" in self.orcpt else "rfc822;" + xtext(self.orcpt)

    def params(self) -> list[str]:
        """The RCPT TO parameters as they go on the wire (``["NOTIFY=NEVER", "ORCPT=rfc822;..."]``)."""
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
    """The address of MAIL FROM ("" for the null sender of a bounce)."""
    recipients: tuple[Recipient, ...]
    """The recipients, each with its NOTIFY and ORCPT."""
    ret: str | None = None
    """RET: "FULL" or "HDRS" (how much of the message a DSN returns); None: no RET parameter."""
    envid: str | None = None
    """ENVID: the envelope id a DSN reports back (Original-Envelope-Id); None: none."""

    @classmethod
    def of(cls, sender: str, recipients: Sequence[str | Recipient], ret: str | None = None,
           envid: str | None = None) -> Envelope:
        """An envelope from addresses (strings become Recipients without parameters) or Recipients."""
        rcpts = tuple(r if isinstance(r, Recipient) else Recipient(r) for r in recipients)
        return cls(sender, rcpts, ret, envid)

    def mail_params(self) -> list[str]:
        """The MAIL FROM parameters as they go on the wire (``["RET=HDRS", "ENVID=..."]``)."""
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
    """One command (or the banner, or the message body) and the reply it got. A reply of code 0 is none: the
    session ended there (connection refused or timed out, the server closed it, no reply in time), and the reply's
    text says how."""

    stage: Stage
    """CONNECT (only for a failed connection), BANNER, EHLO, MAIL, RCPT, DATA, END-OF-MESSAGE, QUIT."""
    command: str
    """The command as sent ("RCPT TO:<jill@library.example> NOTIFY=NEVER"); "" for the banner."""
    reply: Reply
    """The reply it got."""
    at: float
    """When (time.time())."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "stage", as_stage(self.stage))  # "EOD", "banner"... are read as their Stage

    @property
    def failed(self) -> bool:
        """No reply: the session ended here without one."""
        return self.reply.code == 0


@dataclass
class Transcript:
    """What one SMTP session said, in order. `queue_id` is taken from the end-of-data reply."""

    server: str
    """The server's address (or, for `MailTopology.submit`, the node)."""
    envelope: Envelope
    """The envelope the session sent."""
    exchanges: list[Exchange] = field(default_factory=list)
    """Each command (or the banner) and the reply it got, in order."""

    def replies(self, stage: str) -> list[Reply]:
        """The replies at a stage (any spelling `as_stage()` reads: "RCPT", "eod", "banner"...)."""
        want = as_stage(stage)
        return [e.reply for e in self.exchanges if e.stage == want]

    def reply(self, stage: str) -> Reply | None:
        """The first reply at a stage ("EHLO", "MAIL", "eod"...), None when the session did not get there."""
        r = self.replies(stage)
        return r[0] if r else None

    @property
    def failure(self) -> Exchange | None:
        """The exchange where the session ended without a reply (refused, timed out, closed), if it did."""
        return next((e for e in self.exchanges if e.failed), None)

    def offers(self, keyword: str) -> bool:
        """Whether the server's EHLO reply offered the extension `keyword` ("DSN", "PIPELINING"; RFC 5321
        s4.1.1.1: each line after the first names one)."""
        r = self.reply("EHLO")
        return r is not None and r.code == 250 and any(
            line.split(" ", 1)[0].upper() == keyword.upper() for line in r.text.splitlines()[1:])

    @property
    def rcpt_replies(self) -> list[Reply]:
        """The replies to RCPT TO, one per recipient, in order."""
        return self.replies("RCPT")

    @property
    def accepted(self) -> bool:
        """The server took responsibility: 250 after the end of data."""
        eod = self.reply("END-OF-MESSAGE")
        return eod is not None and eod.code == 250

    @property
    def queue_id(self) -> str | None:
        """The queue id the reply at the end of data names, in the words of the server's MTA ("queued as ABC",
        "OK id=1vXyZ1-..."), None without one."""
        from .mta.readers import queued_as

        eod = self.reply("END-OF-MESSAGE")
        return (queued_as(eod.text) or None) if eod else None

    def render(self) -> str:
        """The session as text, C: and S: lines (as failure reports show it)."""
        lines = [f"SMTP session with {self.server}"]
        for e in self.exchanges:
            if e.command:
                lines.append(f"  C: {e.command}")
            for i, part in enumerate(e.reply.text.split("\n") if e.reply.code else [str(e.reply)]):
                sep = "-" if i < len(e.reply.text.split("\n")) - 1 else " "
                lines.append(f"  S: {e.reply.code}{sep}{part}" if e.reply.code else f"  S: {part}")
        return "\n".join(lines)


class _SMTP(smtplib.SMTP):
    """smtplib's client, with the TCP connection opened by `opener` (the topology's access path). It is given the
    name it says in EHLO: without one, smtplib looks up this host's FQDN (a resolver call) for every session."""

    def __init__(self, timeout: float, opener: Callable[[str, int, float], socket.socket] | None,
                 helo: str) -> None:
        self._opener = opener
        super().__init__(local_hostname=helo, timeout=timeout)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        if self._opener is None:
            return super()._get_socket(host, port, timeout)  # type: ignore[misc]
        return self._opener(host, port, timeout)


def submit(host: str, envelope: Envelope, data: bytes, *, port: int = 25, helo: str = "client.mailharness.test",
           timeout: float = 30.0, connect: Callable[[str, int, float], socket.socket] | None = None,
           pipelining: bool = False) -> Transcript:
    """Run one SMTP transaction. Never raises for 4xx/5xx, refusals, disconnects or timeouts: a session that ends
    without a reply ends its transcript with an exchange of code 0 at the stage where it ended (CONNECT: the
    connection was refused or timed out; BANNER: connected, but no greeting came; else the command in flight).
    `connect(host, port, timeout)` opens the TCP connection (the topology's access path: harness.access); the
    transcript names `host:port` either way. With `pipelining`, when the server offers PIPELINING (RFC 2920), MAIL,
    the RCPTs and DATA go in one write, then the message and QUIT in another (as Postfix's own client does); the
    transcript is the same, each reply at its command, except that the commands after a refused MAIL get replies too
    (the server's 503s) and DATA is sent even when every RCPT was refused."""
    server = f"{host}:{port}"
    t = Transcript(server=server, envelope=envelope)
    at: Stage = "CONNECT"  # where the session is: a failure is recorded there

    def add(where: Stage, command: str, code: int, raw: bytes | str) -> Reply:
        r = Reply.parse(code, raw)
        t.exchanges.append(Exchange(where, command, r, time.time()))
        return r

    s = _SMTP(timeout, connect, helo)
    try:
        try:
            code, msg = s.connect(host, port)
        except smtplib.SMTPServerDisconnected:
            at = "BANNER"  # the connection was made, then closed (or silent) before a greeting
            raise
        at = "BANNER"
        if add(at, "", code, msg).code != 220:
            return t
        at = "EHLO"
        code, msg = s.ehlo(helo)
        if add(at, f"EHLO {helo}", code, msg).code != 250:
            return t
        esmtp = s.esmtp_features
        mail_params = envelope.mail_params() if "dsn" in esmtp else []
        mail = " ".join(["MAIL", f"FROM:<{envelope.sender}>", *mail_params])
        rcpts = [" ".join(["RCPT", f"TO:<{r.address}>", *(r.params() if "dsn" in esmtp else [])])
                 for r in envelope.recipients]
        body = re.sub(rb"(?m)^\.", b"..", re.sub(rb"\r\n|\n|\r", b"\r\n", data))
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        what = f"<message, {len(data)} bytes>"
        if pipelining and "pipelining" in esmtp:
            # RFC 2920: MAIL, the RCPTs and DATA in one go, then the message and QUIT; the replies come in order.
            at = "MAIL"
            s.send("".join(f"{c}\r\n" for c in (mail, *rcpts, "DATA")))
            add(at, mail, *s.getreply())
            at = "RCPT"
            good = sum(add(at, c, *s.getreply()).ok for c in rcpts)
            at = "DATA"
            if add(at, "DATA", *s.getreply()).code != 354:
                at = "QUIT"  # MAIL or every RCPT refused, and DATA with them
                add(at, "QUIT", *s.docmd("QUIT"))
                return t
            at = "END-OF-MESSAGE"  # no valid recipient, yet 354: the message is left empty (RFC 2920 s3.1)
            s.send((body if good else b"") + b".\r\nQUIT\r\n")
            add(at, what if good else "<no message: no recipient was accepted>", *s.getreply())
            at = "QUIT"
            add(at, "QUIT", *s.getreply())
            return t
        at = "MAIL"
        if not add(at, mail, *s.docmd(*mail.split(" ", 1))).ok:
            return t
        good = 0
        at = "RCPT"
        for c in rcpts:
            good += add(at, c, *s.docmd(*c.split(" ", 1))).ok
        if not good:
            at = "QUIT"
            add(at, "QUIT", *s.docmd("QUIT"))
            return t
        at = "DATA"
        if add(at, "DATA", *s.docmd("DATA")).code != 354:
            return t
        at = "END-OF-MESSAGE"
        s.send(body + b".\r\n")
        add(at, what, *s.getreply())
        at = "QUIT"
        add(at, "QUIT", *s.docmd("QUIT"))
    except (OSError, smtplib.SMTPException) as exc:  # SMTPServerDisconnected and TimeoutError are among them
        add(at, "", 0, _no_reply(server, at, exc, timeout))
    finally:
        try:
            s.close()
        except OSError:
            pass
    return t


_WHILE: dict[str, str] = {"BANNER": "receiving the initial server greeting", "EHLO": "performing the EHLO handshake",
          "MAIL": "sending MAIL FROM", "RCPT": "sending RCPT TO", "DATA": "sending DATA command",
          "END-OF-MESSAGE": "sending end of data", "QUIT": "sending QUIT"}


def _no_reply(server: str, at: Stage, exc: BaseException, timeout: float) -> str:
    """Why a session ended without a reply, worded as Postfix's SMTP client words it (connect to ...: Connection
    refused; conversation with ... timed out while ...; lost connection with ... while ...)."""
    timed_out = isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError)
    if at == "CONNECT":
        why = "Connection timed out" if timed_out else (exc.strerror if isinstance(exc, OSError) and exc.strerror
                                                          else f"{exc.__class__.__name__}: {exc}")
        return f"connect to {server}: {why}" + (f" (no answer within {timeout:g}s)" if timed_out else "")
    where = _WHILE.get(at, f"at {at}")
    if timed_out:
        return f"conversation with {server} timed out while {where} (no reply within {timeout:g}s)"
    return f"lost connection with {server} while {where} ({exc.__class__.__name__}: {exc})"
