"""A retry that finds its queue file still locked by the delivery agent that just deferred it.

With retries every second, qmgr's next deferred-queue scan can reach the file before that agent has closed it
(it reports its status first); qmgr then logs "skipped, still being delivered" and parks the file 60 s ahead.
Here a shared lock held across that scan, as the agent holds it, makes the race certain: the harness must
reschedule the message once the lock is gone, so the retry still comes within seconds."""

from __future__ import annotations

import threading
import time

from harness import MailTopology, Refuse


def test_a_retry_skipped_as_still_being_delivered_is_rescheduled_once_the_lock_is_gone(
        mail_topology: MailTopology) -> None:
    world = mail_topology
    store = world.postfix("store")
    heal = world.apply(Refuse("library", "jill@library.example", "451 4.3.2 Mailbox temporarily unavailable"))
    sent = world.send("jack@store.example", "jill@library.example")
    qid = sent.queue_id
    assert qid
    deferred = world.wait_log(lambda e: e.node == "store" and e.queue_id == qid and e.get("status") == "deferred",
                              what="store deferring")
    hold = threading.Thread(target=store.exec, daemon=True, args=(["sh", "-c", (
        f"f=$(find /var/spool/postfix/deferred /var/spool/postfix/active /var/spool/postfix/incoming -name {qid} "
        '-type f | head -n 1); [ -n "$f" ] && flock -s "$f" sleep 1.5')],))
    hold.start()
    time.sleep(0.3)
    heal()

    world.wait_log(lambda e: e.node == "store" and e.queue_id == qid and e.text == "skipped, still being delivered",
                   what="qmgr skipping the locked queue file", timeout=10)
    relayed = world.wait_log(lambda e: e.node == "store" and e.queue_id == qid and e.get("status") == "sent",
                             what="the retry after the lock is gone", timeout=15)
    assert relayed.at - deferred.at < 10
    hold.join(10)
    sent.verdict().assert_delivered_to("jill@library.example")
