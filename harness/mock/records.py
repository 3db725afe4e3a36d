"""What the mock saw: session transcripts and received messages.

All records are frozen dataclasses (the dict fields are plain dicts: do not
mutate them).  They are the same whether read from an in-process
:class:`~harness.mock.inprocess.MockSMTP` or from a container's spool
(:func:`harness.mock.spool.read_spool`)::

    msg = mock.wait_for_messages(1)[0]
    assert msg.mail_params["ENVID"] == "QQ314159"
    assert msg.rcpts[0].params["NOTIFY"] == "SUCCESS,FAILURE"
    assert msg.rcpts[0].orcpt == "rfc822;bob@example.com"   # xtext decoded
    assert msg.email()["Subject"] == "hello"

Parameter names are upper case; values are exactly as the client sent them
(xtext still encoded), ``None`` for a parameter without ``=value``.
"""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Literal, cast

Who = Literal["client", "server", "note"]
Params = dict[str, str | None]



def xtext_decode(text: str) -> str:
    """Decode RFC 3461 xtext (``"a+2Bb"`` -> ``"a+b"``); raise ValueError if malformed.

    ``+XX`` octets are read as UTF-8 (undecodable ones kept as surrogate escapes).
    """
    if any(ord(c) < 33 or ord(c) > 126 or c == "=" for c in text):
        raise ValueError(f"bad xtext {text!r}")
    if re.search(r"\+(?![0-9A-F]{2})", text):
        raise ValueError(f"bad xtext {text!r}")
    raw = bytearray()
    for i, part in enumerate(text.split("+")):
        if i:
            raw.append(int(part[:2], 16))
            part = part[2:]
        raw += part.encode("ascii")
    return raw.decode("utf-8", "surrogateescape")


def xtext_encode(text: str) -> str:
    """Encode as RFC 3461 xtext (``"+"``, ``"="``, controls and non-ASCII as ``+XX``)."""
    out = []
    for c in text:
        if 33 <= ord(c) <= 126 and c not in "+=":
            out.append(c)
        else:
            out.extend(f"+{b:02X}" for b in c.encode("utf-8"))
    return "".join(out)


def reply_code(reply: str | None) -> int | None:
    """The numeric code of a recorded reply string (``None`` if no reply)."""
    if not reply or not reply[:3].isdigit():
        return None
    return int(reply[:3])


@dataclass(frozen=True)
class TranscriptLine:
    """One line of a session: a client command, a server reply line or a note.

    Notes (``who == "note"``) mark connection events and which script rule
    answered, e.g. ``"rule 0 (rcpt *@x) step 0 hit 1: 451 4.3.2 busy"``.
    """

    time: float
    who: Who
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"time": self.time, "who": self.who, "text": self.text}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TranscriptLine:
        return cls(float(d["time"]), cast(Who, d["who"]), str(d["text"]))


@dataclass(frozen=True)
class RcptRecord:
    """One RCPT TO of a transaction, accepted or not."""

    address: str
    params: Params
    reply: str

    @property
    def accepted(self) -> bool:
        code = reply_code(self.reply)
        return code is not None and 200 <= code < 300

    @property
    def notify(self) -> tuple[str, ...]:
        """NOTIFY values, upper case (``()`` if NOTIFY was not given)."""
        value = self.params.get("NOTIFY")
        return tuple(v.upper() for v in value.split(",")) if value else ()

    @property
    def orcpt(self) -> str | None:
        """ORCPT with its xtext decoded, e.g. ``"rfc822;bob@example.com"``."""
        value = self.params.get("ORCPT")
        return None if value is None else xtext_decode(value)

    def to_dict(self) -> dict[str, Any]:
        return {"address": self.address, "params": dict(self.params), "reply": self.reply}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RcptRecord:
        return cls(str(d["address"]), dict(d["params"]), str(d["reply"]))


@dataclass(frozen=True)
class MessageRecord:
    """A message whose data the mock received completely (even if it then refused it).

    ``rcpts`` holds every RCPT of the transaction; :attr:`recipients` only
    the accepted ones.  ``eod_reply`` is ``None`` when the script made the
    mock disconnect or hang instead of answering the end of data.
    ``data`` is the message as received (dot-unstuffed, CRLF line ends).
    """

    id: str
    session_id: int
    peer: str
    helo: str | None
    mail_from: str
    mail_params: Params
    mail_reply: str
    rcpts: tuple[RcptRecord, ...]
    data_reply: str
    eod_reply: str | None
    received: float
    data: bytes
    tls: str = ""  # the TLS protocol the message came over ("TLSv1.3"), "" in clear
    login: str = ""  # the user the client authenticated as (AUTH), "" without

    @property
    def recipients(self) -> tuple[str, ...]:
        return tuple(r.address for r in self.rcpts if r.accepted)

    @property
    def accepted(self) -> bool:
        code = reply_code(self.eod_reply)
        return code is not None and 200 <= code < 300

    @property
    def envid(self) -> str | None:
        value = self.mail_params.get("ENVID")
        return None if value is None else xtext_decode(value)

    @property
    def ret(self) -> str | None:
        value = self.mail_params.get("RET")
        return None if value is None else value.upper()

    def email(self) -> EmailMessage:
        """The data parsed with :data:`email.policy.default`."""
        return cast(EmailMessage, email.message_from_bytes(self.data, policy=email.policy.default))

    def to_dict(self) -> dict[str, Any]:
        """Everything but ``data`` (stored next to it as an ``.eml`` file)."""
        return {
            "id": self.id,
            "session_id": self.session_id,
            "peer": self.peer,
            "helo": self.helo,
            "mail_from": self.mail_from,
            "mail_params": dict(self.mail_params),
            "mail_reply": self.mail_reply,
            "rcpts": [r.to_dict() for r in self.rcpts],
            "data_reply": self.data_reply,
            "eod_reply": self.eod_reply,
            "received": self.received,
            "size": len(self.data),
            "tls": self.tls,
            "login": self.login,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], data: bytes) -> MessageRecord:
        return cls(
            id=str(d["id"]),
            session_id=int(d["session_id"]),
            peer=str(d["peer"]),
            helo=d["helo"],
            mail_from=str(d["mail_from"]),
            mail_params=dict(d["mail_params"]),
            mail_reply=str(d["mail_reply"]),
            rcpts=tuple(RcptRecord.from_dict(r) for r in d["rcpts"]),
            data_reply=str(d["data_reply"]),
            eod_reply=d["eod_reply"],
            received=float(d["received"]),
            data=data,
            tls=str(d.get("tls", "")),
            login=str(d.get("login", "")),
        )


