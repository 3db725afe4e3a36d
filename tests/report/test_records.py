"""scenario_record: the JSON-ready record of a scenario, built from stories (real Postfix log lines, no Docker)."""

from __future__ import annotations

import json
from pathlib import Path

from harness.report import junit_properties, read_records_jsonl, scenario_record, write_records_jsonl
from harness.report.records import hop_record, hop_text
from harness.verdict import Story

from .samples import (
    FWD_DSN_MID,
    FWD_MID,
    FakeWorld,
    broken_dsn,
    forward_refused,
    mock_refusal,
    next_hop_down,
    queue_full,
    sample_records,
    unreachable_submission,
)

HOP_KEYS = {"seq", "node", "kind", "recipient", "peer", "stage", "reply", "code", "enhanced", "status", "detail",
            "queue_id", "dsn", "tls", "tls_verified", "tls_required"}
FORWARD_BROKEN = broken_dsn()


def record(*stories: Story, **kw: bool) -> dict:
    return scenario_record("suites/test_forwarding.py::test_forward_refused[alias]", "failed", 0.5, "doc",
                           list(stories), **kw)


def test_forward_refused_record() -> None:
    r = record(forward_refused())
    assert (r["nodeid"], r["name"], r["outcome"], r["duration"], r["doc"]) == (
        "suites/test_forwarding.py::test_forward_refused[alias]", "forward_refused[alias]", "failed", 0.5, "doc")
    assert r["nodes"] == [
        {"name": "store", "domain": "store.example", "hostname": "mx.store.example", "kind": "postfix"},
        {"name": "library", "domain": "library.example", "hostname": "mx.library.example", "kind": "postfix"},
        {"name": "edu", "domain": "example.edu", "hostname": "mx.example.edu", "kind": "postfix"}]
    [m] = r["messages"]
    assert (m["sender"], m["recipients"], m["message_id"], m["via"]) == (
        "jack@store.example", ["jill@library.example"], FWD_MID, "store")
    assert all(set(h) == HOP_KEYS for h in m["hops"])
    assert [(h["node"], h["kind"], h["dsn"]) for h in m["hops"]] == [
        ("store", "accepted", False), ("store", "relayed", False), ("library", "forwarded", False),
        ("edu", "rejected", False), ("library", "bounced", False), ("library", "relayed", True),
        ("store", "delivered", True)]
    rejected = m["hops"][3]
    assert rejected == {**rejected, "recipient": "jill@example.edu", "peer": "library", "stage": "RCPT", "code": 550,
                        "enhanced": "5.1.1", "reply": "550 5.1.1 <jill@example.edu>: Recipient address rejected: "
                                                      "No such user here"}
    assert m["hops"][0]["reply"] == "250 2.0.0 Ok: queued as 7E84518407E" and m["hops"][1]["reply"] is None
    [d] = m["dsns"]
    assert {k: d[k] for k in ("node", "kind", "to", "delivered_at", "message_id", "about")} == {
        "node": "library", "kind": "failed", "to": "jack@store.example", "delivered_at": "store",
        "message_id": FWD_DSN_MID, "about": ["jill@example.edu"]}
    assert d["summary"] == {"action": "failed", "status": "5.1.1", "reporting_mta": "mx.library.example",
                            "remote_mta": "mx.example.edu", "final_recipient": "jill@example.edu", "recipients": 1,
                            "diagnostic_code": "smtp; 550 5.1.1 <jill@example.edu>: Recipient address rejected: No "
                                               "such user here"}
    # Postfix's real DSN: its known departures are warnings under the postfix profile, never errors.
    assert {(f["rule"], f["level"]) for f in d["findings"]} == {("R-2", "warning"), ("R-10", "warning")}
    assert m["pending"] == [] and m["notes"] == []
    assert json.loads(json.dumps(r)) == r


def test_a_broken_dsn_gives_error_findings() -> None:
    [d] = record(forward_refused(FORWARD_BROKEN))["messages"][0]["dsns"]
    assert ("R-4", "error") in {(f["rule"], f["level"]) for f in d["findings"]}
    assert d["summary"]["status"] == "5.1"


def test_read_dsns_false_reads_no_mailbox() -> None:
    s = forward_refused()
    [d] = record(s, read_dsns=False)["messages"][0]["dsns"]
    assert (d["findings"], d["summary"], d["delivered_at"]) == ([], None, "store")
    assert s.mailboxes.mailbox_reads == 0  # type: ignore[attr-defined]


