"""The load run's accounting without Docker: synthetic Postfix log lines (as the real servers write them) for a
handful of messages, then one thing broken at a time (a lost message, a duplicate delivery, a DSN to the wrong
address...) and each detected. Also the mix, the report, the evidence functions the accounting reads, and the
clients against the in-process mock SMTP server."""

from __future__ import annotations

import argparse
from collections import Counter

import pytest

from harness import evidence
from harness.evidence.events import LogEvent
from harness.loadgen.accounting import Accounting, Submitted, account
from harness.loadgen.clients import Progress, run_clients
from harness.loadgen.command import LoadOptions, LoadResult, add_arguments, command
from harness.loadgen.mix import OUTCOMES, TEMPLATES, Mix, PlannedMessage, PlannedRecipient, load_topology, render
from harness.loadgen.report import findings, percentile, table
from harness.loadgen.settle import Drain, census_mismatches, logged_mailboxes
from harness.mock import MockSMTP, Script, rule
from harness.mta.postfix import evidence as postfix_evidence
from harness.mta.postfix.evidence.grammar import parse_line
from harness.smtp import Exchange, Reply, Transcript

T0 = 1_800_000_000.0
TS = "Dec 02 03:04:06 mx"
HOSTS = {"store": ("mx.store.example", "10.1.1.10"), "library": ("mx.library.example", "10.1.1.11"),
         "edu": ("mx.example.edu", "10.1.1.12")}


# -- Postfix's log lines ---------------------------------------------------------------------------------------------
def cleanup(qid: str, mid: str) -> str:
    return f"{TS} postfix/cleanup[10]: {qid}: message-id={mid}"


def qmgr(qid: str, sender: str, nrcpt: int = 1) -> str:
    return f"{TS} postfix/qmgr[11]: {qid}: from=<{sender}>, size=900, nrcpt={nrcpt} (queue active)"


def removed(qid: str) -> str:
    return f"{TS} postfix/qmgr[11]: {qid}: removed"


def relayed(qid: str, to: str, peer: str, next_qid: str, orig: str = "") -> str:
    host, ip = HOSTS[peer]
    o = f" orig_to=<{orig}>," if orig else ""
    return (f"{TS} postfix/smtp[12]: {qid}: to=<{to}>,{o} relay={host}[{ip}]:25, delay=0.1, delays=0/0/0/0.1, "
            f"dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as {next_qid})")


def local(qid: str, to: str, orig: str = "", what: str = "delivered to maildir") -> str:
    o = f" orig_to=<{orig}>," if orig else ""
    return (f"{TS} postfix/local[13]: {qid}: to=<{to}>,{o} relay=local, delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, "
            f"status=sent ({what})")


def refused_by(qid: str, to: str, peer: str, reply: str, orig: str = "") -> str:
    host, ip = HOSTS[peer]
    o = f" orig_to=<{orig}>," if orig else ""
    return (f"{TS} postfix/smtp[12]: {qid}: to=<{to}>,{o} relay={host}[{ip}]:25, delay=0.1, delays=0/0/0/0.1, "
            f"dsn={reply.split()[1]}, status=bounced (host {host}[{ip}] said: {reply} (in reply to RCPT TO command))")


def notice(qid: str, dsn_qid: str) -> str:
    return f"{TS} postfix/bounce[14]: {qid}: sender non-delivery notification: {dsn_qid}"


# -- five messages, one of each kind --------------------------------------------------------------------------------
def mid(i: int) -> str:
    return f"<load-t-{i:05d}@store.example>"


def dsn_mid(qid: str, host: str) -> str:
    return f"<20261202030406.{qid}@{host}>"


def rcpt(address: str, kind: str, expect: str, scenario: str = "") -> PlannedRecipient:
    return PlannedRecipient(address, kind, scenario or kind, expect)  # type: ignore[arg-type]


