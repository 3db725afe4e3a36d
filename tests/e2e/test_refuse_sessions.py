"""A Refuse reaches SMTP sessions that are already open, and so does its removal (issue 18, item 7b): an smtpd that
serves a client's cached connection answers with the refusals as they are now, not as they were when it started.
(Before, the refusals were a texthash: table, which an smtpd reads once: a removed refusal went on for as long as
the client kept reusing its connection. benchmarks/refuse_undo.py measures how soon.)"""

from __future__ import annotations

import smtplib
import socket
import time

from harness import MailTopology, Refuse, evidence
from harness.evidence.events import LogEvent

ADDRESS = "jill@example.edu"
DEADLINE = 15.0  # seconds; nothing here waits for time to pass, only for what must happen


class Session(smtplib.SMTP):
    """An SMTP session to edu of the test's own, held open: one transaction, RCPT after RCPT (no RSET, which smtpd
    counts as a junk command)."""

    def __init__(self, world: MailTopology):
        self._open = world.access.connect
        super().__init__(local_hostname="client.mailharness.test", timeout=10)
        self.connect(world.node("edu").ip, 25)
        self.ehlo()
        self.mail("jack@store.example")

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return self._open(host, port, timeout)

    def until(self, code: int) -> list[str]:
        """RCPT TO the address until the reply has `code` (every 50 ms, up to the deadline): the replies seen."""
        seen: list[str] = []
        t0 = time.monotonic()
        while time.monotonic() - t0 < DEADLINE:
            got, text = self.rcpt(ADDRESS)
            seen.append(f"{got} {text.decode(errors='replace')}")
            if got == code:
                return seen
            time.sleep(0.05)
        raise AssertionError(f"RCPT TO:<{ADDRESS}> not answered {code} in the open session within {DEADLINE:g}s; "
                             f"{len(seen)} replies, the last: {seen[-1] if seen else 'none'}")


def test_a_refusal_and_its_removal_reach_a_session_already_open(mail_topology: MailTopology) -> None:
    session = Session(mail_topology)
    try:
        session.until(250)
        undo = mail_topology.apply(Refuse("edu", ADDRESS, "451 4.7.1 later"))
        assert session.until(451)[-1].startswith("451 4.7.1")
        undo()
        session.until(250)
    finally:
        session.close()


def test_a_message_deferred_by_a_refusal_goes_over_the_same_cached_connection_once_it_is_removed(
        mail_topology: MailTopology) -> None:
    """store retries every second over its cached connection to edu: the smtpd that refused serves it, and
    accepts the message once the refusal is removed."""
    store = mail_topology.postfix("store")
    # Cached for every delivery to edu, and kept while idle for longer than the test can take: scache(8) caps every
    # connection's time to live at connection_cache_ttl_limit (2 s by default), which a retry can come after (qmgr
    # scans the deferred queue every second: the retry came 2 s after the deferral once, over a new connection).
    store.postconf({"smtp_connection_cache_destinations": "example.edu", "smtp_connection_cache_time_limit": "60s",
                    "connection_cache_ttl_limit": "60s"})
    undo = mail_topology.apply(Refuse("edu", ADDRESS, "451 4.7.1 later"))
    mark = mail_topology.events.mark()
    mail_topology.send("jack@store.example", ADDRESS)

    def deferred_over_the_cache(e: LogEvent) -> bool:
        return any(d.node == "store" and d.status == "deferred" and d.recipient == ADDRESS
                   and evidence.connection_use(d) > 1 for d in evidence.deliveries([e]))

    mail_topology.events.wait(deferred_over_the_cache, timeout=DEADLINE, since=mark,
                              what=f"store's deferral of {ADDRESS} over a cached connection")
    refusing = {_pid(r.line) for r in mail_topology.rejections("edu") if r.recipient == ADDRESS}
    since = mail_topology.events.mark()
    undo()
    sent = mail_topology.events.wait(
        lambda e: any(d.node == "store" and d.status == "sent" and d.recipient == ADDRESS
                      for d in evidence.deliveries([e])),
        timeout=DEADLINE, since=since, what=f"store's delivery of {ADDRESS} to edu after the refusal was removed")
    [delivery] = evidence.deliveries([sent])
    assert evidence.connection_use(delivery) > 1, f"not over the cached connection: {sent.line}"
    # edu's own log comes on its own stream: its smtpd's client= line precedes its delivery, not store's line
    mail_topology.mailbox(ADDRESS).wait_for()
    accepted_by = {_pid(e.line) for e in mail_topology.events.since(since)
                   if e.node == "edu" and "postfix/smtpd[" in e.line and " client=" in e.line}
    assert accepted_by and accepted_by <= refusing, (
        f"edu's smtpd that accepted ({accepted_by}) is not one that refused ({refusing})")


def _pid(line: str) -> str:
    return line.partition("postfix/smtpd[")[2].partition("]")[0]
