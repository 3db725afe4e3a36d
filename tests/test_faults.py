"""Faults are data; their interpretation is tested end to end in suites/. Here: what needs no Docker."""

from __future__ import annotations

import dataclasses

import pytest

from harness import DiskFull, Dns, Forward, Refuse
from harness.faults.interpret import FaultError, changes_for
from harness.nodes.dns import zone_table

RECORDS = [("store.example", "mx.store.example", "10.9.9.10"), ("library.example", "mx.library.example", "10.9.9.11")]


def test_faults_are_frozen_values() -> None:
    f = DiskFull("library", retry_for="3s")
    assert f == DiskFull("library", retry_for="3s") and hash(f) == hash(DiskFull("library", retry_for="3s"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.retry_for = "1s"  # type: ignore[misc]
    assert f.describe() == "DiskFull(library, retry_for='3s')"
    assert Forward("library").describe() == "Forward(library, user='jill', to='jill@example.edu', via='alias')"


class _Node:
    name, kind = "edu", "mock"


class _World:
    def node(self, key: str) -> _Node:
        return _Node()


def test_a_postfix_fault_on_a_mock_node_says_what_to_do_instead() -> None:
    with pytest.raises(FaultError, match="edu is a mock node; this fault needs a real MTA"):
        changes_for(Refuse("edu"), _World())  # type: ignore[arg-type]


def test_normal_dns_records() -> None:
    t = zone_table(RECORDS)
    assert t["mx"]["library.example"] == [[10, "mx.library.example"]]
    assert t["a"]["mx.library.example"] == "10.9.9.11" and t["ptr"]["11.9.9.10.in-addr.arpa"] == "mx.library.example"
    assert t["servfail"] == [] and "library.example" not in t["a"], "a domain with an MX has no address of its own"


@pytest.mark.parametrize(("kind", "answers"), [
    ("nxdomain", {"mx": None, "a": None, "host": None}),
    ("servfail", {"servfail": ["library.example"], "mx": None}),
    ("no_mx", {"mx": None, "a": "10.9.9.11", "host": "10.9.9.11"}),
    ("null_mx", {"mx": [[0, "."]], "a": None}),
    ("dead_mx", {"mx": [[10, "dead.library.example"]], "dead": "10.9.9.254"}),
])
def test_dns_faults_change_only_their_domain(kind: str, answers: dict[str, object]) -> None:
    t = zone_table(RECORDS, {"library.example": kind}, dead_ip="10.9.9.254")
    seen = {"mx": t["mx"].get("library.example"), "a": t["a"].get("library.example"),
            "host": t["a"].get("mx.library.example"), "dead": t["a"].get("dead.library.example"),
            "servfail": t["servfail"]}
    for key, value in answers.items():
        assert seen[key] == value, (kind, key, seen)
    assert t["mx"]["store.example"] == [[10, "mx.store.example"]] and t["a"]["mx.store.example"] == "10.9.9.10"


def test_dns_fault_kinds_are_documented() -> None:
    doc = Dns.__doc__ or ""
    for kind in ("nxdomain", "servfail", "no_mx", "null_mx", "dead_mx"):
        assert kind in doc


def test_a_size_limit_keeps_bounces_possible() -> None:
    """SizeLimit never makes a server that cannot send its own DSNs: bounce_size_limit below message_size_limit
    (postconf(5)), and no limit under what a DSN needs."""
    from harness import SizeLimit
    from harness.faults.changes import Param
    from harness.mta.postfix.faults import changes_for as postfix_changes

    class _Library:
        name, domain = "library", "library.example"

    changes = postfix_changes(SizeLimit("library", 20_000), _Library())  # type: ignore[arg-type]
    params = {c.name: int(c.value) for c in changes if isinstance(c, Param)}
    assert params["message_size_limit"] == 20_000 and 0 < params["bounce_size_limit"] < 20_000
    with pytest.raises(FaultError, match="could not send its own DSNs"):
        postfix_changes(SizeLimit("library", 2000), _Library())  # type: ignore[arg-type]


def test_bare_newline_accepted_is_one_postfix_parameter_and_needs_a_real_mta() -> None:
    """Postfix's unfixed behaviour (smtpd_forbid_bare_newline = no, Postfix < 3.9's default); the ledger undoes the
    one Param exactly as for any other fault. A mock node cannot express it."""
    from harness import BareNewlineAccepted
    from harness.faults.changes import Param
    from harness.mta.postfix.faults import changes_for as postfix_changes

    class _Library:
        name, domain = "library", "library.example"

    assert postfix_changes(BareNewlineAccepted("library"), _Library()) == (  # type: ignore[arg-type]
        Param("library", "smtpd_forbid_bare_newline", "no"),)
    assert BareNewlineAccepted("library").describe() == "BareNewlineAccepted(library)"
    with pytest.raises(FaultError, match="edu is a mock node; this fault needs a real MTA"):
        changes_for(BareNewlineAccepted("edu"), _World())  # type: ignore[arg-type]