MESSAGES = [
    PlannedMessage(0, mid(0), "jack+m0@store.example", "store", (),
                   (rcpt("jill@library.example", "library", "delivered"),)),
    PlannedMessage(1, mid(1), "jack+m1@store.example", "store", (),
                   (rcpt("no-such-user-1@library.example", "unknown", "dsn"),)),
    PlannedMessage(2, mid(2), "jack+m2@store.example", "library", (),
                   (rcpt("jill@library.example", "library", "delivered"),
                    rcpt("no-such-user-2@library.example", "unknown", "refused", "unknown, via library"))),
    PlannedMessage(3, mid(3), "jack+m3@store.example", "store", ("NEVER",),
                   (rcpt("fwd@example.edu", "forward", "silent", "forward, NOTIFY=NEVER"),)),
    PlannedMessage(4, mid(4), "jack+m4@store.example", "store", (),
                   (rcpt("fwd@example.edu", "forward", "dsn"),)),
]
FWD, GONE = "fwd@example.edu", "fwd-refused@store.example"
REFUSED = "550 5.7.1 <fwd-refused@store.example>: Recipient address rejected: forward refused"
UNKNOWN = "550 5.1.1 <no-such-user-1@library.example>: Recipient address rejected: User unknown"


def story() -> list[tuple[str, str]]:
    """(node, line) for the five messages, each server's lines in the order it writes them."""
    return [
        # 0: relayed by store, delivered by library
        ("store", cleanup("A00000", mid(0))), ("store", qmgr("A00000", "jack+m0@store.example")),
        ("library", cleanup("B00000", mid(0))), ("library", qmgr("B00000", "jack+m0@store.example")),
        ("store", relayed("A00000", "jill@library.example", "library", "B00000")), ("store", removed("A00000")),
        ("library", local("B00000", "jill@library.example")), ("library", removed("B00000")),
        # 1: library rejects at RCPT, store bounces to the sender
        ("store", cleanup("A00001", mid(1))), ("store", qmgr("A00001", "jack+m1@store.example")),
        ("store", refused_by("A00001", "no-such-user-1@library.example", "library", UNKNOWN)),
        ("store", cleanup("A0000D", dsn_mid("A0000D", "mx.store.example"))), ("store", notice("A00001", "A0000D")),
        ("store", removed("A00001")), ("store", qmgr("A0000D", "")),
        ("store", local("A0000D", "jack+m1@store.example")), ("store", removed("A0000D")),
        # 2: submitted to library: one recipient refused to the client, the other delivered
        ("library", cleanup("B00002", mid(2))), ("library", qmgr("B00002", "jack+m2@store.example")),
        ("library", local("B00002", "jill@library.example")), ("library", removed("B00002")),
        # 3: NOTIFY=NEVER: edu forwards, store refuses, nobody sends a DSN
        ("store", cleanup("A00003", mid(3))), ("store", qmgr("A00003", "jack+m3@store.example")),
        ("edu", cleanup("C00003", mid(3))), ("edu", qmgr("C00003", "jack+m3@store.example")),
        ("store", relayed("A00003", FWD, "edu", "C00003")), ("store", removed("A00003")),
        ("edu", cleanup("C0003F", mid(3))), ("edu", qmgr("C0003F", "jack+m3@store.example")),
        ("edu", local("C00003", FWD, what="forwarded as C0003F")), ("edu", removed("C00003")),
        ("edu", refused_by("C0003F", GONE, "store", REFUSED, orig=FWD)), ("edu", removed("C0003F")),
        # 4: the same forward, and edu's DSN relayed to store, delivered to the sender
        ("store", cleanup("A00004", mid(4))), ("store", qmgr("A00004", "jack+m4@store.example")),
        ("edu", cleanup("C00004", mid(4))), ("edu", qmgr("C00004", "jack+m4@store.example")),
        ("store", relayed("A00004", FWD, "edu", "C00004")), ("store", removed("A00004")),
        ("edu", cleanup("C0004F", mid(4))), ("edu", qmgr("C0004F", "jack+m4@store.example")),
        ("edu", local("C00004", FWD, what="forwarded as C0004F")), ("edu", removed("C00004")),
        ("edu", refused_by("C0004F", GONE, "store", REFUSED, orig=FWD)),
        ("edu", cleanup("C0004D", dsn_mid("C0004D", "mx.example.edu"))), ("edu", notice("C0004F", "C0004D")),
        ("edu", removed("C0004F")), ("edu", qmgr("C0004D", "")),
        ("store", cleanup("A0004D", dsn_mid("C0004D", "mx.example.edu"))), ("store", qmgr("A0004D", "")),
        ("edu", relayed("C0004D", "jack+m4@store.example", "store", "A0004D")), ("edu", removed("C0004D")),
        ("store", local("A0004D", "jack+m4@store.example")), ("store", removed("A0004D")),
    ]


