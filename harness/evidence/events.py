"""The nodes' logs as events: followed live from Docker, parsed, and waited on with a deadline.

An MTA logs to stdout in the harness, so the container log IS the mail log. Each line becomes a LogEvent: its
program and pid (syslog's "program[pid]: " prefix, whoever wrote it) and, through the grammar of the node's MTA
(`EventLog.grammars`, each from its MTA's package: harness.mta.postfix.evidence.grammar), the queue id and the
key=value fields that MTA writes (to, from, relay, dsn, status...). Tests wait on events
(`EventLog.wait`) instead of sleeping; a time-out says what was expected and what each node logged last.

A follower that dies on an error (a bug in the parser, a broken stream) is never silent: it logs the error to the
"mailharness" logger and tells its EventLog, and from then on every wait raises `FollowerDied` at once (its
message starts with "the log follower of NODE died: ..."), instead of timing out with a misleading "it did not
happen". A stream that ends because its container stopped (halt, stop, removal) is not an error.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..errors import MailharnessError

logger = logging.getLogger("mailharness")

# The program name under which a node's log barrier token appears in its log (harness.mta.base.MtaNode.sync_command).
SYNC_PROGRAM = "mailharness-sync"
_LINE = re.compile(r"^(?:\w{3} [ \d]\d \d\d:\d\d:\d\d \S+ )?(?P<prog>[\w/.-]+)(?:\[(?P<pid>\d+)\])?: (?P<rest>.*)$")


@dataclass(frozen=True)
class LogEvent:
    """One line of a node's log, as the harness read it (what `MailTopology.log` and `MailTopology.wait_log`
    give): who logged it, when, and the parts the node's MTA wrote (program, queue id, key=value fields)."""

    node: str
    """The node whose log it is."""
    seq: int
    """Its place in the topology's event log (increasing across all nodes, in the order the lines arrived)."""
    at: float
    """When it arrived (time.time())."""
    line: str
    """The line as logged."""
    program: str = ""
    """The program that wrote it (syslog's tag, such as the MTA daemon's); "" when the line has no such prefix."""
    queue_id: str | None = None
    """The queue id the line is about, None when it is about none."""
    text: str = ""
    """The line after the program (and the queue id)."""
    fields: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """Its key=value fields (Postfix: to, from, relay, status, dsn...)."""
    mta: str = ""
    """The MTA whose log it is ("postfix", "exim"), whose package reads it (harness.evidence); "" for a node that
    runs none (the DNS server, a mock), or a line made by hand."""

    def get(self, key: str) -> str | None:
        """The value of one of its fields, None when it has none of that name."""
        return self.fields.get(key)

    @property
    def to(self) -> str | None:
        """The to= field without its angle brackets."""
        v = self.fields.get("to")
        return v.strip("<>") if v is not None else None

    @property
    def sender(self) -> str | None:
        """The from= field without its angle brackets."""
        v = self.fields.get("from")
        return v.strip("<>") if v is not None else None

    def __str__(self) -> str:
        return f"[{self.node}] {self.line}"


# What an MTA's grammar makes of a line's text after "program[pid]: ": the queue id (None: none), the text after
# it, and its key=value fields.
Grammar = Callable[[str], tuple[str | None, str, dict[str, str]]]


def plain(rest: str) -> tuple[str | None, str, dict[str, str]]:
    """The grammar of a node that runs no MTA (DNS, the mock): no queue id, no fields."""
    return None, rest, {}


def parse_line(node: str, seq: int, line: str, at: float | None = None, grammar: Grammar = plain,
               mta: str = "") -> LogEvent:
    at = time.time() if at is None else at
    m = _LINE.match(line)
    if not m:
        return LogEvent(node, seq, at, line, text=line, mta=mta)
    qid, rest, fields = grammar(m.group("rest"))
    return LogEvent(node, seq, at, line, m.group("prog"), qid, rest, MappingProxyType(fields), mta)


Predicate = Callable[[LogEvent], bool]


class MailTimeout(MailharnessError, AssertionError):
    """Nothing matching came before the deadline. The message shows what each node logged last."""


@dataclass(frozen=True)
class FollowerFailure:
    """Why a node's log follower stopped before its stream ended: the exception and where it was raised."""

    node: str
    error: BaseException
    where: str = ""

    def __str__(self) -> str:
        text = f"the log follower of {self.node} died: {type(self.error).__name__}: {self.error}"
        return f"{text} (at {self.where})" if self.where else text


class FollowerDied(MailTimeout):
    """A node's log follower died on an error, so its later events are missing and no wait can be trusted.

    A MailTimeout, so callers that catch MailTimeout still do; the message starts with "the log follower of
    NODE died: <exception>"."""

    def __init__(self, message: str, failures: tuple[FollowerFailure, ...] = ()) -> None:
        super().__init__(message)
        self.failures = failures

    @property
    def node(self) -> str:
        return self.failures[0].node if self.failures else ""


