"""How soon a Refuse reaches SMTP sessions that are already open, and how soon its removal does (issue 18, item
7b): an smtpd that serves a cached connection must not go on with the refusals of before.

    python benchmarks/refuse_undo.py [--rounds 3] [--deadline 30]

Each round, on the default topology (store relays to edu): store keeps its connections to example.edu cached
(smtp_connection_cache_destinations, so that every retry reuses one), this script holds an SMTP session of its own
open to edu from before the apply, `Refuse(edu, jill@example.edu, 451)` is applied, a second session is opened
(refused), a message from store to that address is deferred over store's cached connection, and the fault is
removed while the second session and store's stay open. Printed (`name: value`,
medians over the rounds; `-` when a round passed the deadline, said on stderr):

- refuse_apply_session_s: from the apply's call to the first RCPT refused in the session opened before it;
- refuse_undo_session_s (and _max_s): from the undo's call to the first RCPT accepted in the session held through
  it (checked every 50 ms);
- refuse_undo_relay_s (and _max_s): from the undo's call to store's delivery of the deferred message to edu (its
  log line's arrival at the harness), over the cached connection or not (`refuse_undo_relay_cached`: how many of
  the rounds' deliveries came over a cached connection, conn_use > 1); store retries every second, so this
  includes up to a second of store's own wait;
- refuse_undo_call_s: how long the undo's call took (edu's reload, and its wait for the daemons of before it).
"""

from __future__ import annotations

import argparse
import smtplib
import socket
import statistics
import sys
import threading
import time
from collections.abc import Callable

from harness import MailTopology, Refuse, evidence
from harness.evidence.events import LogEvent, MailTimeout
from harness.topology import default_topology

ADDRESS = "jill@example.edu"
REPLY = "451 4.7.1 refused by refuse_undo.py"


class Session(smtplib.SMTP):
    """An SMTP session to a node, opened through the topology's access path and held open."""

    def __init__(self, world: MailTopology, ip: str):
        self._open = world.access.connect
        self.in_mail = False
        super().__init__(local_hostname="bench.mailharness.test", timeout=10)
        self.connect(ip, 25)
        self.ehlo()

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return self._open(host, port, timeout)

    def rcpt_code(self) -> int:
        """RCPT TO the address in the session's one transaction (MAIL once): its reply's code. No RSET between
        polls: smtpd counts RSET as a junk command, and junk and refused commands towards its error limits."""
        if not self.in_mail:
            self.mail("bench@store.example")
            self.in_mail = True
        code, _ = self.rcpt(ADDRESS)
        return code


def poll(want: Callable[[], bool], since: float, deadline: float) -> float | None:
    """Seconds from `since` (time.monotonic) until `want()` held, checked every 50 ms; None at the deadline."""
    while time.monotonic() - since < deadline:
        if want():
            return time.monotonic() - since
        time.sleep(0.05)
    return None


def one_round(world: MailTopology, deadline: float) -> dict[str, float | None]:
    world.reset()
    world.postfix("store").postconf({"smtp_connection_cache_destinations": "example.edu"})
    edu = world.node("edu")
    before = Session(world, edu.ip)  # open before the apply
    held: Session | None = None
    try:
        assert before.rcpt_code() == 250, f"{ADDRESS} refused before the fault"
        t_apply = time.monotonic()
        undo = world.apply(Refuse("edu", ADDRESS, REPLY))
        apply_s = poll(lambda: before.rcpt_code() == 451, t_apply, deadline)
        if apply_s is None:
            print(f"round: the session opened before the apply still accepted {ADDRESS} {deadline:g}s after it",
                  file=sys.stderr)
        before.quit()
        held = Session(world, edu.ip)  # opened with the refusal in force, held through the undo
        assert held.rcpt_code() == 451, f"{ADDRESS} not refused in a new session while Refuse is applied"
        mark = world.events.mark()
        world.send("jack@store.example", ADDRESS, subject="refuse_undo")

        def cached_deferral(e: LogEvent) -> bool:
            return any(d.status == "deferred" and d.recipient == ADDRESS and evidence.connection_use(d) > 1
                       for d in evidence.deliveries([e]))

        world.events.wait(cached_deferral, timeout=deadline, since=mark, what="a deferral over a cached connection")
        since = world.events.mark()
        t0_wall, t0 = time.time(), time.monotonic()
        call: list[float] = []

        def do_undo() -> None:
            undo()
            call.append(time.monotonic() - t0)

        th = threading.Thread(target=do_undo)
        th.start()
        session = held
        session_s = poll(lambda: session.rcpt_code() == 250, t0, deadline)
        if session_s is None:
            print(f"round: the held session still refused {ADDRESS} {deadline:g}s after the undo", file=sys.stderr)
        th.join()
        relay_s: float | None = None
        cached = 0.0
        try:
            ev = world.events.wait(lambda e: any(d.status == "sent" and d.recipient == ADDRESS and d.node == "store"
                                                 for d in evidence.deliveries([e])),
                                   timeout=max(0.1, deadline - (time.monotonic() - t0)), since=since,
                                   what="store's delivery to edu after the undo")
            relay_s = ev.at - t0_wall
            cached = 1.0 if any(evidence.connection_use(d) > 1 for d in evidence.deliveries([ev])) else 0.0
        except MailTimeout as exc:
            print(f"round: no delivery within {deadline:g}s of the undo: {str(exc).splitlines()[0]}",
                  file=sys.stderr)
        return {"apply": apply_s, "session": session_s, "relay": relay_s, "call": call[0] if call else None,
                "cached": cached}
    finally:
        for s in (before, held):
            if s is None:
                continue
            try:
                s.quit()
            except (smtplib.SMTPException, OSError):
                s.close()


def median(xs: list[float | None]) -> str:
    if not xs or any(x is None for x in xs):
        return "-"
    return f"{statistics.median([x for x in xs if x is not None]):.3f}"


def most(xs: list[float | None]) -> str:
    if not xs or any(x is None for x in xs):
        return "-"
    return f"{max(x for x in xs if x is not None):.3f}"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--deadline", type=float, default=30.0)
    a = ap.parse_args()
    rounds = []
    with MailTopology(default_topology()) as world:
        print(f"releases: {world.releases()}", file=sys.stderr)
        for i in range(a.rounds):
            r = one_round(world, a.deadline)
            print(f"round {i + 1}: {r}", file=sys.stderr)
            rounds.append(r)
    print(f"refuse_apply_session_s: {median([r['apply'] for r in rounds])}")
    print(f"refuse_undo_session_s: {median([r['session'] for r in rounds])}")
    print(f"refuse_undo_session_max_s: {most([r['session'] for r in rounds])}")
    print(f"refuse_undo_relay_s: {median([r['relay'] for r in rounds])}")
    print(f"refuse_undo_relay_max_s: {most([r['relay'] for r in rounds])}")
    print(f"refuse_undo_relay_cached: {sum(int(r['cached'] or 0) for r in rounds)}/{len(rounds)}")
    print(f"refuse_undo_call_s: {median([r['call'] for r in rounds])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