def events(lines: list[tuple[str, str]]) -> list[LogEvent]:
    return [parse_line(node, i, line, at=T0 + 1 + i * 0.01) for i, (node, line) in enumerate(lines)]


def submission(m: PlannedMessage, codes: list[int] | None = None, qid: str = "A0000F") -> Submitted:
    codes = codes or [250] * len(m.recipients)
    t = Transcript("10.1.1.10:25", m.envelope())
    for r, code in zip(m.recipients, codes, strict=True):
        text = "2.1.5 Ok" if code == 250 else f"{code // 100}.1.1 <{r.address}>: Recipient address rejected"
        t.exchanges.append(Exchange("RCPT", f"RCPT TO:<{r.address}>", Reply.parse(code, text), T0))
    accepted = any(c == 250 for c in codes)
    if accepted:
        t.exchanges.append(Exchange("END-OF-MESSAGE", "<message>", Reply.parse(250, f"2.0.0 Ok: queued as {qid}"),
                                    T0 + 0.1))
    return Submitted(m, t, T0, T0 + 0.1, T0 + 0.1 if accepted else None)


def submissions() -> list[Submitted]:
    return [submission(m, [250, 550] if m.index == 2 else None) for m in MESSAGES]


def outcomes(acct: Accounting) -> list[tuple[int, str, str]]:
    return [(r.message.index, r.recipient.address, r.outcome) for r in acct.results]


def without(lines: list[tuple[str, str]], *needles: str) -> list[tuple[str, str]]:
    return [(n, line) for n, line in lines if not any(x in line for x in needles)]


# -- the accounting ---------------------------------------------------------------------------------------------------
def test_a_clean_run_accounts_for_every_recipient() -> None:
    acct = account(submissions(), events(story()))
    assert outcomes(acct) == [
        (0, "jill@library.example", "delivered"), (1, "no-such-user-1@library.example", "dsn"),
        (2, "jill@library.example", "delivered"), (2, "no-such-user-2@library.example", "refused"),
        (3, FWD, "silent"), (4, FWD, "dsn")]
    assert acct.ok and acct.misdirected_dsns == [] and acct.pending == []
    assert (acct.unaccounted, acct.duplicates, acct.misdirected, acct.unexpected) == (0, 0, 0, [])
    refused = next(r for r in acct.results if r.outcome == "refused")
    assert refused.detail.startswith("550 5.1.1 <no-such-user-2@library.example>")
    assert refused.latency is None
    lat = {(r.message.index, r.outcome): r.latency for r in acct.results if r.latency is not None}
    assert all(v is not None and v > 0.9 for v in lat.values()) and len(lat) == 5
    # a DSN's latency runs to the DSN's delivery to the sender: later than the failure it reports
    assert lat[(4, "dsn")] > lat[(3, "silent")]


def test_a_lost_message_is_detected() -> None:
    lines = without(story(), "B00000: to=<jill@library.example>")  # library never logged the delivery
    acct = account(submissions(), events(lines))
    [lost] = acct.problems
    assert (lost.message.index, lost.outcome) == (0, "unaccounted")
    assert lost.detail.startswith("last seen: store sent (250 2.0.0 Ok: queued as B00000)")
    assert not acct.ok


def test_a_message_still_queued_is_unaccounted_and_listed() -> None:
    lines = without(story(), "B00000: to=", "B00000: removed")
    acct = account(submissions(), events(lines))
    [stuck] = acct.problems
    assert (stuck.outcome, stuck.detail) == ("unaccounted", "still queued at library B00000")
    assert acct.pending == ["library B00000 (logged, never removed)"]


def test_a_message_no_node_logged_is_unaccounted() -> None:
    lines = [(n, line) for n, line in story() if "A00000" not in line and "B00000" not in line]
    [lost] = account(submissions(), events(lines)).problems
    assert (lost.outcome, lost.detail) == ("unaccounted", "no node logged anything about it after acceptance")


