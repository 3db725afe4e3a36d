"""The topology's DNS server: answers for the topology's names only, from a table the harness writes.

    python3 zone.py --table /run/mailharness/zone.json [--host 0.0.0.0] [--port 53]

It answers on UDP (what the Postfix nodes' resolvers use) and on TCP (what the test process uses, directly or
through the topology's gateway, and what a resolver falls back to).

The table (JSON, computed by harness.nodes.dns.zone_table) has "a" (name -> IPv4), "mx" (name -> [[preference,
host], ...]; [[0, "."]] is a null MX), "ptr" (reverse name -> host) and "servfail" (domains whose names, and the
names under them, get SERVFAIL). A name in none of them is NXDOMAIN, at once: nothing is ever forwarded, so a
look-up of a name outside the topology (a DNSBL, SPF, an unknown MX) costs no time-out. A name that exists with no
record of the type asked gets an empty NOERROR answer.

The table is read again when its file changes (the harness replaces it whole with a rename): a DNS fault takes
effect with the next query, without restarting anything. Standard library only: the image has python3, not
dnspython. Each query is logged on stdout, one line each.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import struct
import sys
import threading
from typing import Any

TYPES = {1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX", 16: "TXT", 28: "AAAA", 33: "SRV", 255: "ANY"}
NOERROR, SERVFAIL, NXDOMAIN, FORMERR = 0, 2, 3, 1
TTL = 5


def _log(msg: str) -> None:
    sys.stdout.write(f"mailharness-dns[{os.getpid()}]: {msg}\n")
    sys.stdout.flush()


def encode_name(name: str) -> bytes:
    if name in ("", "."):
        return b"\0"
    return b"".join(bytes([len(p)]) + p.encode("ascii") for p in name.rstrip(".").split(".")) + b"\0"


def parse_question(query: bytes) -> tuple[str, int, int]:
    """(name, qtype, offset just after the question) of a query's first question; ValueError if malformed."""
    labels, i = [], 12
    while True:
        if i >= len(query):
            raise ValueError("truncated name")
        n = query[i]
        if n == 0:
            i += 1
            break
        if n & 0xC0:
            raise ValueError("compressed name in a question")
        labels.append(query[i + 1:i + 1 + n].decode("ascii", "replace"))
        i += 1 + n
    if i + 4 > len(query):
        raise ValueError("truncated question")
    qtype = struct.unpack("!H", query[i:i + 2])[0]
    return ".".join(labels).lower(), qtype, i + 4


class Table:
    """The answers, and the file they are read from (again whenever it changes)."""

    def __init__(self, path: str):
        self.path = path
        self.stamp: tuple[int, int, int] | None = None
        self.a: dict[str, str] = {}
        self.mx: dict[str, list[list[Any]]] = {}
        self.ptr: dict[str, str] = {}
        self.servfail: list[str] = []

    def refresh(self) -> None:
        st = os.stat(self.path)
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        if stamp == self.stamp:
            return
        with open(self.path, encoding="utf-8") as f:
            doc = json.load(f)
        self.a, self.mx, self.ptr = doc["a"], doc["mx"], doc["ptr"]
        self.servfail = doc["servfail"]
        self.stamp = stamp
        _log(f"table read: {len(self.a)} addresses, {len(self.mx)} MX, servfail for {self.servfail or 'none'}")

    def answer(self, name: str, qtype: int) -> tuple[int, list[tuple[int, bytes]]]:
        """(rcode, [(type, rdata)])."""
        if any(name == d or name.endswith("." + d) for d in self.servfail):
            return SERVFAIL, []
        exists = name in self.a or name in self.mx or name in self.ptr
        if not exists:
            return NXDOMAIN, []
        out: list[tuple[int, bytes]] = []
        if qtype in (1, 255) and name in self.a:
            out.append((1, socket.inet_aton(self.a[name])))
        if qtype in (15, 255) and name in self.mx:
            out += [(15, struct.pack("!H", int(pref)) + encode_name(host)) for pref, host in self.mx[name]]
        if qtype in (12, 255) and name in self.ptr:
            out.append((12, encode_name(self.ptr[name])))
        return NOERROR, out


def respond(table: Table, query: bytes) -> tuple[bytes, str]:
    """The response to one query, and the line that logs it."""
    if len(query) < 12:
        return b"", "ignored a datagram shorter than a DNS header"
    qid, flags = query[:2], query[2]
    try:
        name, qtype, end = parse_question(query)
    except ValueError as exc:
        head = qid + bytes([0x80 | (flags & 0x79), 0x80 | FORMERR]) + b"\0" * 8
        return head, f"malformed query: {exc}"
    rcode, records = table.answer(name, qtype)
    head = qid + bytes([0x84 | (flags & 0x79), 0x80 | rcode]) + struct.pack("!HHHH", 1, len(records), 0, 0)
    body = query[12:end]
    for rtype, rdata in records:  # 0xC00C: the name of the question
        body += struct.pack("!HHHIH", 0xC00C, rtype, 1, TTL, len(rdata)) + rdata
    kind = TYPES.get(qtype, str(qtype))
    said = {NOERROR: f"{len(records)} answer(s)", SERVFAIL: "SERVFAIL", NXDOMAIN: "NXDOMAIN"}[rcode]
    return head + body, f"query[{kind}] {name} -> {said}"


def _answer(table: Table, lock: threading.Lock, query: bytes, peer: str) -> bytes:
    with lock:  # the table and the log are shared by the UDP loop and the TCP connections
        try:
            table.refresh()
        except (OSError, ValueError, KeyError) as exc:  # keep the last good table, and say so
            _log(f"table {table.path} unreadable, answering from the previous one: {exc}")
        response, line = respond(table, query)
        _log(f"{line} from {peer}")
    return response


def _recv_exact(conn: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            return b""
        data += chunk
    return data


def _tcp_client(conn: socket.socket, peer: str, table: Table, lock: threading.Lock) -> None:
    """RFC 1035 s4.2.2: each message preceded by its length in two bytes; several questions per connection."""
    with conn:
        conn.settimeout(30)
        try:
            while True:
                head = _recv_exact(conn, 2)
                if not head:
                    return
                query = _recv_exact(conn, struct.unpack("!H", head)[0])
                if not query:
                    return
                response = _answer(table, lock, query, f"{peer}/tcp")
                if response:
                    conn.sendall(struct.pack("!H", len(response)) + response)
        except OSError as exc:
            _log(f"tcp connection from {peer} ended: {exc}")


def _tcp_server(sock: socket.socket, table: Table, lock: threading.Lock) -> None:
    while True:
        conn, peer = sock.accept()
        threading.Thread(target=_tcp_client, args=(conn, peer[0], table, lock), daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--table", required=True)
    ap.add_argument("--host", default="0.0.0.0")
    ap.add_argument("--port", type=int, default=53)
    a = ap.parse_args(argv)
    table = Table(a.table)
    table.refresh()
    lock = threading.Lock()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind((a.host, a.port))
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind((a.host, udp.getsockname()[1]))
    tcp.listen(16)
    threading.Thread(target=_tcp_server, args=(tcp, table, lock), daemon=True, name="tcp").start()
    _log(f"started, version 1, answering on {a.host}:{udp.getsockname()[1]} (udp and tcp)")
    while True:
        query, peer = udp.recvfrom(4096)
        response = _answer(table, lock, query, peer[0])
        if response:
            udp.sendto(response, peer)


if __name__ == "__main__":
    raise SystemExit(main())