def test_what_cannot_be_read_becomes_a_note_never_an_exception() -> None:
    missing = record(forward_refused(None))["messages"][0]["dsns"][0]
    assert missing["summary"] is None
    assert [(f["rule"], f["level"]) for f in missing["findings"]] == [("report", "note")]
    assert "not found in jack@store.example's mailbox" in missing["findings"][0]["message"]

    gone = record(forward_refused(broken_mailboxes=True))["messages"][0]["dsns"][0]
    assert gone["findings"] == [{"rule": "report", "level": "note",
                                 "message": "could not read the DSN: RuntimeError: container gone"}]

    plain = f"From: someone@store.example\nMessage-ID: {FWD_DSN_MID}\nSubject: hello\n\nnot a report\n"
    notadsn = record(forward_refused(plain))["messages"][0]["dsns"][0]
    assert notadsn["summary"] is None and notadsn["findings"][0]["message"].startswith("the message is not a DSN")

    world = FakeWorld([])
    broken = Story(None, world, world)  # type: ignore[arg-type]
    [m] = record(broken)["messages"]
    assert m["hops"] == [] and m["notes"] and m["notes"][0].startswith("could not describe the message: ")


def test_mock_next_hop_and_refusal_at_mail() -> None:
    r = record(mock_refusal())
    assert [n["kind"] for n in r["nodes"]] == ["postfix", "postfix", "mock"]
    hops = r["messages"][0]["hops"]
    assert [(h["node"], h["kind"]) for h in hops] == [("store", "accepted"), ("store", "bounced"),
                                                      ("edu", "rejected"), ("store", "delivered")]
    assert hops[1]["seq"] == hops[2]["seq"]  # the mock's refusal is known from store's log line

    [m] = record(queue_full())["messages"]
    assert [(h["node"], h["kind"], h["peer"], h["stage"], h["code"], h["enhanced"]) for h in m["hops"]] == [
        ("store", "rejected", "harness", "MAIL", 452, "4.3.1")]
    assert m["dsns"] == []


def test_one_record_per_scenario_and_one_message_per_story() -> None:
    r = record(forward_refused(), queue_full())
    assert len(r["messages"]) == 2 and len(r["nodes"]) == 3
    empty = scenario_record("t.py::test_nothing", "passed", 0.0, "", [])
    assert (empty["name"], empty["nodes"], empty["messages"]) == ("nothing", [], [])


def test_jsonl_round_trip(tmp_path: Path) -> None:
    records = sample_records()
    path = write_records_jsonl(records, tmp_path / "sub" / "records.jsonl")
    assert len(path.read_text(encoding="utf-8").splitlines()) == len(records)
    assert read_records_jsonl(path) == json.loads(json.dumps(records))


def test_junit_properties() -> None:
    props = dict(junit_properties(record(forward_refused(FORWARD_BROKEN))))
    assert props["mailharness.messages"] == "1"
    assert props["mailharness.message.1.envelope"] == \
        f"<jack@store.example> -> jill@library.example (Message-ID {FWD_MID}), via store"
    path = props["mailharness.message.1.path"]
    assert path.startswith("1. store: accepted from harness: 250 2.0.0")
    assert "4. edu: rejected <jill@example.edu> from library at RCPT: 550 5.1.1" in path
    assert "7. store: DSN delivered <jack@store.example>" in path
    assert props["mailharness.message.1.dsn.1"].startswith(
        "failed from library to <jack@store.example>, delivered at store: action=failed, status=5.1")
    assert "R-4 error: Status '5.1'" in props["mailharness.message.1.dsn.1.findings"]
    assert all("\n" not in v for v in props.values())


def test_failed_sessions_are_hops_of_the_record() -> None:
    [m] = record(unreachable_submission())["messages"]
    assert [(h["node"], h["kind"], h["peer"], h["stage"], h["reply"], h["detail"]) for h in m["hops"]] == [
        ("library", "unreachable", "harness", "CONNECT", None, "connect to 10.1.1.11:25: Connection refused")]
    [m] = record(next_hop_down())["messages"]
    assert [(h["node"], h["kind"], h["peer"], h["stage"], h["status"]) for h in m["hops"]] == [
        ("store", "accepted", "harness", "END-OF-MESSAGE", ""), ("store", "deferred", "library", "CONNECT", "4.4.1"),
        ("store", "expired", "", "", "")]


def test_hop_text_words_each_hop_as_the_story_does() -> None:
    stories = [forward_refused(), mock_refusal(), queue_full(), unreachable_submission(), next_hop_down()]
    hops = [h for s in stories for h in s.hops]
    assert {h.kind for h in hops} >= {"accepted", "rejected", "relayed", "forwarded", "bounced", "delivered",
                                      "deferred", "expired", "unreachable"}
    for h in hops:
        assert hop_text(hop_record(h)) == h.render()
