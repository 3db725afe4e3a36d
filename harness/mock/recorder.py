"""Thread-safe store of what the mock saw, with waits for tests.

The SMTP protocol (on the server's event loop thread) reports lines,
sessions and messages to a :class:`Recorder`; tests read
:attr:`Recorder.sessions` / :attr:`Recorder.messages` (immutable snapshots)
and block in :meth:`Recorder.wait_for_messages` and friends, which wait on a
:class:`threading.Condition` (no polling) and raise :class:`MockTimeout`
describing what was last seen.

Sinks (e.g. :class:`harness.mock.spool.SpoolWriter`) are told about every
change before waiters are woken, so a waiter that returns can rely on the
spool being written too.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from .records import MessageRecord, SessionRecord, TranscriptLine, Who, shown_commands

if TYPE_CHECKING:
    from ..errors import MailharnessError
else:
    try:
        from ..errors import MailharnessError
    except ImportError:  # the mock-smtp image ships harness/mock alone (engine/images.py): nobody there catches it

        class MailharnessError(Exception):
            """Stand-in for harness.errors.MailharnessError where only harness/mock is installed."""

_logger = logging.getLogger("harness.mock")


class RecordSink(Protocol):
    """Receives every session change and every message (on the server thread)."""

    def session_changed(self, session: SessionRecord) -> None: ...

    def message_received(self, message: MessageRecord) -> None: ...


class MockTimeout(MailharnessError, TimeoutError):
    """A wait on the mock ran out; the message says what the mock had seen."""


@dataclass
class _Live:
    id: int
    peer: str
    peer_port: int
    started: float
    ended: float | None = None
    end_reason: str | None = None
    helo: str | None = None
    esmtp: bool = False
    lines: list[TranscriptLine] = field(default_factory=list)
    message_ids: list[str] = field(default_factory=list)
    last_command: str = ""
    pending: list[str] = field(default_factory=list)
    messages_started: int = 0

    def snapshot(self) -> SessionRecord:
        return SessionRecord(
            id=self.id,
            peer=self.peer,
            peer_port=self.peer_port,
            started=self.started,
            ended=self.ended,
            end_reason=self.end_reason,
            helo=self.helo,
            esmtp=self.esmtp,
            transcript=tuple(self.lines),
            message_ids=tuple(self.message_ids),
        )


class Recorder:
    """Collects sessions and messages; ``keep=False`` keeps only open sessions in memory."""

    def __init__(
        self,
        *,
        keep: bool = True,
        sinks: Sequence[RecordSink] = (),
        log: Callable[[str], None] | None = None,
        first_session_id: int = 1,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._cond = threading.Condition(threading.RLock())
        self._keep = keep
        self._sinks = list(sinks)
        self._log = log
        self._clock = clock
        self._next_id = first_session_id
        self._live: dict[int, _Live] = {}
        self._sessions: dict[int, SessionRecord] = {}
        self._messages: list[MessageRecord] = []

    # -- writer side (server thread) ------------------------------------------
    def _say(self, text: str) -> None:
        if self._log is not None:
            self._log(text)

    def _publish(self, live: _Live) -> None:
        snap = live.snapshot()
        if self._keep or live.ended is None:
            self._sessions[live.id] = snap
        else:
            self._sessions.pop(live.id, None)
        for sink in self._sinks:
            try:
                sink.session_changed(snap)
            except Exception as e:  # a broken sink must not break the SMTP dialogue (logged with traceback)
                _logger.exception("mock: sink failed")
                self._say(f"sink {type(sink).__name__} failed: {e}")
        self._cond.notify_all()

    def open_session(self, peer: str, peer_port: int) -> int:
        with self._cond:
            sid = self._next_id
            self._next_id += 1
            live = _Live(sid, peer, peer_port, self._clock())
            live.last_command = f"connect {peer}:{peer_port}"
            live.lines.append(TranscriptLine(live.started, "note", f"connect from {peer}:{peer_port}"))
            self._live[sid] = live
            self._publish(live)
            return sid

    def _line(self, sid: int, who: Who, text: str) -> _Live | None:
        live = self._live.get(sid)
        if live is not None:
            live.lines.append(TranscriptLine(self._clock(), who, text))
        return live

    def client_line(self, sid: int, text: str) -> None:
        with self._cond:
            live = self._line(sid, "client", text)
            if live is not None:  # the log never shows a login (AUTH's credentials left out)
                live.last_command = shown_commands([t.text for t in live.lines if t.who == "client"])[-1]
                live.pending.clear()
                self._publish(live)

    def server_line(self, sid: int, text: str) -> None:
        """Record one reply line; a final line (``"250 ..."``) logs the command and its reply."""
        with self._cond:
            live = self._line(sid, "server", text)
            if live is None:
                return
            live.pending.append(text)
            if len(text) >= 4 and text[3] == "-":
                return
            reply = " | ".join(live.pending)
            live.pending.clear()
            self._say(f"session {sid} {live.last_command} -> {reply}")
            self._publish(live)

    def note(self, sid: int, text: str) -> None:
        with self._cond:
            live = self._line(sid, "note", text)
            if live is not None:
                self._say(f"session {sid} {text}")
                self._publish(live)

    def set_helo(self, sid: int, helo: str | None, esmtp: bool) -> None:
        with self._cond:
            live = self._live.get(sid)
            if live is not None:
                live.helo, live.esmtp = helo, esmtp

    def new_message_id(self, sid: int) -> str:
        with self._cond:
            live = self._live[sid]
            live.messages_started += 1
            return f"{sid}-{live.messages_started}"

    def add_message(self, message: MessageRecord) -> None:
        with self._cond:
            live = self._live.get(message.session_id)
            if live is not None:
                live.message_ids.append(message.id)
            if self._keep:
                self._messages.append(message)
            # The sinks first (the spool's files), then the line: whoever waits on the line (MockNode.wait_for_messages)
            # reads the spool next, and must find the message there (seen missing under load when the line came first).
            for sink in self._sinks:
                try:
                    sink.message_received(message)
                except Exception as e:  # a broken sink must not break the SMTP dialogue (logged with traceback)
                    _logger.exception("mock: sink failed")
                    self._say(f"sink {type(sink).__name__} failed: {e}")
            rcpts = ",".join(f"<{a}>" for a in message.recipients)
            self._say(
                f"session {message.session_id} message {message.id} from <{message.mail_from}> "
                f"to {rcpts or '(none)'} {len(message.data)} bytes"
            )
            if live is not None:
                self._publish(live)
            else:
                self._cond.notify_all()

    def close_session(self, sid: int, reason: str) -> None:
        with self._cond:
            live = self._live.pop(sid, None)
            if live is None:
                return
            live.ended = self._clock()
            live.end_reason = reason
            live.lines.append(TranscriptLine(live.ended, "note", f"closed: {reason}"))
            self._say(f"session {sid} closed ({reason})")
            self._publish(live)

    # -- reader side (any thread) ---------------------------------------------
    @property
    def sessions(self) -> tuple[SessionRecord, ...]:
        """All sessions so far (open ones included), oldest first."""
        with self._cond:
            return tuple(self._sessions[k] for k in sorted(self._sessions))

    @property
    def messages(self) -> tuple[MessageRecord, ...]:
        """All received messages, in order of arrival."""
        with self._cond:
            return tuple(self._messages)

    def clear(self) -> None:
        """Forget finished sessions and all messages (open sessions stay)."""
        with self._cond:
            self._messages.clear()
            self._sessions = {k: v for k, v in self._sessions.items() if k in self._live}

    def describe(self, last_lines: int = 12) -> str:
        """A short account of what was seen, for error messages."""
        with self._cond:
            sessions = self.sessions
            text = f"{len(sessions)} session(s), {len(self._messages)} message(s) so far"
            if not sessions:
                return text + "; no client ever connected"
            last = sessions[-1]
            state = "open" if last.ended is None else f"closed: {last.end_reason}"
            text += f"; last session {last.id} from {last.peer} ({state}), its last lines:"
            for t in last.transcript[-last_lines:]:
                mark = {"client": "C:", "server": "S:", "note": "--"}[t.who]
                text += f"\n    {mark} {t.text}"
            return text

    def wait_until(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        """Block until ``predicate()`` is true (re-checked at each change)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise MockTimeout(f"timed out after {timeout:g}s waiting for {what}: {self.describe()}")
                self._cond.wait(remaining)

    def wait_for_messages(self, count: int = 1, timeout: float = 10.0) -> tuple[MessageRecord, ...]:
        """Wait until at least ``count`` messages were received; return all of them."""
        self.wait_until(lambda: len(self._messages) >= count, timeout, f"{count} message(s)")
        return self.messages

    def wait_for_sessions(
        self, count: int = 1, timeout: float = 10.0, *, ended: bool = True
    ) -> tuple[SessionRecord, ...]:
        """Wait until ``count`` sessions exist (``ended=True``: and have closed)."""

        def ready() -> bool:
            done = [s for s in self._sessions.values() if not ended or s.ended is not None]
            return len(done) >= count

        what = f"{count} {'closed ' if ended else ''}session(s)"
        self.wait_until(ready, timeout, what)
        return self.sessions


__all__ = ["MockTimeout", "RecordSink", "Recorder"]
