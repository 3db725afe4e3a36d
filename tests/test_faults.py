"""Faults are data; their interpretation is tested end to end in suites/. Here: what needs no Docker."""

from __future__ import annotations

import dataclasses

import pytest

from harness import DiskFull, Dns, Forward, Refuse
from harness.inject import FaultError, changes_for
from harness.nodes.dns import dnsmasq_options

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
    with pytest.raises(FaultError, match="edu is a mock node; this fault needs Postfix"):
        changes_for(Refuse("edu"), _World())  # type: ignore[arg-type]


def test_normal_dns_records() -> None:
    opts = dnsmasq_options(RECORDS)
    assert "--mx-host=library.example,mx.library.example,10" in opts
    assert "--host-record=mx.library.example,10.9.9.11" in opts and "--local=/library.example/" in opts
    assert "--no-resolv" in opts, "nothing is ever forwarded outside the topology"
    assert "--address=/#/" in opts, "every other name is NXDOMAIN at once (DNSBL, SPF, DMARC never wait)"


@pytest.mark.parametrize(("kind", "present", "absent"), [
    ("nxdomain", ["--local=/library.example/"], ["--host-record=mx.library.example,10.9.9.11",
                                                  "--mx-host=library.example,mx.library.example,10"]),
    ("servfail", ["--server=/library.example/127.0.0.1#5353"], ["--local=/library.example/"]),
    ("no_mx", ["--host-record=library.example,10.9.9.11"], ["--mx-host=library.example,mx.library.example,10"]),
    ("null_mx", ["--dns-rr=library.example,15,000000"], ["--mx-host=library.example,mx.library.example,10"]),
    ("dead_mx", ["--mx-host=library.example,dead.library.example,10", "--host-record=dead.library.example,10.9.9.254"],
     []),
])
def test_dns_faults_change_only_their_domain(kind: str, present: list[str], absent: list[str]) -> None:
    opts = dnsmasq_options(RECORDS, {"library.example": kind}, dead_ip="10.9.9.254")
    for o in present:
        assert o in opts
    for o in absent:
        assert o not in opts
    assert "--mx-host=store.example,mx.store.example,10" in opts


def test_dns_fault_kinds_are_documented() -> None:
    doc = Dns.__doc__ or ""
    for kind in ("nxdomain", "servfail", "no_mx", "null_mx", "dead_mx"):
        assert kind in doc
