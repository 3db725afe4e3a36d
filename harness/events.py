"""The nodes' logs as events: followed live from Docker, parsed, and waited on with a deadline.

Postfix logs to stdout in the harness, so the container log IS the mail log. Each line becomes a LogEvent with
the queue id and the key=value fields Postfix writes (to, from, relay, dsn, status...). Tests wait on events
(`EventLog.wait`) instead of sleeping; a time-out says what was expected and what each node logged last.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

_LINE = re.compile(r"^(?:\w{3} [ \d]\d \d\d:\d\d:\d\d \S+ )?(?P<prog>[\w/.-]+)(?:\[(?P<pid>\d+)\])?: (?P<rest>.*)$")
_QID = re.compile(r"^(?P<qid>[0-9A-F]{6,}|[0-9B-DF-HJ-NP-TV-Zb-z]{10,}|NOQUEUE): (?P<text>.*)$")
_FIELD = re.compile(r"(?:^|, |\s)(?P<k>[a-z_]+)=(?P<v><[^>]*>|[^,\s]+)")
_STATUS = re.compile(r"status=(?P<status>\w+)(?: \((?P<detail>.*)\))?$")


@dataclass(frozen=True)
class LogEvent:
    node: str
    seq: int
    at: float
    line: str
    program: str = ""
    queue_id: str | None = None
    text: str = ""
    fields: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def get(self, key: str) -> str | None:
        return self.fields.get(key)

    @property
    def to(self) -> str | None:
        v = self.fields.get("to")
        return v.strip("<>") if v is not None else None

    @property
    def sender(self) -> str | None:
        v = self.fields.get("from")
        return v.strip("<>") if v is not None else None

    def __str__(self) -> str:
        return f"[{self.node}] {self.line}"


def parse_line(node: str, seq: int, line: str, at: float | None = None) -> LogEvent:
    at = time.time() if at is None else at
    m = _LINE.match(line)
    if not m:
        return LogEvent(node, seq, at, line, text=line)
    prog, rest = m.group("prog"), m.group("rest")
    qid = None
    q = _QID.match(rest)
    if q:
        qid, rest = q.group("qid"), q.group("text")
    fields: dict[str, str] = {f.group("k"): f.group("v") for f in _FIELD.finditer(rest)}
    s = _STATUS.search(rest)
    if s:
        fields["status"] = s.group("status")
        if s.group("detail") is not None:
            fields["detail"] = s.group("detail")
    return LogEvent(node, seq, at, line, prog, qid, rest, MappingProxyType(fields))


Predicate = Callable[[LogEvent], bool]


class MailTimeout(AssertionError):
    """Nothing matching came before the deadline. The message shows what each node logged last."""


@dataclass
class EventLog:
    """All nodes' events in arrival order; `mark()` and `since=` scope waits to one test."""

    events: list[LogEvent] = field(default_factory=list)
    _cond: threading.Condition = field(default_factory=threading.Condition)

    def add(self, node: str, line: str) -> LogEvent:
        with self._cond:
            ev = parse_line(node, len(self.events), line)
            self.events.append(ev)
            self._cond.notify_all()
            return ev

    def mark(self) -> int:
        with self._cond:
            return len(self.events)

    def since(self, mark: int = 0, node: str | None = None) -> list[LogEvent]:
        with self._cond:
            evs = self.events[mark:]
        return [e for e in evs if node is None or e.node == node]

    def wait(self, predicate: Predicate, *, timeout: float, since: int = 0, what: str = "an event",
             hint: str = "") -> LogEvent:
        """The first event at or after `since` that matches; MailTimeout after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        pos = since
        with self._cond:
            while True:
                while pos < len(self.events):
                    ev = self.events[pos]
                    pos += 1
                    if predicate(ev):
                        return ev
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
        raise MailTimeout(self.timeout_message(what, timeout, since, hint))

    def timeout_message(self, what: str, timeout: float, since: int, hint: str = "", last: int = 8) -> str:
        lines = [f"waited {timeout:g}s for {what}; it did not happen."]
        evs = self.since(since)
        nodes = list(dict.fromkeys(e.node for e in self.events))
        if not evs:
            lines.append("No node logged anything in that time.")
        evs = [e for e in evs if e.program != "mailharness-sync"]
        for n in nodes:
            mine = [e for e in evs if e.node == n]
            if mine:
                lines.append(f"last {min(last, len(mine))} of {len(mine)} log lines on {n}:")
                lines += [f"    {e.line}" for e in mine[-last:]]
        if hint:
            lines.append(f"hint: {hint}")
        return "\n".join(lines)


class LogFollower(threading.Thread):
    """Streams one container's log into the EventLog until the container goes away."""

    def __init__(self, node: str, stream: Iterable[bytes], log: EventLog, on_line: Callable[[str], Any] | None = None):
        super().__init__(name=f"mailharness-log-{node}", daemon=True)
        self.node, self.stream, self.log, self.on_line = node, stream, log, on_line

    def run(self) -> None:
        buf = b""
        try:
            for chunk in self.stream:
                buf += chunk
                *lines, buf = buf.split(b"\n")
                for raw in lines:
                    line = raw.decode("utf-8", "replace").rstrip("\r")
                    if line:
                        self.log.add(self.node, line)
        except Exception:  # the container was removed under us: the stream ends, so does the thread
            pass
        if buf.strip():
            self.log.add(self.node, buf.decode("utf-8", "replace").rstrip())