@dataclass
class EventLog:
    """All nodes' events in arrival order; `mark()` and `since=` scope waits to one test."""

    events: list[LogEvent] = field(default_factory=list)
    # Seconds a follower of this log waits, once it has read all its stream had, before it reads again (0: it reads
    # each line as it comes). See `paced`.
    pace: float = 0.0
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _failures: list[FollowerFailure] = field(default_factory=list)
    # node -> the grammar of the MTA it runs (set by the node: harness.mta.base.MtaNode); others: `plain`
    grammars: dict[str, Grammar] = field(default_factory=dict)
    # node -> the MTA it runs ("postfix", "exim"): each event says whose log it is (LogEvent.mta)
    kinds: dict[str, str] = field(default_factory=dict)

    @contextmanager
    def paced(self, seconds: float) -> Iterator[None]:
        """While inside, the followers of this log read their streams in batches: once a follower finds its stream
        empty (LogFollower.run says how it tells), it waits `seconds` before reading again, so a line reaches the
        log up to about that much later. No line is lost: the engine keeps them meanwhile. For bulk runs in which
        nothing waits on a line at once (the load run's submissions): a follower woken for every line costs
        several times the CPU per line of one that reads what piled up."""
        before, self.pace = self.pace, max(0.0, seconds)
        try:
            yield
        finally:
            self.pace = before

    def add(self, node: str, line: str) -> LogEvent:
        with self._cond:
            ev = parse_line(node, len(self.events), line, grammar=self.grammars.get(node, plain),
                            mta=self.kinds.get(node, ""))
            self.events.append(ev)
            self._cond.notify_all()
            return ev

    def follower_died(self, failure: FollowerFailure) -> None:
        """A follower stopped on an error: wake every wait, which then raises FollowerDied (and so will later ones)."""
        with self._cond:
            self._failures.append(failure)
            self._cond.notify_all()

    @property
    def failures(self) -> tuple[FollowerFailure, ...]:
        """The followers that died on an error, oldest first (empty while every log is followed)."""
        with self._cond:
            return tuple(self._failures)

    def mark(self) -> int:
        with self._cond:
            return len(self.events)

    def since(self, mark: int = 0, node: str | None = None) -> list[LogEvent]:
        with self._cond:
            evs = self.events[mark:]
        return [e for e in evs if node is None or e.node == node]

    def wait(self, predicate: Predicate, *, timeout: float, since: int = 0, what: str = "an event",
             hint: str = "") -> LogEvent:
        """The first event at or after `since` that matches; MailTimeout after `timeout` seconds.

        FollowerDied at once (before the deadline) when a log follower has died on an error: the events that
        would answer may never arrive."""
        deadline = time.monotonic() + timeout
        pos = since
        with self._cond:
            while True:
                if self._failures:
                    failures = tuple(self._failures)
                    break
                while pos < len(self.events):
                    ev = self.events[pos]
                    pos += 1
                    if predicate(ev):
                        return ev
                left = deadline - time.monotonic()
                if left <= 0:
                    failures = ()
                    break
                self._cond.wait(left)
        if failures:
            raise FollowerDied(self.died_message(failures, what, since, hint), failures)
        raise MailTimeout(self.timeout_message(what, timeout, since, hint))

    def died_message(self, failures: tuple[FollowerFailure, ...], what: str, since: int, hint: str = "",
                     last: int = 8) -> str:
        lines = [str(f) for f in failures]
        gone = ", ".join(dict.fromkeys(f.node for f in failures))
        lines.append(f"The log of {gone} is no longer followed, so waiting for {what} cannot tell whether it "
                     "happened; see the \"mailharness\" logger for the traceback.")
        return "\n".join(lines + self._context(since, hint, last))

    def timeout_message(self, what: str, timeout: float, since: int, hint: str = "", last: int = 8) -> str:
        lines = [f"waited {timeout:g}s for {what}; it did not happen."]
        return "\n".join(lines + self._context(since, hint, last))

    def _context(self, since: int, hint: str = "", last: int = 8) -> list[str]:
        """What each node logged last since `since`, and the hint."""
        lines: list[str] = []
        evs = self.since(since)
        nodes = list(dict.fromkeys(e.node for e in self.events))
        if not evs:
            lines.append("No node logged anything in that time.")
        evs = [e for e in evs if e.program != SYNC_PROGRAM]
        for n in nodes:
            mine = [e for e in evs if e.node == n]
            if not mine:
                continue
            shown = _tail(mine, last)
            if len(shown) == len(mine):
                lines.append(f"all {len(mine)} log lines on {n}:" if len(mine) > 1 else f"the one log line on {n}:")
            elif shown == mine[-len(shown):]:
                lines.append(f"last {len(shown)} of {len(mine)} log lines on {n}:")
            else:
                lines.append(f"{len(shown)} of {len(mine)} log lines on {n} (the last about a message, and the last "
                             "others; older lines that are about no message left out):")
            lines += [f"    {e.line}" for e in shown]
        if hint:
            lines.append(f"hint: {hint}")
        return lines