def test_a_duplicate_delivery_is_detected() -> None:
    again = [("library", cleanup("B0000A", mid(0))), ("library", qmgr("B0000A", "jack+m0@store.example")),
             ("library", local("B0000A", "jill@library.example")), ("library", removed("B0000A"))]
    acct = account(submissions(), events(story() + again))
    [dup] = acct.problems
    assert (dup.message.index, dup.outcome) == (0, "duplicate")
    assert dup.detail == "delivered 2 times: library B00000 to <jill@library.example>; library B0000A to " \
                         "<jill@library.example>"
    assert acct.duplicates == 1 and not acct.ok


def test_two_dsns_for_one_failure_are_a_duplicate() -> None:
    again = [("store", cleanup("A0000E", dsn_mid("A0000E", "mx.store.example"))),
             ("store", notice("A00001", "A0000E")), ("store", qmgr("A0000E", "")),
             ("store", local("A0000E", "jack+m1@store.example")), ("store", removed("A0000E"))]
    acct = account(submissions(), events(story() + again))
    [dup] = acct.problems
    assert (dup.message.index, dup.outcome, dup.detail) == (1, "duplicate", "2 DSNs: from store, store")


def test_a_dsn_to_the_wrong_address_is_misdirected() -> None:
    lines = [(n, line.replace("A0000D: to=<jack+m1@store.example>", "A0000D: to=<jack+m0@store.example>"))
             for n, line in story()]
    acct = account(submissions(), events(lines))
    [wrong] = acct.problems
    assert (wrong.message.index, wrong.outcome) == (1, "misdirected")
    assert wrong.detail == "the DSN from store went to <jack+m0@store.example>, not to the envelope sender " \
                           "<jack+m1@store.example>"
    assert acct.misdirected == 1 and not acct.ok


def test_a_dsn_notify_never_forbids_is_misdirected() -> None:
    dsn = [("edu", cleanup("C0003D", dsn_mid("C0003D", "mx.example.edu"))), ("edu", notice("C0003F", "C0003D")),
           ("edu", qmgr("C0003D", "")), ("edu", relayed("C0003D", "jack+m3@store.example", "store", "A0003D")),
           ("edu", removed("C0003D")), ("store", cleanup("A0003D", dsn_mid("C0003D", "mx.example.edu"))),
           ("store", qmgr("A0003D", "")), ("store", local("A0003D", "jack+m3@store.example")),
           ("store", removed("A0003D"))]
    [never] = account(submissions(), events(story() + dsn)).problems
    assert (never.message.index, never.outcome) == (3, "misdirected")
    assert never.detail == "a DSN from edu although NOTIFY=NEVER forbids one"


def test_a_failure_without_its_dsn_is_unaccounted() -> None:
    lines = without(story(), "A00001: sender non-delivery notification")
    acct = account(submissions(), events(lines))
    [missing] = acct.problems
    assert (missing.message.index, missing.outcome) == (1, "unaccounted")
    assert missing.detail.startswith("failed at store (5.1.1 host mx.library.example[10.1.1.11] said: 550 5.1.1")
    assert missing.detail.endswith("and no DSN about it")
    # the DSN itself is now a message nobody accounts for
    assert len(acct.misdirected_dsns) == 1 and "A0000D from <>" in acct.misdirected_dsns[0]


def test_a_dsn_that_never_arrives_is_unaccounted() -> None:
    lines = without(story(), "A0004D: to=", "A0004D: removed")
    [lost] = account(submissions(), events(lines)).problems
    assert (lost.message.index, lost.outcome) == (4, "unaccounted")
    assert lost.detail == "the DSN from edu (C0004D) still queued at store A0004D"


def test_a_notification_nobody_sent_is_misdirected() -> None:
    stray = [("store", cleanup("A000EE", "<20261202030406.A000EE@mx.store.example>")),
             ("store", qmgr("A000EE", "double-bounce@store.example")),
             ("store", local("A000EE", "postmaster@store.example")), ("store", removed("A000EE"))]
    acct = account(submissions(), events(story() + stray))
    assert acct.problems == [] and acct.misdirected == 1 and not acct.ok
    [text] = acct.misdirected_dsns
    assert text.startswith("store A000EE from <double-bounce@store.example>")
    assert text.endswith("store: postmaster@store.example (sent)")


