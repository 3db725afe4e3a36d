"""One probe session: the SMTP dialogue of one smuggling variant, byte for byte, over a raw socket (an SMTP
library would repair the very line ends the probe sends on purpose).

The carrier's envelope goes command by command; then the variant's bytes (harness.smuggling.variants.wire). A
split variant sends its first part, waits for replies (until the server answered the smuggled DATA, closed the
connection, or the pause is over: a poll with a deadline), then the rest. The pause is paced by the server (Pacer):
a session beside the variants ends DATA the right way and sends three commands; a server that ends DATA early
answers a split variant's smuggled end of data and its three commands as fast as that, so a variant waits
PACE_FACTOR times as long (at least PACE_FLOOR, at most the probe's pause) and a server that is not vulnerable,
which never answers early, costs a fraction of the whole pause. Every reply is read until the server
closes the connection after QUIT, or the time-out.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from ..smtp import Reply
from .variants import EHLO_NAME, Variant, Wire, visible

Who = Literal["C", "S", "note"]


@dataclass(frozen=True)
class Line:
    """A line of a probe's transcript: what the client sent (C), what the server said (S), or a note."""

    who: Who
    """C (the probe), S (the server) or note."""
    text: str
    """The line, its own <CR><LF> left out; a bare <CR> or <LF> written out (harness.smuggling.variants.visible)."""
    early: bool = False
    """A server line that came before the probe's own end of data."""

    def render(self) -> str:
        """The line as a transcript shows it ("C: DATA", "S: 354 ...", "   (a note)")."""
        if self.who == "note":
            return f"   ({self.text})"
        return f"{self.who}: {self.text}" + ("   <- before the probe's end of data" if self.early else "")


@dataclass
class Session:
    """What one variant's session said. `early`: the replies that came between the first and the second write
    (before the probe's own end of data); `after`: the replies after the carrier's DATA, in order (the early ones
    first), without QUIT's; `stopped`: why the variant could not be tried ("" when it was)."""

    server: str
    """The server's address and port."""
    client: str = ""
    """The address the server saw the connection come from."""
    lines: list[Line] = field(default_factory=list)
    """The transcript."""
    early: list[Reply] = field(default_factory=list)
    """The replies that came before the probe's own end of data."""
    after: list[Reply] = field(default_factory=list)
    """Every reply after the carrier's DATA, in order, QUIT's left out."""
    stopped: str = ""
    """Why the variant could not be tried ("" when it was)."""


PACE_FACTOR = 5.0
"""A split variant waits this many times as long as the server took to answer a real end of data and three commands."""
PACE_FLOOR = 0.3
"""...and at least this long (seconds)."""


class Pacer:
    """How long the split variants of one probe wait for early replies. Until the pace-setting session (the control
    variant) has its four replies, a variant's deadline is the whole `pause`; once it has them in `t` seconds, the
    deadline is PACE_FACTOR x t after the variant's own first write, between PACE_FLOOR and `pause`. A control that
    gets no four replies (the server refused it, or is slower than the pause) leaves the whole pause."""

    def __init__(self, pause: float) -> None:
        self.pause = pause
        self.answered_in: float | None = None
        self._lock = threading.Lock()

    def answered(self, seconds: float) -> None:
        """The control's four replies came `seconds` after its write."""
        with self._lock:
            self.answered_in = seconds

    def deadline(self, sent_at: float) -> float:
        """When a variant that wrote its first part at `sent_at` (monotonic) sends the rest."""
        with self._lock:
            t = self.answered_in
        if t is None:
            return sent_at + self.pause
        return sent_at + min(self.pause, max(PACE_FLOOR, PACE_FACTOR * t))

    def describe(self) -> str:
        """The rule, for the transcripts (no measured figure: a report must read the same on every run)."""
        return (f"waits for early replies {PACE_FACTOR:g} times as long as the server took to answer a real end of "
                f"data and three commands (at least {PACE_FLOOR:g}s, at most {self.pause:g}s), then sends the rest")


POLL = 0.02
"""How often a wait with a moving deadline asks it again (seconds)."""


