"""A DNS server that answers every query with SERVFAIL, at once (the DNS fault "servfail").

dnsmasq forwards a broken domain's queries here; without it, a fault would cost the resolver's time-outs.
"""

import socket

sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind(("127.0.0.1", 5353))
while True:
    query, peer = sock.recvfrom(4096)
    if len(query) < 12:
        continue
    # Same id and question; QR=1, opcode copied, RD copied, RA=1, RCODE=2 (SERVFAIL); no answers.
    flags = bytes([0x80 | (query[2] & 0x79), 0x80 | 0x02])
    sock.sendto(query[:2] + flags + query[4:6] + b"\0\0\0\0\0\0" + query[12:], peer)
