"""The log follower never dies silently: its error reaches the next wait on the EventLog (no Docker needed).

Fake streams stand in for Docker's log stream. Nothing sleeps: the tests join the follower thread or wait on
threading events, each with a deadline.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import harness.evidence.events
from harness.errors import MailharnessError
from harness.evidence.events import EventLog, FollowerDied, LogEvent, LogFollower, MailTimeout
from harness.mta.postfix.evidence.grammar import grammar

DEADLINE = 10.0  # seconds; every join and event wait below ends long before unless something is broken


def _broken_stream() -> Iterator[bytes]:
    """A few lines (one split across chunks), then the transport fails."""
    yield b"Nov 29 13:05:05 mx postfix/master[1]: daemon started\n"
    yield b"second "
    yield b"line\n"
    raise RuntimeError("stream broke: connection reset by the engine")


def _follow(node: str, stream: Iterator[bytes], log: EventLog) -> LogFollower:
    follower = LogFollower(node, stream, log)
    follower.start()
    follower.join(DEADLINE)
    assert not follower.is_alive(), "the follower thread did not end"
    return follower


def test_a_stream_error_is_recorded_and_the_next_wait_raises_it_at_once(caplog: pytest.LogCaptureFixture) -> None:
    log = EventLog()
    with caplog.at_level(logging.ERROR, logger="mailharness"):
        follower = _follow("store", _broken_stream(), log)

    assert [e.line for e in log.since(0)][1:] == ["second line"]  # what came before the error is kept
    assert follower.error is not None and follower.error.node == "store"
    assert isinstance(follower.error.error, RuntimeError)
    assert "_broken_stream" in follower.error.where  # the short traceback line: where it was raised
    assert log.failures == (follower.error,)

    started = time.monotonic()
    with pytest.raises(FollowerDied) as exc:
        log.wait(lambda e: e.get("status") == "bounced", timeout=60, what="a bounce")
    assert time.monotonic() - started < DEADLINE  # raised at once, not after the 60 s deadline
    text = str(exc.value)
    assert text.startswith("the log follower of store died: RuntimeError: stream broke: connection reset")
    assert "waiting for a bounce cannot tell whether it happened" in text
    assert "second line" in text  # the last lines are still shown
    assert exc.value.node == "store"

    [record] = [r for r in caplog.records if r.name == "mailharness" and r.levelno == logging.ERROR]
    assert "the log follower of store died" in record.getMessage() and record.exc_info is not None


def test_a_parser_bug_reaches_the_next_wait_with_the_node_and_the_exception(monkeypatch: pytest.MonkeyPatch) -> None:
    real = harness.evidence.events.parse_line

    def buggy_parse(node: str, seq: int, line: str, at: float | None = None, **kw: Any) -> LogEvent:
        if "poison" in line:
            raise ValueError(f"cannot parse {line!r}")
        return real(node, seq, line, at, **kw)

    monkeypatch.setattr(harness.evidence.events, "parse_line", buggy_parse)
    log = EventLog()
    stream = iter([b"good line\n", b"poison line\n", b"never read\n"])
    follower = _follow("library", stream, log)

    assert [e.line for e in log.since(0)] == ["good line"]
    assert follower.error is not None and "buggy_parse" in follower.error.where
    with pytest.raises(FollowerDied) as exc:
        log.wait(lambda e: "never read" in e.line, timeout=60)
    assert str(exc.value).startswith("the log follower of library died: ValueError: cannot parse 'poison line'")


def test_a_wait_already_blocked_is_woken_when_the_follower_dies() -> None:
    log = EventLog()
    waiting, release = threading.Event(), threading.Event()
    outcome: list[BaseException] = []

    def stream() -> Iterator[bytes]:
        yield b"hello\n"
        assert release.wait(DEADLINE)
        raise ConnectionResetError("engine went away")

    def predicate(e: LogEvent) -> bool:
        waiting.set()  # called under the log's lock: the waiter then blocks on it until notified
        return False

    def waiter() -> None:
        try:
            log.wait(predicate, timeout=60, what="a DSN")
        except BaseException as exc:  # kept for the assertions in the main thread
            outcome.append(exc)

    follower = LogFollower("edu", stream(), log)
    follower.start()
    log.wait(lambda e: e.line == "hello", timeout=DEADLINE)
    t = threading.Thread(target=waiter, daemon=True)
    t.start()
    assert waiting.wait(DEADLINE)
    release.set()
    t.join(DEADLINE)
    follower.join(DEADLINE)
    assert not t.is_alive(), "the waiter was not woken by the follower's death"
    [err] = outcome
    assert isinstance(err, FollowerDied)
    assert str(err).startswith("the log follower of edu died: ConnectionResetError: engine went away")


def test_every_later_wait_raises_whatever_it_waits_for() -> None:
    log = EventLog()
    log.add("store", "already here")
    _follow("library", _broken_stream(), log)
    for _ in range(2):
        with pytest.raises(FollowerDied, match="^the log follower of library died"):
            log.wait(lambda e: e.node == "store", timeout=60)


def test_follower_died_is_still_a_mail_timeout_and_a_mailharness_error() -> None:
    log = EventLog()
    _follow("store", _broken_stream(), log)
    with pytest.raises(MailTimeout):  # callers that catch MailTimeout (or AssertionError) still do
        log.wait(lambda e: False, timeout=60)
    assert issubclass(FollowerDied, MailTimeout) and issubclass(FollowerDied, AssertionError)
    assert issubclass(FollowerDied, MailharnessError)


def test_a_stream_that_ends_because_the_container_stopped_is_not_an_error() -> None:
    log = EventLog()
    follower = _follow("store", iter([b"one\ntw", b"o\nlast line without newline"]), log)

    assert follower.error is None and log.failures == ()
    assert [e.line for e in log.since(0)] == ["one", "two", "last line without newline"]
    with pytest.raises(MailTimeout) as exc:
        log.wait(lambda e: False, timeout=0.01, what="anything")
    assert type(exc.value) is MailTimeout
    assert str(exc.value).startswith("waited 0.01s for anything; it did not happen.")


class _ClosableStream:
    """Like docker-py's CancellableStream: blocks until closed, then the read fails with OSError."""

    def __init__(self) -> None:
        self.closed = threading.Event()
        self._sent = False

    def __iter__(self) -> _ClosableStream:
        return self

    def __next__(self) -> bytes:
        if not self._sent:
            self._sent = True
            return b"up\n"
        assert self.closed.wait(DEADLINE)
        raise OSError("Bad file descriptor")

    def close(self) -> None:
        self.closed.set()


