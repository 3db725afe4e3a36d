"""The topology's DNS server (containers/dns/zone.py) answers what the table says, in well-formed DNS; read back
with dnspython. No Docker: the module's packet building is plain Python (the image runs the same file)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import pytest

from harness.nodes.dns import zone_table

from .fakes import CONTAINERS, container_script

RECORDS = [("store.example", "mx.store.example", "10.9.9.10"), ("library.example", "mx.library.example", "10.9.9.11")]

zone = container_script("dns/zone.py", "mailharness_zone")


def _ask(tmp_path: Path, name: str, rdtype: str, faults: dict[str, str] | None = None) -> dns.message.Message:
    path = tmp_path / "zone.json"
    path.write_text(json.dumps(zone_table(RECORDS, faults, dead_ip="10.9.9.254")))
    table = zone.Table(str(path))
    table.refresh()
    q = dns.message.make_query(name, rdtype)
    wire, line = zone.respond(table, q.to_wire())
    r = dns.message.from_wire(wire)
    assert r.id == q.id and r.flags & dns.flags.QR and r.flags & dns.flags.AA, line
    assert r.question == q.question
    return r


def test_mx_a_and_ptr_answers(tmp_path: Path) -> None:
    mx = _ask(tmp_path, "library.example", "MX")
    assert [(r.preference, r.exchange.to_text()) for r in mx.answer[0]] == [(10, "mx.library.example.")]
    a = _ask(tmp_path, "MX.Library.Example", "A")  # names are case-insensitive
    assert [r.address for r in a.answer[0]] == ["10.9.9.11"]
    ptr = _ask(tmp_path, "11.9.9.10.in-addr.arpa", "PTR")
    assert [r.target.to_text() for r in ptr.answer[0]] == ["mx.library.example."]


def test_a_name_outside_the_topology_is_nxdomain_at_once(tmp_path: Path) -> None:
    for name in ("zen.spamhaus.org", "2.0.0.127.zen.spamhaus.org", "_dmarc.store.example", "example.com"):
        assert _ask(tmp_path, name, "A").rcode() == dns.rcode.NXDOMAIN, name


def test_a_name_without_the_type_asked_is_an_empty_noerror(tmp_path: Path) -> None:
    r = _ask(tmp_path, "mx.library.example", "AAAA")
    assert r.rcode() == dns.rcode.NOERROR and r.answer == []


@pytest.mark.parametrize(("kind", "name", "rdtype", "rcode", "answer"), [
    ("servfail", "library.example", "MX", dns.rcode.SERVFAIL, []),
    ("servfail", "mx.library.example", "A", dns.rcode.SERVFAIL, []),
    ("nxdomain", "library.example", "MX", dns.rcode.NXDOMAIN, []),
    ("nxdomain", "mx.library.example", "A", dns.rcode.NXDOMAIN, []),
    ("null_mx", "library.example", "MX", dns.rcode.NOERROR, ["0 ."]),
    ("no_mx", "library.example", "A", dns.rcode.NOERROR, ["10.9.9.11"]),
    ("dead_mx", "dead.library.example", "A", dns.rcode.NOERROR, ["10.9.9.254"]),
])
def test_faults(tmp_path: Path, kind: str, name: str, rdtype: str, rcode: int, answer: list[str]) -> None:
    r = _ask(tmp_path, name, rdtype, {"library.example": kind})
    assert r.rcode() == rcode
    assert [rd.to_text() for rrset in r.answer for rd in rrset] == answer
    other = _ask(tmp_path, "store.example", "MX", {"library.example": kind})
    assert other.rcode() == dns.rcode.NOERROR and other.answer, "a fault changes only its own domain"


def test_the_table_is_read_again_when_its_file_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "zone.json"
    path.write_text(json.dumps(zone_table(RECORDS)))
    table = zone.Table(str(path))
    table.refresh()
    assert table.answer("library.example", 15)[0] == zone.NOERROR
    new = tmp_path / "zone.json.tmp"
    new.write_text(json.dumps(zone_table(RECORDS, {"library.example": "servfail"})))
    new.rename(path)
    table.refresh()
    assert table.answer("library.example", 15)[0] == zone.SERVFAIL


def test_a_malformed_query_gets_formerr() -> None:
    wire, line = zone.respond(zone.Table("/nonexistent"), b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x05ab")
    assert wire[:2] == b"\x12\x34" and wire[3] & 0x0F == zone.FORMERR and "malformed" in line


def test_the_server_answers_on_udp_and_tcp(tmp_path: Path) -> None:
    """The same file the image runs, as a process on a free loopback port: UDP for resolvers, TCP for the test
    process (directly or through the gateway)."""
    import socket
    import subprocess

    import dns.query

    path = tmp_path / "zone.json"
    path.write_text(json.dumps(zone_table(RECORDS)))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-u", str(CONTAINERS / "dns" / "zone.py"), "--table",
                             str(path), "--host", "127.0.0.1", "--port", str(port)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        said = [proc.stdout.readline() for _ in range(2)]  # the table read, then "started" once both are bound
        assert "started, version" in said[-1], said
        q = dns.message.make_query("library.example", "MX")
        for answer in (dns.query.udp(q, "127.0.0.1", port=port, timeout=5),
                       dns.query.tcp(q, "127.0.0.1", port=port, timeout=5)):
            assert [r.exchange.to_text() for r in answer.answer[0]] == ["mx.library.example."]
    finally:
        proc.kill()
        proc.wait()