def test_a_dsn_that_reports_nothing_is_misdirected() -> None:
    extra = [("store", notice("A00000", "A000FF"))]  # a DSN about a message whose recipient was delivered
    acct = account(submissions(), events(story() + extra))
    assert acct.problems == [] and acct.misdirected == 1
    assert "reports no failed recipient it may report" in acct.misdirected_dsns[0]


def test_another_outcome_than_expected_fails_the_run() -> None:
    subs = submissions()
    subs[0] = submission(MESSAGES[0], [550])  # jill refused at RCPT: the client knows, but the mix expected delivery
    acct = account(subs, events(story()))
    assert acct.problems == []
    [odd] = acct.unexpected
    assert (odd.message.index, odd.outcome, odd.recipient.expect) == (0, "refused", "delivered")
    assert not acct.ok


def test_a_session_that_failed_is_refused_with_its_reason() -> None:
    m = MESSAGES[0]
    t = Transcript("10.1.1.10:25", m.envelope())
    t.exchanges.append(Exchange("CONNECT", "", Reply(0, None, "connect to 10.1.1.10:25: Connection refused"), T0))
    acct = account([Submitted(m, t, T0, T0, None)], events([]))
    [r] = acct.results
    assert (r.outcome, r.detail) == ("refused", "(no reply: connect to 10.1.1.10:25: Connection refused)")


def test_a_queue_id_postfix_reused_is_another_message() -> None:
    """Postfix reuses a short queue id once its file is gone: message 5 gets library's B00000 after message 0 left
    it. Keyed by (node, queue id), the later Message-ID would take message 0's delivery too."""
    m5 = PlannedMessage(5, mid(5), "jack+m5@store.example", "store", (),
                        (rcpt("jill@library.example", "library", "delivered"),))
    later = [("store", cleanup("A00005", mid(5))), ("store", qmgr("A00005", "jack+m5@store.example")),
             ("library", f"{TS} postfix/smtpd[15]: B00000: client=mx.store.example[10.1.1.10]"),
             ("library", cleanup("B00000", mid(5))), ("library", qmgr("B00000", "jack+m5@store.example")),
             ("store", relayed("A00005", "jill@library.example", "library", "B00000")), ("store", removed("A00005")),
             ("library", local("B00000", "jill@library.example")), ("library", removed("B00000")),
             # and store's DSN queue id A0000D again, for message 5's second recipient... of another run: a life too
             ("store", cleanup("A0000D", "<20261202030406.other@mx.store.example>"))]
    evs = events(story() + later)
    assert evidence.message_ids(evs)[("library", "B00000")] == mid(5)  # the first life's Message-ID is gone
    lives = evidence.message_ids(evidence.queue_lives(evs))
    assert (lives[("library", "B00000")], lives[("library", "B00000_2")]) == (mid(0), mid(5))
    assert lives[("store", "A0000D_2")] == "<20261202030406.other@mx.store.example>"
    acct = account([*submissions(), submission(m5)], evs[:-1])
    assert acct.ok and [r.outcome for r in acct.results if r.message.index in (0, 5)] == ["delivered", "delivered"]


def test_a_dsn_names_the_life_of_its_queue_id() -> None:
    reused = [("store", cleanup("A0000D", "<20261202030406.earlier@mx.store.example>")),
              ("store", qmgr("A0000D", "")), ("store", local("A0000D", "jack+m9@store.example")),
              ("store", removed("A0000D"))]
    evs = evidence.queue_lives(events(reused + story()))
    [n] = [n for n in evidence.notices(evs) if n.queue_id == "A00001"]
    assert n.dsn_queue_id == "A0000D_2"
    assert evidence.message_ids(evs)[("store", "A0000D_2")] == dsn_mid("A0000D", "mx.store.example")