def test_an_error_after_stop_closes_the_stream_on_purpose_is_not_an_error() -> None:
    log = EventLog()
    stream = _ClosableStream()
    follower = LogFollower("dns", stream, log)
    follower.start()
    log.wait(lambda e: e.line == "up", timeout=DEADLINE)
    follower.stop()
    follower.join(DEADLINE)
    assert not follower.is_alive()
    assert stream.closed.is_set() and follower.error is None and log.failures == ()


def test_on_line_sees_each_event_once_it_is_in_the_log() -> None:
    log = EventLog(grammars={"store": grammar})
    seen: list[tuple[LogEvent, int]] = []
    follower = LogFollower("store", iter([b"Dec 02 02:37:07 mx postfix/qmgr[26]: E5635174FD7: skipped, still "
                                          b"being delivered\nsecond\n"]), log,
                           lambda ev: seen.append((ev, len(log.since(0)))))
    follower.start()
    follower.join(DEADLINE)

    assert [(e.program, e.queue_id, e.text, n) for e, n in seen] == [
        ("postfix/qmgr", "E5635174FD7", "skipped, still being delivered", 1), ("", None, "second", 2)]



def test_a_paced_follower_reads_what_piled_up_after_its_pause_and_loses_nothing(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(harness.evidence.events, "_WOKEN", -1.0)  # every read counts as one the follower waited for
    log = EventLog()
    follower = LogFollower("store", iter([b"first\n", b"sec", b"ond\n", b"third\n"]), log)
    with log.paced(0.2):
        assert log.pace == 0.2
        follower.start()
        follower.join(DEADLINE)
    assert log.pace == 0.0  # back to a line as it comes
    assert not follower.is_alive() and follower.error is None
    first, second, third = log.since(0)
    assert [first.line, second.line, third.line] == ["first", "second", "third"]  # nothing lost, nothing split
    assert second.at - first.at >= 0.2 * 0.95  # two reads that waited ("first", "sec"): it paused
    # then it reads for a while before it pauses again (a busy log is never fallen behind)
    assert third.at - second.at < 0.2 * 0.95


def test_stop_ends_a_paced_follower_in_its_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(harness.evidence.events, "_WOKEN", -1.0)
    log = EventLog()
    follower = LogFollower("edu", iter([b"up\n", b"later\n"]), log)
    with log.paced(60):
        follower.start()
        log.wait(lambda e: e.line == "up", timeout=DEADLINE)
        follower.stop()
        follower.join(DEADLINE)
    assert not follower.is_alive(), "a stopped follower went on pausing"
