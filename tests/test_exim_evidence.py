"""Exim's log read into the verdict's records (harness.mta.exim.evidence through harness.evidence), on real lines:
tests/mta/exim_samples.log holds what Exim 4.96 and 4.98 nodes logged in a topology with Postfix nodes."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import evidence
from harness.evidence.events import LogEvent
from harness.mta.exim.evidence.grammar import parse_line
from harness.mta.postfix.evidence.grammar import parse_line as postfix_line

SAMPLES = Path(__file__).parent / "mta" / "exim_samples.log"


def _cases() -> dict[str, list[str]]:
    """The samples by case ("# case: ..." above each block), each case once per release (4.96, 4.98)."""
    out: dict[str, list[str]] = {}
    case = ""
    for line in SAMPLES.read_text(encoding="utf-8").splitlines():
        if line.startswith("# case: "):
            case = line[len("# case: "):]
            out[case] = []
        elif line.strip() and not line.startswith("#") and case:
            out[case].append(line)
    return out


CASES = _cases()


def events(*words: str, release: str = "4.98") -> list[LogEvent]:
    """The lines of the case whose title holds every word, for one release."""
    found = [c for c in CASES if all(w in c for w in words) and c.endswith(f"(Exim {release})")]
    assert len(found) == 1, (words, found)
    return [parse_line("library", i, line) for i, line in enumerate(CASES[found[0]])]


@pytest.mark.parametrize("release", ["4.96", "4.98"])
def test_refusals_at_rcpt_with_the_reply_exim_gave(release: str) -> None:
    evs = events("refusals at RCPT", release=release)
    got = [(r.stage, r.reply.code, r.reply.enhanced, r.recipient, r.sender) for r in evidence.rejections(evs)]
    assert got == [("RCPT", 550, None, "nobody@library.example", "jack@store.example"),
                   ("RCPT", 550, "5.7.1", "bob@outside.test", "jack@store.example")]
    r = evidence.rejections(evs)[0]
    assert r.reply.text == "Unrouteable address" and r.client_address.startswith("10.") and r.client_host == ""
    assert r.line.startswith("exim-main: "), "the reject log's copy of the line is not counted twice"


@pytest.mark.parametrize("release", ["4.96", "4.98"])
def test_refusals_after_the_data(release: str) -> None:
    refused = evidence.rejections(events("Refuse: 4xx and 5xx", release=release))
    assert [(r.stage, r.reply.code) for r in refused] == [("RCPT", 450), ("RCPT", 550), ("END-OF-MESSAGE", 554)]
    big = evidence.rejections(events("size limit", release=release))
    assert [(r.stage, r.reply.code, r.sender) for r in big] == [("END-OF-MESSAGE", 552, "jack@store.example")]


def test_an_arrival_and_its_local_delivery() -> None:
    evs = events("local delivery into a Maildir")
    [qid] = evidence.queued(evs)
    [d] = evidence.deliveries(evs)
    assert (d.queue_id, d.status, d.recipient, d.host, d.original) == (qid, "sent", "jill@library.example", "", "")
    assert evidence.is_mailbox_delivery(d) and evidence.removed(evs) == {("library", qid)}
    assert evidence.senders(evs) == {("library", qid): "jack@store.example"}
    assert evidence.message_ids(evs)[("library", qid)].startswith("<") and any(
        evidence.is_local_delivery(e, "library", "jill@library.example") for e in evs)


def test_a_remote_delivery_names_the_next_hop_and_its_queue_id() -> None:
    [d] = evidence.deliveries(events("remote delivery to a Postfix node"))
    assert (d.status, d.host, d.relay.split("[")[0]) == ("sent", "mx.example.edu", "mx.example.edu")
    assert d.queued_as and d.queued_as in d.detail and not evidence.is_mailbox_delivery(d)


@pytest.mark.parametrize(("words", "stage", "code"), [
    (("refuses RCPT with 550 5.1.1",), "RCPT", 550),
    (("refuses after the end of data",), "END-OF-MESSAGE", 554),
])
def test_a_failure_carries_the_next_hops_reply_and_stage(words: tuple[str, ...], stage: str, code: int) -> None:
    evs = events(*words)
    failed = [d for d in evidence.deliveries(evs) if d.host]
    assert [(d.status, d.stage, d.reply and d.reply.code) for d in failed] == [("bounced", stage, code)]
    assert "DT=" not in failed[0].detail and "DT=" not in str(failed[0].reply), "Exim's timings are not words"
    assert evidence.is_final_failure(failed[0])
    [n] = evidence.notices(evs)
    assert (n.queue_id, n.kind) == (failed[0].queue_id, "non-delivery") and n.dsn_queue_id in evidence.queued(evs)
    assert evidence.senders(evs)[("library", n.dsn_queue_id)] == "", "a bounce comes from the null sender"


def test_a_deferral_takes_the_host_from_the_transports_own_line() -> None:
    evs = events("deferral (==)")
    refused = [d for d in evidence.deliveries(evs) if d.failure is not None]
    assert refused and all((d.status, d.host, d.failure.outcome, d.failure.stage) ==  # type: ignore[union-attr]
                           ("deferred", "mx.example.edu", "refused", "CONNECT") for d in refused)
    fails = evidence.session_failures(evs)
    assert fails and {(f.host, f.outcome, f.queue_id) for f in fails} == {
        ("mx.example.edu", "refused", refused[0].queue_id)}
    assert evidence.deliveries(evs)[-1].status == "sent"


def test_a_retry_time_out_is_an_expiry_and_a_failure() -> None:
    evs = events("retry time-out")
    [x] = evidence.expirations(evs)
    final = [d for d in evidence.deliveries(evs) if d.status == "bounced"]
    assert [(d.queue_id, d.recipient) for d in final] == [(x.queue_id, "jill@example.edu")]
    assert [n.queue_id for n in evidence.notices(evs)] == [x.queue_id]


def test_an_alias_keeps_the_address_the_message_came_for() -> None:
    evs = events("aliases:")
    by = {d.recipient: d for d in evidence.deliveries(evs) if d.node == "library" and d.queue_id in
          evidence.queued(evs)[:1]}
    assert by["jill@example.edu"].original == "jill@library.example"
    assert evidence.original_recipient(by["nobody@library.example"]) == "bob@library.example"


def test_a_success_report_is_told_from_a_failure_report() -> None:
    kinds = [n.kind for n in evidence.notices(events("NOTIFY=SUCCESS"))]
    assert kinds == ["delivery"]


def test_a_world_of_postfix_and_exim_reads_as_one_log_in_order() -> None:
    exim = events("remote delivery to a Postfix node")
    [sent] = evidence.deliveries(exim)
    store = postfix_line("store", 100, f"postfix/smtp[7]: ABC123: to=<jill@library.example>, relay=mx.library.example"
                         f"[10.1.2.11]:25, delay=0.1, dsn=2.0.0, status=sent (250 OK id={sent.queue_id})")
    mixed = [*exim[:2], store, *exim[2:]]
    mixed = [e.__class__(**{**e.__dict__, "seq": i}) for i, e in enumerate(mixed)]
    got = evidence.deliveries(mixed)
    assert [(d.node, d.status) for d in got] == [("store", "sent"), ("library", "sent")]
    assert got[0].queued_as == sent.queue_id, "Exim's 250 names its message id: the next hop's copy is found"
    assert evidence.logged_at(exim[0]) is not None and evidence.problems(mixed) == []


@pytest.mark.parametrize("release", ["4.96", "4.98"])
def test_a_queue_run_before_the_retry_time_is_no_attempt(release: str) -> None:
    """"routing defer (-52): retry time not reached": the queue runner left the address alone, so the story shows
    the two refusals it got and the delivery, not a third deferral."""
    evs = events("retry time not reached", release=release)
    assert any("retry time not reached" in e.line for e in evs), "the sample holds the line the reader skips"
    got = [(d.status, d.reply.code if d.reply else None) for d in evidence.deliveries(evs)]
    assert got == [("deferred", 451), ("deferred", 451), ("sent", None)]


@pytest.mark.parametrize("release", ["4.96", "4.98"])
def test_a_delay_warning_is_told_from_the_bounce_that_follows(release: str) -> None:
    """Exim logs its "delayed" DSN as it logs a bounce (<= <> R=<id>): the outcome of the address before each
    (deferred, then failed for good) says which it is."""
    evs = events("a delay warning", release=release)
    [parent] = {n.queue_id for n in evidence.notices(evs)}
    assert [n.kind for n in evidence.notices(evs)] == ["delay", "non-delivery"]
    assert [x.queue_id for x in evidence.expirations(evs)] == [parent]


@pytest.mark.parametrize("release", ["4.96", "4.98"])
def test_mail_refused_for_the_size_the_client_declared(release: str) -> None:
    """An Exim client declares the size at MAIL (RFC 1870); a server over its message_size_limit refuses MAIL with
    552 (Exim logs the reason, not the reply)."""
    [r] = evidence.rejections(events("MAIL refused for the size", release=release))
    assert (r.stage, r.reply.code, r.sender, r.recipient) == ("MAIL", 552, "jack@store.example", "")
    assert "message too big" in r.reply.text and r.client_address.startswith("10.")


@pytest.mark.parametrize("release", ["4.96", "4.98"])
def test_a_frozen_bounce_is_held_until_it_is_thawed_or_removed(release: str) -> None:
    """A bounce Exim could not deliver is frozen: held (no queue runner tries it), so a story is settled with it;
    `Unfrozen by forced delivery` releases it and the next `Frozen` holds it again; a removal ends the hold."""
    frozen = events("is frozen", release=release)
    [held] = evidence.holds(frozen)
    assert (held.node, held.why) == ("library", "Frozen (delivery error message)")
    assert held.queue_id == frozen[-1].queue_id and evidence.is_hold(frozen[-1])
    removed = frozen + [e.__class__(**{**e.__dict__, "seq": len(frozen) + i})
                        for i, e in enumerate(events("a frozen message removed", release=release))]
    assert evidence.holds(removed) == [], "removed (exim -Mrm, Completed): no longer held"
    thawed = events("deferral (==)", release=release)
    unfrozen = [e for e in thawed if e.text.startswith("Unfrozen")]
    assert unfrozen and [h.queue_id for h in evidence.holds(thawed)] == [unfrozen[0].queue_id], \
        "thawed by the forced delivery, then frozen again"
    assert evidence.holds(thawed[:thawed.index(unfrozen[0]) + 1]) == [], "held no more once thawed"


def test_a_message_postfix_put_on_hold_is_held_until_it_is_released() -> None:
    lines = ["postfix/cleanup[41]: 4F9D91C2A7: hold: header Subject: hold me from client.mailharness.test"
             "[10.1.2.1]; from=<jack@store.example> to=<jill@library.example> proto=ESMTP "
             "helo=<client.mailharness.test>",
             "postfix/postsuper[52]: 4F9D91C2A7: released from hold",
             "postfix/postsuper[53]: 4F9D91C2A7: placed on hold"]
    log = [postfix_line("library", i, line) for i, line in enumerate(lines)]
    [held] = evidence.holds(log[:1])
    assert (held.queue_id, held.why) == ("4F9D91C2A7", "hold: header Subject: hold me from client.mailharness.test"
                                         "[10.1.2.1]")
    assert evidence.holds(log[:2]) == [] and [h.why for h in evidence.holds(log)] == ["placed on hold"]
