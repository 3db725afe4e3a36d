"""A man in the middle that strips STARTTLS (the fault StripStartTLS): it relays SMTP between a client and the real
server, removes STARTTLS from the server's EHLO reply, and answers a STARTTLS command itself with 502, so that the
client believes the server offers no TLS and the server sees a client that never asked for it.

    python3 mitm.py --routes /run/mailharness/mitm.json --ack /run/mailharness/mitm.ack

It runs beside the topology's DNS server (containers/dns/entrypoint.sh starts it), on the same address: the harness
points a server's host name at that address in DNS (harness.nodes.dns, the answer "mitm"), so the clients of the
topology reach the man in the middle when they look the server up, as after a forged DNS answer or on a path an
attacker controls. The routes file says which port goes where:

    {"serial": 3, "routes": {"25": "10.1.2.11:25", "587": "10.1.2.13:587"}}

It is read again at SIGHUP: ports no longer routed stop listening and their open sessions are cut (the attacker is
gone: nothing of it stays), new ports start listening; then "SERIAL ok" (or "SERIAL error: why") is written to the
ack file, which the harness waits for. One address means one server per port: the harness refuses two stripped
servers on one port.

What it changes, and nothing else: the EHLO reply's STARTTLS line (the reply's other lines, their continuation
marks mended); a STARTTLS command is sent on as NOOP, whose reply it replaces with "502 5.5.1 Error: command not
recognized" (the server's own replies keep their order). Message data (after a 354 reply to DATA, up to the line
"."; BDAT chunks by their size) passes untouched. Standard library only: the dns image has python3, no more.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import functools
import json
import os
import signal
import sys
from collections.abc import Callable

REFUSED = b"502 5.5.1 Error: command not recognized\r\n"
LINE_LIMIT = 1 << 20  # message data lines are long: 8BITMIME allows 998 octets, a careless client more

Log = Callable[[str], None]


def strip_starttls(reply: list[bytes]) -> list[bytes]:
    """A multi-line reply without its STARTTLS line (never the first: that is the server's name), the continuation
    marks mended ("250-" on every line but the last, "250 " on the last)."""
    kept = [ln for i, ln in enumerate(reply) if i == 0 or ln[4:].strip().upper() != b"STARTTLS"]
    if len(kept) == len(reply):
        return reply
    return [ln[:3] + (b" " if i == len(kept) - 1 else b"-") + ln[4:] for i, ln in enumerate(kept)]


class Session:
    """One client's connection, relayed to the server: the commands sent so far whose replies have not come back
    (to know which reply answers an EHLO, a STARTTLS or a DATA), and whether the client is sending message data."""

    def __init__(self, name: str, log: Log) -> None:
        self.name = name
        self.log = log
        self.waiting: collections.deque[str] = collections.deque(["banner"])
        self.data = False
        self.stripped = 0
        self.refused = 0

    async def client_to_server(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            line = await reader.readline()
            if not line:
                return
            if self.data:  # the data of a message, after the 354 this relay passed on
                writer.write(line)
                if line.rstrip(b"\r\n") == b".":
                    self.data = False
                    self.waiting.append("end of data")
                await writer.drain()
                continue
            words = line.split()
            verb = words[0].upper() if words else b""
            if verb == b"STARTTLS":
                self.waiting.append("starttls")
                writer.write(b"NOOP\r\n")  # its reply keeps the server's replies in order; this relay answers
            elif verb == b"BDAT" and len(words) > 1 and words[1].isdigit():
                self.waiting.append("bdat")
                writer.write(line)
                writer.write(await reader.readexactly(int(words[1])))
            else:
                self.waiting.append({b"EHLO": "ehlo", b"DATA": "data"}.get(verb, "command"))
                writer.write(line)
            await writer.drain()

    async def server_to_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            reply: list[bytes] = []
            while True:
                line = await reader.readline()
                if not line:
                    if reply:
                        writer.write(b"".join(reply))
                    return
                reply.append(line)
                if line[3:4] != b"-":
                    break
            about = self.waiting.popleft() if self.waiting else "unasked"
            if about == "ehlo":
                stripped = strip_starttls(reply)
                if stripped != reply:
                    self.stripped += 1
                    self.log(f"{self.name}: STARTTLS removed from the EHLO reply")
                reply = stripped
            elif about == "starttls":
                self.refused += 1
                self.log(f"{self.name}: STARTTLS answered {REFUSED.decode().strip()!r} (sent on as NOOP)")
                reply = [REFUSED]
            elif about == "data" and reply[-1].startswith(b"354"):
                self.data = True
            writer.write(b"".join(reply))
            await writer.drain()


class Mitm:
    """The listeners, one per routed port, and the open sessions of each (cut when its route goes)."""

    def __init__(self, log: Log, host: str = "0.0.0.0") -> None:
        self.log = log
        self.host = host
        self.routes: dict[int, tuple[str, int]] = {}
        self.servers: dict[int, asyncio.Server] = {}
        self.open: dict[int, set[asyncio.Task[None]]] = {}

    async def route(self, routes: dict[int, tuple[str, int]]) -> None:
        """Listen on the ports of `routes` (each to its server) and on no other: a port that goes is closed, and its
        sessions cut."""
        for port in [p for p in self.servers if p not in routes or routes[p] != self.routes.get(p)]:
            server = self.servers.pop(port)
            server.close()
            for task in self.open.pop(port, set()):
                task.cancel()
            await server.wait_closed()
            self.log(f"port {port}: no longer in the middle")
        for port, target in routes.items():
            if port not in self.servers:
                self.servers[port] = await asyncio.start_server(
                    functools.partial(self._session, port=port), self.host, port, limit=LINE_LIMIT,
                    reuse_address=True)
                self.open[port] = set()
                self.log(f"port {port}: in the middle of {target[0]}:{target[1]}")
        self.routes = dict(routes)

    def port(self, listening: int) -> int:
        """The port a listener really got (0 asks for any free one: the project's tests)."""
        socks = self.servers[listening].sockets
        return int(socks[0].getsockname()[1])

    async def _session(self, creader: asyncio.StreamReader, cwriter: asyncio.StreamWriter, *, port: int) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.open.setdefault(port, set()).add(task)
        peer = cwriter.get_extra_info("peername") or ("?", 0)
        host, target_port = self.routes[port]
        name = f"{peer[0]}:{peer[1]} -> {host}:{target_port}"
        writers = [cwriter]
        try:
            try:
                sreader, swriter = await asyncio.wait_for(
                    asyncio.open_connection(host, target_port, limit=LINE_LIMIT), 10)
            except (TimeoutError, OSError) as exc:
                self.log(f"{name}: the server cannot be reached ({exc or type(exc).__name__}): connection closed")
                return
            writers.append(swriter)
            session = Session(name, self.log)
            pumps = [asyncio.ensure_future(session.client_to_server(creader, swriter)),
                     asyncio.ensure_future(session.server_to_client(sreader, cwriter))]
            try:
                await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for p in pumps:
                    p.cancel()
                await asyncio.gather(*pumps, return_exceptions=True)
        except asyncio.CancelledError:
            self.log(f"{name}: cut (the route went)")
        finally:
            for w in writers:
                w.close()
            self.open.get(port, set()).discard(task)


def read_routes(path: str) -> tuple[str, dict[int, tuple[str, int]]]:
    """(serial, port -> (address, port)) from the routes file; no file: ("0", {})."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        return "0", {}
    routes = {}
    for port, target in data.get("routes", {}).items():
        host, _, tport = str(target).rpartition(":")
        routes[int(port)] = (host, int(tport))
    return str(data.get("serial", "0")), routes


def _write(path: str, text: str) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


async def main(args: argparse.Namespace) -> None:
    def log(msg: str) -> None:
        sys.stdout.write(f"mailharness-mitm[{os.getpid()}]: {msg}\n")
        sys.stdout.flush()

    mitm = Mitm(log)
    hup = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, hup.set)
    hup.set()  # the routes as the file has them now
    log("started")
    while True:
        await hup.wait()
        hup.clear()
        serial, routes = "?", dict[int, tuple[str, int]]()
        try:
            serial, routes = read_routes(args.routes)
            await mitm.route(routes)
            _write(args.ack, f"{serial} ok\n")
        except (OSError, ValueError) as exc:
            log(f"routes {serial}: {exc}")
            _write(args.ack, f"{serial} error: {exc}\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--routes", required=True)
    parser.add_argument("--ack", required=True)
    asyncio.run(main(parser.parse_args()))
