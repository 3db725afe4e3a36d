"""C concurrent SMTP clients (threads over harness.smtp.submit, one session per message) with progress.

Each session pipelines where the server offers it (RFC 2920: MAIL, the RCPTs and DATA in one write, the message and
QUIT in another), as Postfix's own client does: four round trips a message instead of seven.

submit() never raises: every reply is a value in the transcript, so a refusal, a dropped connection or a time-out
under load is recorded, never lost. The main thread only watches: every `interval` seconds it reports progress
through `on_tick`, which may also act on the world meanwhile (the load run heals its tempfail there).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import UsageError
from ..smtp import submit

if TYPE_CHECKING:
    from ..access import Opener
from .accounting import Submitted
from .mix import PlannedMessage


@dataclass(frozen=True)
class Progress:
    total: int
    submitted: int  # sessions finished (accepted or not)
    accepted: int
    elapsed: float  # seconds since the first session started

    @property
    def accepted_per_s(self) -> float:
        return self.accepted / self.elapsed if self.elapsed > 0 else 0.0

    def __str__(self) -> str:
        return (f"  submitted {self.submitted}/{self.total}, accepted {self.accepted} "
                f"({self.accepted_per_s:.1f} accepted/s, {self.elapsed:.1f}s)")


@dataclass(frozen=True)
class ClientRun:
    submissions: list[Submitted]
    cpu_seconds: float = 0.0  # the harness process's CPU meanwhile: client threads and log followers
    spans: tuple[float, ...] = ()  # joined runs (`joined`): the seconds of each

    @classmethod
    def joined(cls, runs: Sequence[ClientRun]) -> ClientRun:
        """Several runs as one: their sessions, CPU and seconds added up (not the time between them)."""
        return cls([s for r in runs for s in r.submissions], sum(r.cpu_seconds for r in runs),
                   tuple(r.seconds for r in runs))

    @property
    def cpu_ms_per_message(self) -> float:
        return self.cpu_seconds * 1000 / len(self.submissions) if self.submissions else 0.0

    @property
    def seconds(self) -> float:
        """From the first session's start to the last one's end (for joined runs: the sum of each one's)."""
        if self.spans:
            return sum(self.spans)
        if not self.submissions:
            return 0.0
        return max(s.ended for s in self.submissions) - min(s.started for s in self.submissions)

    @property
    def accepted(self) -> int:
        return sum(1 for s in self.submissions if s.accepted)

    @property
    def accepted_per_s(self) -> float:
        return self.accepted / self.seconds if self.seconds > 0 else 0.0


def _one(host: str, port: int, message: PlannedMessage, data: bytes, timeout: float,
         connect: Opener | None) -> Submitted:
    started = time.time()
    t = submit(host, message.envelope(), data, port=port, timeout=timeout, connect=connect, pipelining=True)
    eod = next((e for e in t.exchanges if e.stage == "END-OF-MESSAGE"), None)
    return Submitted(message, t, started, time.time(), eod.at if eod is not None and t.accepted else None)


def run_clients(hosts: Mapping[str, str], messages: Sequence[PlannedMessage], data: Sequence[bytes], clients: int,
                *, on_tick: Callable[[Progress], None] = lambda p: None, interval: float = 1.0,
                timeout: float = 30.0, port: int = 25, connect: Opener | None = None) -> ClientRun:
    """Submit every message to the address of its node (`hosts`: node name -> address) from `clients` threads,
    each connection opened by `connect` (the topology's access path; None: directly)."""
    if len(messages) != len(data):
        raise UsageError("one rendered message per planned message")
    start = time.monotonic()
    cpu = time.process_time()
    counts = [0, 0]  # sessions finished, accepted
    finished = threading.Condition()

    def count(f: Future[Submitted]) -> None:  # on the client's thread, as each session ends
        with finished:
            counts[0] += 1
            counts[1] += 1 if not f.exception() and f.result().accepted else 0
            if counts[0] == len(messages):
                finished.notify()

    # The watcher sleeps between ticks: the sessions count themselves as they end (waiting on all the pending
    # futures at once instead cost it time in proportion to those still pending, at every session's end).
    with ThreadPoolExecutor(max_workers=max(1, clients), thread_name_prefix="mailharness-load") as pool:
        futures: list[Future[Submitted]] = []
        for m, d in zip(messages, data, strict=True):
            futures.append(pool.submit(_one, hosts[m.via], port, m, d, timeout, connect))
            futures[-1].add_done_callback(count)
        next_tick = start + interval
        while True:
            with finished:
                finished.wait_for(lambda: counts[0] == len(messages), max(0.0, next_tick - time.monotonic()))
                submitted, accepted = counts
            now = time.monotonic()
            if now >= next_tick or submitted == len(messages):
                on_tick(Progress(len(messages), submitted, accepted, now - start))
                next_tick = now + interval
            if submitted == len(messages):
                break
    return ClientRun([f.result() for f in futures], time.process_time() - cpu)
