"""StripStartTLS without Docker: the man in the middle (containers/dns/mitm.py, the file the dns image runs) between
a real SMTP client and the in-process mock, the DNS answer that points a host name at it, and the fault as data."""

from __future__ import annotations

import asyncio
import smtplib
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from harness import NoStartTLS, StripStartTLS
from harness.faults import FaultError
from harness.faults.changes import DnsAnswer, want
from harness.faults.interpret import changes_for
from harness.mock import MockSMTP, Script
from harness.nodes.base import Node
from harness.nodes.dns import MITM, MitmError, mitm_routes, zone_table
from harness.nodes.mock import MockNode
from harness.topology import NodeSpec

from .fakes import NodeTable, container_script

RECORDS = [("store.example", "mx.store.example", "10.9.9.10"), ("example.edu", "mx.example.edu", "10.9.9.12"),
           ("smtp.provider.test", "smtp.provider.test", "10.9.9.13")]


mitm = container_script("dns/mitm.py", "mailharness_mitm")


class _Running:
    """The man in the middle on a loop of its own (a thread), routing a free local port to `target`."""

    def __init__(self, target: int) -> None:
        self.lines: list[str] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.relay = mitm.Mitm(self.lines.append, host="127.0.0.1")
        self.call(self.relay.route({0: ("127.0.0.1", target)}))
        self.port = self.relay.port(0)

    def call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def close(self) -> None:
        self.call(self.relay.route({}))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture
def in_the_middle() -> Iterator[tuple[MockSMTP, _Running]]:
    mock = MockSMTP(Script().advertise("STARTTLS")).start()
    relay = _Running(mock.port)
    yield mock, relay
    relay.close()
    mock.stop()


def test_the_client_never_sees_starttls_and_the_server_never_hears_it(
        in_the_middle: tuple[MockSMTP, _Running]) -> None:
    mock, relay = in_the_middle
    with smtplib.SMTP("127.0.0.1", relay.port, timeout=10) as c:
        c.ehlo("client.example")
        assert not c.has_extn("starttls") and c.has_extn("size") and c.has_extn("dsn"), c.esmtp_features
        code, text = c.docmd("STARTTLS")
        assert (code, text) == (502, b"5.5.1 Error: command not recognized")
        assert c.sendmail("a@client.example", ["b@example.edu"], b"Subject: hi\r\n\r\nin clear\r\n") == {}
    [msg] = mock.wait_for_messages(1)
    assert msg.tls == "" and msg.recipients == ("b@example.edu",)
    [session] = mock.wait_for_sessions(1)
    # The server offered STARTTLS (its own reply says so), and heard a NOOP where the client said STARTTLS.
    assert any(t.who == "server" and t.text.endswith("STARTTLS") for t in session.transcript), session.transcript
    assert "STARTTLS" not in session.commands and "NOOP" in session.commands, session.commands
    assert any("STARTTLS removed from the EHLO reply" in line for line in relay.lines), relay.lines
    assert any("STARTTLS answered '502 5.5.1 Error: command not recognized'" in line for line in relay.lines)


def test_a_route_that_goes_cuts_its_sessions(in_the_middle: tuple[MockSMTP, _Running]) -> None:
    """Undone, nothing of the man in the middle stays: an open session through it (a client's cached connection)
    ends, and the port no longer answers."""
    mock, relay = in_the_middle
    c = smtplib.SMTP("127.0.0.1", relay.port, timeout=10)
    c.ehlo("client.example")
    relay.call(relay.relay.route({}))
    with pytest.raises((smtplib.SMTPServerDisconnected, OSError)):
        c.noop()
        c.noop()
    with pytest.raises(OSError):
        smtplib.SMTP("127.0.0.1", relay.port, timeout=2)
    assert any("cut (the route went)" in line for line in relay.lines), relay.lines


def test_the_ehlo_reply_loses_its_starttls_line_and_keeps_its_shape() -> None:
    reply = [b"250-mx.example.edu\r\n", b"250-PIPELINING\r\n", b"250-STARTTLS\r\n", b"250 DSN\r\n"]
    assert mitm.strip_starttls(reply) == [b"250-mx.example.edu\r\n", b"250-PIPELINING\r\n", b"250 DSN\r\n"]
    last = [b"250-mx.example.edu\r\n", b"250-SIZE 1000\r\n", b"250 starttls\r\n"]
    assert mitm.strip_starttls(last) == [b"250-mx.example.edu\r\n", b"250 SIZE 1000\r\n"]
    plain = [b"250-mx.example.edu\r\n", b"250 8BITMIME\r\n"]
    assert mitm.strip_starttls(plain) is plain


