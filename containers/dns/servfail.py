"""A DNS server that answers every query with SERVFAIL, at once (the DNS fault "servfail"), over UDP and TCP.

dnsmasq forwards a broken domain's queries here; without it, a fault would cost the resolver's time-outs. dnsmasq
forwards a query that came over TCP (as the harness's own questions do: harness.nodes.dns) over TCP: without the
TCP side, it would close that connection instead of answering SERVFAIL.
"""

import socket
import struct
import threading


def servfail(query):
    # Same id and question; QR=1, opcode copied, RD copied, RA=1, RCODE=2 (SERVFAIL); no answers.
    flags = bytes([0x80 | (query[2] & 0x79), 0x80 | 0x02])
    return query[:2] + flags + query[4:6] + b"\0\0\0\0\0\0" + query[12:]


def read(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            return b""
        data += chunk
    return data


def tcp_client(conn):
    with conn:
        while True:
            size = read(conn, 2)
            query = read(conn, struct.unpack(">H", size)[0]) if size else b""
            if len(query) < 12:
                return
            answer = servfail(query)
            conn.sendall(struct.pack(">H", len(answer)) + answer)


def tcp(server):
    while True:
        conn, _ = server.accept()
        threading.Thread(target=tcp_client, args=(conn,), daemon=True).start()


# Both sockets bound before the entrypoint starts dnsmasq (it waits for READY): the first query may come at once.
listener = socket.create_server(("127.0.0.1", 5353))
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind(("127.0.0.1", 5353))
threading.Thread(target=tcp, args=(listener,), daemon=True).start()
open("/run/servfail.ready", "w").close()
while True:
    query, peer = sock.recvfrom(4096)
    if len(query) >= 12:
        sock.sendto(servfail(query), peer)