def test_logged_at_reads_the_nodes_own_time_stamp() -> None:
    import calendar

    e = parse_line("store", 0, removed("A00000"), at=calendar.timegm((2026, 12, 2, 3, 4, 8, 0, 0, 0)))
    stamp = evidence.logged_at(e)
    assert stamp is not None and e.at - stamp == 1.5  # written at 03:04:06 (and a half), arrived at 03:04:08
    new_year = parse_line("store", 0, removed("A00000"), at=calendar.timegm((2027, 1, 1, 0, 0, 1, 0, 0, 0)))
    assert evidence.logged_at(new_year) == calendar.timegm((2026, 12, 2, 3, 4, 6, 0, 0, 0)) + 0.5
    assert evidence.logged_at(parse_line("dns", 0, "dnsmasq[1]: query[A] mx.store.example")) is None


def test_connection_use_says_whether_the_connection_came_from_the_cache() -> None:
    fresh = relayed("A00000", "jill@library.example", "library", "B00000")
    cached = fresh.replace(":25, delay=", ":25, conn_use=3, delay=")
    uses = [evidence.connection_use(d) for d in evidence.deliveries(events([("store", fresh), ("store", cached)]))]
    assert uses == [1, 3]


# -- the mix ------------------------------------------------------------------------------------------------------
def test_the_mix_covers_every_outcome_and_stays_in_the_topology() -> None:
    spec = load_topology()
    assert spec.node("edu").users == ("jill", "fwd", "full", "slow")
    assert [n.domain for n in spec.nodes] == ["store.example", "library.example", "example.edu"]
    plan = Mix().plan(40, "t")
    assert len({m.message_id for m in plan}) == len({m.sender for m in plan}) == 40
    assert {r.expect for m in plan for r in m.recipients} == set(OUTCOMES)
    domains = set(spec.domains)
    assert all(a.rpartition("@")[2] in domains for m in plan for a in (m.sender, *(r.address for r in m.recipients)))
    per = Counter(r.scenario for m in plan for r in m.recipients)
    assert per == {"delivered at library": 16, "delivered at edu": 8, "unknown user, via store": 8,
                   "unknown user, via library": 8, "forward refused": 4, "mailbox full": 8, "tempfail, healed": 4,
                   "unknown user, via store, NOTIFY=NEVER": 4, "forward refused, NOTIFY=NEVER": 4}
    m7 = plan[7]
    assert m7.envelope().recipients[0].notify == ("NEVER",) and m7.via == "store"
    assert [(m.via, [r.expect for r in m.recipients]) for m in plan[:10]] == [
        (via, [Mix().expect(k, via, notify) for k in kinds]) for via, notify, kinds in TEMPLATES]
    data = render(plan[3])
    assert f"Message-ID: {plan[3].message_id}".encode() in data and data.endswith(b"\r\n")


def test_the_mix_for_your_configuration_uses_its_domain_and_recipient() -> None:
    mix = Mix(library_domain="corp.example", library_recipient="alice@corp.example")
    plan = mix.plan(10, "t")
    assert plan[0].recipients[0].address == "alice@corp.example"
    assert plan[2].recipients[0].address == "no-such-user-2@corp.example"
    assert [f.describe() for f in mix.standing_faults(100)] == [
        "MailboxFull(edu, user='full', limit=2100000)",
        "Forward(edu, user='fwd', to='fwd-refused@store.example', via='alias')",
        "Refuse(store, address='fwd-refused@store.example', reply='550 5.7.1 forward refused by the load run')"]
    assert mix.tempfail_fault().describe().startswith("Refuse(edu, address='slow@example.edu', reply='451 4.7.1")


# -- the report ----------------------------------------------------------------------------------------------------
def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 50) is None
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    values = [float(i) for i in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 99), percentile(values, 100)) == (50.0, 99.0, 100.0)


def test_the_table_shows_expected_and_seen_and_the_findings_name_each_problem() -> None:
    lines = without(story(), "B00000: to=<jill@library.example>")
    acct = account(submissions(), events(lines))
    text = "\n".join(table(acct))
    assert "  delivered           2        1" in text  # expected 2, seen 1
    assert "  unaccounted         0        1" in text
    assert "  total               6        6" in text
    assert "unknown, via library" in text
    found = "\n".join(findings(acct))
    assert "recipients with a problem (1):" in found and f"{mid(0)} <jill@library.example>" in found