class _Wire:
    """The socket, the bytes read and not yet parsed, and the transcript."""

    def __init__(self, sock: socket.socket, session: Session) -> None:
        self.sock = sock
        self.session = session
        self.buffer = b""
        self.closed = ""  # why the connection ended, once it did
        self.early = False

    def send(self, data: bytes) -> None:
        self.session.lines += [Line("C", text) for text in visible(data)]
        try:
            self.sock.sendall(data)
        except OSError as exc:
            self.closed = self.closed or f"the server had closed the connection ({exc.__class__.__name__})"
            self.session.lines.append(Line("note", f"could not send: {exc}"))

    def replies(self, deadline: float | Callable[[], float], enough: Callable[[list[Reply]], bool]) -> list[Reply]:
        """Complete replies, read until `enough(replies)`, the connection's end, or `deadline` (monotonic; a callable
        is asked again at each poll, every POLL seconds at most, as the pacer may bring it forward)."""
        moving = callable(deadline)
        got: list[Reply] = []
        while not enough(got):
            reply = self._parse()
            if reply is not None:
                got.append(reply)
                continue
            if self.closed:
                break
            left = (deadline() if callable(deadline) else deadline) - time.monotonic()
            if left <= 0:
                break
            ready, _, _ = select.select([self.sock], [], [], min(left, POLL) if moving else left)
            if not ready:
                continue
            try:
                data = self.sock.recv(65536)
            except OSError as exc:
                self.closed = f"{exc.__class__.__name__}: {exc}"
                continue
            if not data:
                self.closed = "the server closed the connection"
            self.buffer += data
        return got

    def _parse(self) -> Reply | None:
        """The first complete reply in the buffer (its lines go to the transcript), or None."""
        lines: list[str] = []
        pos = 0
        while True:
            end = self.buffer.find(b"\n", pos)
            if end < 0:
                return None
            text = self.buffer[pos:end].rstrip(b"\r").decode("utf-8", "replace")
            pos = end + 1
            lines.append(text)
            if len(text) < 4 or text[3] != "-":
                break
        self.buffer = self.buffer[pos:]
        self.session.lines += [Line("S", t, self.early) for t in lines]
        code = int(lines[0][:3]) if lines[0][:3].isdigit() else 0
        return Reply.parse(code, "\n".join(t[4:] for t in lines))


Opener = Callable[[str, int, float], socket.socket]


def run(v: Variant, w: Wire, *, ip: str, connect: Opener, client_address: Callable[[socket.socket], str],
        sender: str, rcpt: str, pacer: Pacer, timeout: float, control: bool = False) -> Session:
    """The session of variant `v` with the server at `ip` (port 25): the carrier's envelope from `sender` to
    `rcpt`, then `w`'s bytes. Never raises for what the server does: a refusal, a closed connection or a time-out
    ends the transcript with a note. `control`: the session that sets the pace (harness.smuggling.variants.CONTROL),
    which tells `pacer` how long its four replies took."""
    session = Session(f"{ip}:25")
    try:
        sock = connect(ip, 25, timeout)
    except OSError as exc:
        session.stopped = f"no connection to {ip}:25: {exc}"
        return session
    with sock:
        session.client = client_address(sock)
        session.lines.append(Line("note", f"connected from {session.client} to {ip}:25"))
        conv = _Wire(sock, session)

        def one(command: str, want: tuple[int, ...]) -> bool:
            if command:
                conv.send(f"{command}\r\n".encode())
            got = conv.replies(time.monotonic() + timeout, lambda r: len(r) >= 1)
            if got and got[0].code in want:
                return True
            said = str(got[0]) if got else conv.closed or f"no reply within {timeout:g}s"
            session.stopped = f"{command or 'the greeting'}: {said}"
            return False

        envelope = ("", (220,)), (f"EHLO {EHLO_NAME}", (250,)), (f"MAIL FROM:<{sender}>", (250,)), \
            (f"RCPT TO:<{rcpt}>", (250, 251)), ("DATA", (354,))
        if not all(one(command, want) for command, want in envelope):
            session.lines.append(Line("note", f"the carrier was not taken ({session.stopped}): the variant was "
                                              "not tried"))
            return session
        sent_at = time.monotonic()
        conv.send(w.first)
        if control:
            # The right end of data, MAIL, RCPT, RSET: four replies, as a vulnerable server gives a split variant.
            session.early = conv.replies(sent_at + pacer.pause, lambda r: len(r) >= 4)
            if len(session.early) >= 4:
                pacer.answered(time.monotonic() - sent_at)
            conv.send(w.rest)
        elif w.rest:
            conv.early = True
            session.lines.append(Line("note", pacer.describe()))
            # Enough once the server answered the smuggled MAIL, RCPT and DATA after the carrier's early end.
            session.early = conv.replies(lambda: pacer.deadline(sent_at), lambda r: len(r) >= 4)
            conv.early = False
            conv.send(w.rest)
        rest = conv.replies(time.monotonic() + timeout, lambda r: False)  # until the server closes
        if conv.closed:
            session.lines.append(Line("note", conv.closed))
        elif conv.buffer:
            session.lines.append(Line("note", f"an incomplete reply at the time-out: {conv.buffer[:200]!r}"))
        else:
            session.lines.append(Line("note", f"still open after {timeout:g}s: closed by the probe"))
        replies = session.early + rest
        if replies and replies[-1].code == 221:  # QUIT's
            replies = replies[:-1]
        session.after = replies
    return session
