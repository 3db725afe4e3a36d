"""The access path without Docker: the gateway's forwarder runs in-process here (it is standard-library Python),
the tunnel client talks to it, and a submission through the tunnel reads as one made directly."""

from __future__ import annotations

import asyncio
import errno
import socket
import threading
from collections.abc import Iterator

import pytest

from harness.access import MODES, Access, NoAccessPath, mode_from, probe_direct
from harness.access.forwarder import listen
from harness.access.gateway import Tunnel
from harness.access.where import _CONTAINER_ID
from harness.mock import MockSMTP
from harness.smtp import Envelope, submit


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def forwarder(mock_smtp: MockSMTP) -> Iterator[tuple[Tunnel, int]]:
    """A forwarder on 127.0.0.1 that may reach the mock's port and one closed port (returned)."""
    closed = _free_port()
    loop = asyncio.new_event_loop()
    allowed = frozenset({f"127.0.0.1:{mock_smtp.port}", f"127.0.0.1:{closed}"})
    server = loop.run_until_complete(listen("127.0.0.1", 0, allowed))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield Tunnel("127.0.0.1", int(server.sockets[0].getsockname()[1])), closed

    async def shutdown() -> None:  # the tunnels still open end with the server
        server.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run_coroutine_threadsafe(shutdown(), loop).result(5)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


def test_mode_comes_from_the_value_then_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAILHARNESS_ACCESS", raising=False)
    assert mode_from(None) == "auto" and mode_from("Gateway") == "gateway"
    monkeypatch.setenv("MAILHARNESS_ACCESS", "direct")
    assert mode_from(None) == "direct" and mode_from("auto") == "auto"
    with pytest.raises(ValueError, match="expected one of auto, direct, gateway"):
        mode_from("tunnel")
    assert MODES == ("auto", "direct", "gateway")


def test_a_submission_through_the_tunnel_reads_as_a_direct_one(mock_smtp: MockSMTP,
                                                               forwarder: tuple[Tunnel, int]) -> None:
    tunnel, _ = forwarder
    env = Envelope.of("jack@store.example", ["jill@library.example"])
    data = b"Subject: hi\r\n\r\nhello\r\n"
    direct = submit("127.0.0.1", env, data, port=mock_smtp.port, timeout=5)
    tunnelled = submit("127.0.0.1", env, data, port=mock_smtp.port, timeout=5, connect=tunnel.connect)
    assert tunnelled.accepted and direct.accepted
    assert tunnelled.server == direct.server == f"127.0.0.1:{mock_smtp.port}"
    assert [(e.stage, e.reply.code) for e in tunnelled.exchanges] == [(e.stage, e.reply.code) for e in direct.exchanges]
    assert len(mock_smtp.messages) == 2 and mock_smtp.messages[1].data == mock_smtp.messages[0].data


def test_a_refused_node_is_refused_through_the_tunnel_too(forwarder: tuple[Tunnel, int]) -> None:
    tunnel, closed = forwarder
    env = Envelope.of("jack@store.example", ["jill@library.example"])
    t = submit("127.0.0.1", env, b"x\r\n", port=closed, timeout=3, connect=tunnel.connect)
    [only] = t.exchanges
    assert (only.stage, only.reply.code) == ("CONNECT", 0)
    assert only.reply.text == f"connect to 127.0.0.1:{closed}: Connection refused"


def test_the_tunnel_reaches_only_the_addresses_it_was_given(forwarder: tuple[Tunnel, int]) -> None:
    tunnel, _ = forwarder
    with pytest.raises(OSError, match="not a node of this topology") as info:
        tunnel.connect("127.0.0.1", 22, 2)
    assert info.value.errno == errno.EACCES


def test_a_gateway_that_is_not_there_says_where_it_was_looked_for() -> None:
    tunnel = Tunnel("127.0.0.1", _free_port())
    with pytest.raises(OSError, match=rf"gateway 127.0.0.1:{tunnel.port} not reachable"):
        tunnel.connect("10.1.2.3", 25, 2)


def test_the_direct_probe_says_why_it_failed() -> None:
    port = _free_port()
    assert probe_direct("127.0.0.1", port).startswith(f"127.0.0.1:{port}: Connection refused after ")
    assert Access("direct", "probe answered").summary == "direct (probe answered)"
    assert issubclass(NoAccessPath, RuntimeError)


def test_the_own_container_is_found_in_mountinfo() -> None:
    ident = "ab" * 32
    line = f"612 590 0:45 /var/lib/docker/containers/{ident}/hostname /etc/hostname rw,relatime - ext4 /dev/sda1 rw"
    m = _CONTAINER_ID.search(line)
    assert m is not None and m.group(1) == ident
    assert _CONTAINER_ID.search("612 590 0:45 /etc/hostname /etc/hostname rw - ext4 /dev/sda1 rw") is None


def test_a_forced_direct_path_that_fails_says_what_was_tried_and_the_fix() -> None:
    from harness.access import Chooser

    port = _free_port()
    chooser = Chooser("direct", topology_id="t", network="n", gateway_ip="10.0.0.3", image="i")
    with pytest.raises(NoAccessPath) as info:
        chooser.choose(("127.0.0.1", port), [f"127.0.0.1:{port}"])
    text = str(info.value)
    assert f"- direct: no connection to 127.0.0.1:{port}: Connection refused after " in text
    assert "access=direct" in text and "fix: " in text and "--mailharness-access=auto|gateway" in text
    assert chooser.gateway is None  # forced direct never starts a gateway