def test_the_figures_and_the_verdict() -> None:
    from harness.loadgen.clients import ClientRun

    acct = account(submissions(), events(story()))
    result = LoadResult(LoadOptions(messages=5, clients=2), ClientRun(submissions()), acct, Drain(1.5, []))
    figures = result.figures()
    for name in ("messages", "clients", "accepted_per_s", "smtp_source_per_s", "ratio", "latency_p50_s",
                 "latency_p99_s", "unaccounted", "duplicates", "misdirected", "refused_after_heal",
                 "refused_after_heal_s"):
        assert name in figures
    assert (figures["accepted"], figures["unaccounted"], figures["ratio"]) == (5, 0, None)
    assert result.ok
    assert result.summary()[-1] == "verdict: every one of 6 recipients accounted for: no loss, no duplicate, " \
                                   "no backscatter"
    lost = LoadResult(LoadOptions(), ClientRun(submissions()), acct, Drain(1.5, []), log_gaps={"store": (10, 9)})
    assert not lost.ok and lost.log_lines_lost == 1
    assert "EVENT PIPELINE LOST LINES: store: Docker holds 10 lines, the harness followed 9" in lost.summary()
    stuck = LoadResult(LoadOptions(), ClientRun(submissions()), acct, Drain(1.5, []), cleanup_errors=["edu: no"])
    assert not stuck.ok and "THE RUN'S FAULTS COULD NOT ALL BE REMOVED (1): edu: no" in stuck.summary()



def test_reference_rounds_are_joined_into_totals_and_each_round_is_shown() -> None:
    from harness.loadgen.clients import ClientRun
    from harness.loadgen.reference import Reference

    subs = submissions()
    first, second = ClientRun(subs[:3], 0.03), ClientRun(subs[3:], 0.02)
    ours = ClientRun.joined([first, second])
    assert ours.seconds == first.seconds + second.seconds  # not the time between the runs
    assert ours.accepted == 5 and abs(ours.cpu_ms_per_message - 10.0) < 1e-9
    refs = [Reference(100, 100, 2.0, 0, "", "smtp-source ..."), Reference(100, 90, 1.0, 75, "oops", "smtp-source")]
    ref = Reference.joined(refs)
    assert (ref.messages, ref.accepted, ref.seconds, ref.exit_code, ref.output) == (200, 190, 3.0, 75, "oops")

    acct = account(subs, events(story()))
    result = LoadResult(LoadOptions(messages=5, clients=2, reference_rounds=2), ClientRun(subs), acct,
                        Drain(1.5, []), ref, same_workload=ours, rounds=[(50.0, 30.0), (90.0, 27.0)])
    figures = result.figures()
    assert figures["same_workload_ratio"] == round(ours.accepted_per_s / (190 / 3.0), 2)  # the totals
    assert (figures["reference_rounds"], figures["same_workload_ratio_min"]) == (2, 0.3)  # the worst round
    assert "  in 2 rounds (smtp-source, ours, ratio): 50.0, 30.0, 0.60; 90.0, 27.0, 0.30" in result.summary()

# -- the evidence the accounting reads --------------------------------------------------------------------------------
def test_the_evidence_functions_the_accounting_reads() -> None:
    evs = events(story())
    forwarded = next(d for d in evidence.deliveries(evs) if d.queue_id == "C0004F")
    assert (forwarded.recipient, evidence.original_recipient(forwarded)) == (GONE, FWD)
    assert evidence.is_final_failure(forwarded) and not evidence.is_mailbox_delivery(forwarded)
    kinds = {(d.queue_id, evidence.is_mailbox_delivery(d)) for d in evidence.deliveries(evs) if d.node == "edu"}
    assert ("C00004", False) in kinds  # forwarded on: no mailbox
    assert ("B00000", True) in {(d.queue_id, evidence.is_mailbox_delivery(d)) for d in evidence.deliveries(evs)}
    senders = evidence.senders(evs)
    assert senders[("store", "A00001")] == "jack+m1@store.example" and senders[("store", "A0000D")] == ""
    [(e, n)] = [x for x in evidence.notice_events(evs) if x[1].queue_id == "A00001"]
    assert (n.dsn_queue_id, e.seq) == ("A0000D", 12)
    skipped = parse_line("edu", 0, f"{TS} postfix/qmgr[20]: C0003F: skipped, still being delivered")
    assert evidence.is_still_being_delivered(skipped)
    assert not evidence.is_still_being_delivered(parse_line("edu", 0, removed("C0003F")))