class _Sink:
    def __init__(self) -> None:
        self.data = b""

    def write(self, data: bytes) -> None:
        self.data += data

    async def drain(self) -> None:
        return None


def test_message_data_and_bdat_chunks_pass_untouched() -> None:
    """A line "STARTTLS" inside a message's data, or inside a BDAT chunk, is the message's: only a command is
    taken for one."""
    async def run() -> tuple[bytes, list[str]]:
        session = mitm.Session("test", lambda _: None)
        reader = asyncio.StreamReader()
        chunk = b"STARTTLS\r\nDATA\r\n"
        reader.feed_data(b"EHLO c\r\nMAIL FROM:<a@b>\r\nDATA\r\n")
        sink = _Sink()
        task = asyncio.ensure_future(session.client_to_server(reader, sink))
        await asyncio.sleep(0)
        session.data = True  # the server's 354 came back (server_to_client sets it)
        reader.feed_data(b"STARTTLS\r\n.\r\n" + f"BDAT {len(chunk)} LAST\r\n".encode() + chunk + b"STARTTLS\r\n")
        reader.feed_eof()
        await task
        return sink.data, list(session.waiting)

    data, waiting = asyncio.run(run())
    assert data == (b"EHLO c\r\nMAIL FROM:<a@b>\r\nDATA\r\nSTARTTLS\r\n.\r\nBDAT 16 LAST\r\nSTARTTLS\r\nDATA\r\n"
                    b"NOOP\r\n")
    assert waiting == ["banner", "ehlo", "command", "data", "end of data", "bdat", "starttls"]


# -- the DNS answer and the routes (harness.nodes.dns) -------------------------------------------------------------
def test_the_host_name_points_at_the_man_in_the_middle_and_nothing_else_moves() -> None:
    t = zone_table(RECORDS, {"mx.example.edu": MITM}, mitm_ip="10.9.9.2")
    assert t["a"]["mx.example.edu"] == "10.9.9.2" and t["a"]["mx.store.example"] == "10.9.9.10"
    assert t["mx"]["example.edu"] == [[10, "mx.example.edu"]]
    assert t["ptr"]["12.9.9.10.in-addr.arpa"] == "mx.example.edu"
    gone = zone_table(RECORDS, {"example.edu": "nxdomain", "mx.example.edu": MITM}, mitm_ip="10.9.9.2")
    assert "mx.example.edu" not in gone["a"]  # a name DNS took away stays away


def test_each_port_goes_to_its_server_and_two_servers_cannot_share_one() -> None:
    ports = {"smtp.provider.test": (25, 587)}
    assert mitm_routes(RECORDS, {"smtp.provider.test": MITM}, ports) == {25: "10.9.9.13:25", 587: "10.9.9.13:587"}
    assert mitm_routes(RECORDS, {"example.edu": "nxdomain"}, ports) == {}
    with pytest.raises(MitmError, match="both listen on port 25"):
        mitm_routes(RECORDS, {"mx.example.edu": MITM, "mx.store.example": MITM}, {})


def test_the_fault_is_one_dns_answer_for_the_node_s_host_name() -> None:
    edu = MockNode.__new__(MockNode)
    edu.name, edu.hostname, edu.spec = "edu", "mx.example.edu", NodeSpec("edu", "example.edu", kind="mock")
    world = NodeTable({"edu": edu})
    strip = changes_for(StripStartTLS("edu"), world)
    assert strip == (DnsAnswer("mx.example.edu", MITM),)
    assert want([*strip, *changes_for(NoStartTLS("edu"), world)])[1] == {"mx.example.edu": MITM}
    dns = Node.__new__(Node)
    dns.name, dns.kind = "dns", "dns"
    with pytest.raises(FaultError, match="dns is a dns node, which serves no SMTP"):
        changes_for(StripStartTLS("dns"), NodeTable({"dns": dns}))