def shown_commands(commands: Sequence[str]) -> tuple[str, ...]:
    """Client command lines as a log or a failure message may quote them: an AUTH command's credentials left out
    (PLAIN's initial response, the LOGIN lines after the command: a single word each), "..." in their place."""
    out: list[str] = []
    in_auth = False
    for c in commands:
        words = c.split()
        if words and words[0].upper() == "AUTH":
            out.append(" ".join(words[:2]) + (" ..." if len(words) > 2 else ""))
            in_auth = True
        elif in_auth and len(words) == 1 and words[0].upper() not in ("QUIT", "RSET", "NOOP", "*"):
            out.append("...")
        else:
            in_auth = False
            out.append(c)
    return tuple(out)


@dataclass(frozen=True)
class SessionRecord:
    """One connection, from connect to close.

    ``ended``/``end_reason`` are ``None`` while the session is open.
    ``end_reason`` is one of ``"quit"``, ``"client closed"``,
    ``"mock disconnected"`` (script action or 421 reply), ``"idle timeout"``
    or ``"server stopped"``.
    """

    id: int
    peer: str
    peer_port: int
    started: float
    ended: float | None
    end_reason: str | None
    helo: str | None
    esmtp: bool
    transcript: tuple[TranscriptLine, ...]
    message_ids: tuple[str, ...]

    @property
    def commands(self) -> tuple[str, ...]:
        """The client's command lines, in order (message data is summarised)."""
        return tuple(t.text for t in self.transcript if t.who == "client")

    @property
    def commands_shown(self) -> tuple[str, ...]:
        """The client's command lines as a failure message may quote them: an AUTH command's credentials left out
        (PLAIN's initial response, LOGIN's lines after the command), "..." in their place."""
        return shown_commands(self.commands)

    def before_tls(self, *verbs: str) -> tuple[str, ...]:
        """The client's commands with one of `verbs` ("AUTH", "MAIL") sent before TLS started in this session (all
        of them in a session without TLS), as `commands_shown` quotes them."""
        wanted = {v.upper() for v in verbs}
        out: list[str] = []
        shown = iter(self.commands_shown)
        for t in self.transcript:
            if t.who == "note" and t.text.startswith("TLS started"):
                break
            if t.who == "client":
                quoted = next(shown)
                if t.text.split()[:1] and t.text.split()[0].upper() in wanted:
                    out.append(quoted)
        return tuple(out)

    @property
    def replies(self) -> tuple[str, ...]:
        """The server's reply lines, in order (multi-line replies line by line)."""
        return tuple(t.text for t in self.transcript if t.who == "server")

    @property
    def notes(self) -> tuple[str, ...]:
        return tuple(t.text for t in self.transcript if t.who == "note")

    def reply_to(self, prefix: str) -> str | None:
        """The full reply (lines joined by ``"\\n"``) to the first command starting with ``prefix``.

        ``prefix`` is compared case-insensitively, e.g. ``reply_to("RCPT TO:<b@x>")``.
        """
        lines = list(self.transcript)
        for i, t in enumerate(lines):
            if t.who == "client" and t.text.upper().startswith(prefix.upper()):
                out: list[str] = []
                for u in lines[i + 1:]:
                    if u.who == "client":
                        break
                    if u.who == "server":
                        out.append(u.text)
                        if len(u.text) < 4 or u.text[3] != "-":
                            break
                return "\n".join(out) if out else None
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "peer": self.peer,
            "peer_port": self.peer_port,
            "started": self.started,
            "ended": self.ended,
            "end_reason": self.end_reason,
            "helo": self.helo,
            "esmtp": self.esmtp,
            "transcript": [t.to_dict() for t in self.transcript],
            "message_ids": list(self.message_ids),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SessionRecord:
        return cls(
            id=int(d["id"]),
            peer=str(d["peer"]),
            peer_port=int(d["peer_port"]),
            started=float(d["started"]),
            ended=None if d["ended"] is None else float(d["ended"]),
            end_reason=d["end_reason"],
            helo=d["helo"],
            esmtp=bool(d["esmtp"]),
            transcript=tuple(TranscriptLine.from_dict(t) for t in d["transcript"]),
            message_ids=tuple(str(m) for m in d["message_ids"]),
        )


__all__ = [
    "MessageRecord",
    "Params",
    "RcptRecord",
    "SessionRecord",
    "TranscriptLine",
    "reply_code",
    "xtext_decode",
    "xtext_encode",
]