def test_queue_listing_reads_postqueue_json_and_refuses_anything_else() -> None:
    out = ('{"queue_name": "deferred", "queue_id": "86358178014", "arrival_time": 1796180245, "message_size": 781, '
           '"forced_expire": false, "sender": "jack@store.example", "recipients": [{"address": "x@example.edu", '
           '"delay_reason": "host mx.example.edu[10.1.1.12] said: 451 4.7.1 later"}]}\n')
    [q] = postfix_evidence.queue_listing(out, "store")
    assert (q.node, q.queue_id, q.queue_name, q.sender, q.recipients) == (
        "store", "86358178014", "deferred", "jack@store.example", ("x@example.edu",))
    assert str(q).endswith("(host mx.example.edu[10.1.1.12] said: 451 4.7.1 later)")
    assert postfix_evidence.queue_listing("", "store") == []
    with pytest.raises(ValueError, match="store: not a queue listing: postqueue: fatal: Queue report unavailable"):
        postfix_evidence.queue_listing("postqueue: fatal: Queue report unavailable - mail system is down\n", "store")


def test_the_mailboxes_are_compared_with_the_logged_deliveries() -> None:
    logged = logged_mailboxes(events(story()), ["store", "library"])
    assert logged[("library", "jill", mid(0))] == 1
    assert logged[("store", "jack", dsn_mid("A0000D", "mx.store.example"))] == 1  # jack+m1: the mailbox is jack's
    held = Counter(logged)
    assert census_mismatches(held, logged) == []
    held[("library", "jill", mid(0))] += 1
    held[("library", "jill", "<unknown@store.example>")] = 1
    assert census_mismatches(held, logged) == [
        f"library jill: {mid(0)} is 2 time(s) in the mailbox, 1 time(s) delivered in the log",
        "library jill: <unknown@store.example> is 1 time(s) in the mailbox, 0 time(s) delivered in the log"]


# -- the clients --------------------------------------------------------------------------------------------------
def test_the_clients_submit_everything_and_report_progress() -> None:
    plan = Mix().plan(12, "t")
    script = Script(rules=(rule("rcpt", "550 5.1.1 no such user", match="no-such-user-*"),))
    ticks: list[Progress] = []
    with MockSMTP(script) as mock:
        hosts = {"store": "127.0.0.1", "library": "127.0.0.1"}
        run = run_clients(hosts, plan, [render(m) for m in plan], 4, on_tick=ticks.append, interval=0.05,
                          timeout=10, port=mock.port)
        assert len(mock.messages) == run.accepted
    assert [s.message.index for s in run.submissions] == list(range(12))
    # every recipient refused at RCPT: no DATA, nothing accepted (the unknown user alone, via store and via library)
    assert [s.message.index for s in run.submissions if not s.accepted] == [2, 9]
    assert all(s.accepted_at is not None and s.started <= s.accepted_at <= s.ended
               for s in run.submissions if s.accepted)
    assert ticks[-1].submitted == 12 and ticks[-1].accepted == run.accepted
    assert run.seconds > 0 and run.accepted_per_s > 0
    assert "submitted 12/12" in str(ticks[-1])


def test_the_command_refuses_nonsense_before_starting_anything(capsys: pytest.CaptureFixture[str]) -> None:
    p = argparse.ArgumentParser()
    add_arguments(p)
    assert command(p.parse_args(["-n", "0"])) == 2
    assert "--messages and --clients must be at least 1" in capsys.readouterr().err
    assert command(p.parse_args(["--mta-config", "/nonexistent/dir"])) == 4
    assert "no main.cf here" in capsys.readouterr().err
    args = p.parse_args([])
    assert (args.messages, args.clients, args.reference, args.mta_config) == (2000, 20, True, None)