def _tail(events: list[LogEvent], last: int) -> list[LogEvent]:
    """The lines a time-out shows of one node, in their order: all of them when there are at most `last`; else the
    last `last` about a message (with a queue id: what a test waits for is a message's fate), and the last few about
    none (connections opening and closing, which a connection cache can log in bursts long after its mail)."""
    if len(events) <= last:
        return events
    about = [e for e in events if e.queue_id is not None][-last:]
    others = [e for e in events if e.queue_id is None][-max(last - len(about), last // 3):]
    keep = {e.seq for e in about} | {e.seq for e in others}
    return [e for e in events if e.seq in keep]


_WOKEN = 0.002  # seconds: a read that took longer waited for its line (the stream had nothing buffered)


class LogFollower(threading.Thread):
    """Streams one container's log into the EventLog until the container goes away.

    The stream ending (the container stopped or was removed: Docker ends the log stream, and docker-py's
    CancellableStream turns a connection closed under it into that end too), or any exception after `stop()`,
    is the normal end. Any other exception, from the stream or from handling a line, is recorded in `error`,
    logged to the "mailharness" logger and reported to the EventLog, whose waits then raise FollowerDied."""

    def __init__(self, node: str, stream: Iterable[bytes], log: EventLog,
                 on_line: Callable[[LogEvent], Any] | None = None):
        """`on_line` sees each event once it is in the log (from this thread: it must not block)."""
        super().__init__(name=f"mailharness-log-{node}", daemon=True)
        self.node, self.stream, self.log, self.on_line = node, stream, log, on_line
        self.error: FollowerFailure | None = None
        self._stopping = threading.Event()

    def stop(self) -> None:
        """End the follow on purpose: close the stream if it can be closed; what it raises after this is no error."""
        self._stopping.set()
        close = getattr(self.stream, "close", None)
        if callable(close):
            try:
                close()
            except Exception as exc:  # best effort: CancellableStream.close raises OSError on a socket already shut
                # and DockerException over SSH, a generator ValueError while it runs; the stream ends with its
                # container anyway, and anything the thread sees from now on is ignored.
                logger.debug("closing the log stream of %s: %s: %s", self.node, type(exc).__name__, exc)

    def run(self) -> None:
        buf = b""
        clock = time.monotonic
        resumed = 0.0  # when the last pause ended
        waits = 0  # reads since then that waited for their chunk
        try:
            chunks = iter(self.stream)
            while True:
                t = clock()
                chunk = next(chunks, None)
                waited = clock() - t
                if chunk is None:
                    break
                buf += chunk
                *lines, buf = buf.split(b"\n")
                for raw in lines:
                    line = raw.decode("utf-8", "replace").rstrip("\r")
                    if line:
                        self._add(line)
                # Paced (EventLog.paced): a read that kept us waiting means the stream had nothing left and the
                # lines come as they are logged: let the next ones pile up in the engine, then read them in one go.
                # A wait for the GIL looks the same, so it takes two such reads since the last pause, and a
                # follower reads for at least a quarter of the pace between two pauses: it cannot fall behind.
                waits += waited > _WOKEN
                pace = self.log.pace
                if pace and waits >= 2 and clock() - resumed >= pace / 4:
                    self._stopping.wait(pace)
                    resumed, waits = clock(), 0
            if buf.strip():
                self._add(buf.decode("utf-8", "replace").rstrip())
        except Exception as exc:  # anything: a parser bug or a broken stream must not end the follow silently
            if self._stopping.is_set():
                logger.debug("log follower of %s stopped: %s: %s", self.node, type(exc).__name__, exc)
                return
            self._died(exc)

    def _add(self, line: str) -> None:
        ev = self.log.add(self.node, line)
        if self.on_line is not None:
            self.on_line(ev)

    def _died(self, exc: Exception) -> None:
        frames = traceback.extract_tb(exc.__traceback__)
        where = ""
        if frames:
            f = frames[-1]
            where = f"{Path(f.filename).name}:{f.lineno} in {f.name}" + (f": {f.line}" if f.line else "")
        self.error = FollowerFailure(self.node, exc, where)
        logger.error("%s; waits on the event log will raise FollowerDied", self.error, exc_info=exc)
        self.log.follower_died(self.error)
