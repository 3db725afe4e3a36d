"""Names outside the topology (DNSBL sites, SPF and DMARC records of the world's domains) are NXDOMAIN at once:
a configuration's look-ups never wait for a time-out, and no client is ever listed."""

from __future__ import annotations

from harness import MailTopology

LOOKUP = """
import socket, sys
try:
    socket.getaddrinfo(sys.argv[1], None)
    print("found")
except socket.gaierror as exc:
    print(exc.errno == socket.EAI_NONAME and "nxdomain" or f"error {exc.errno}")
"""


def test_dnsbl_and_other_outside_names_are_nxdomain_at_once(mail_topology: MailTopology) -> None:
    node = mail_topology.node("library")
    for name in ("2.0.0.127.zen.spamhaus.org", "_dmarc.gmail.com", "example.com"):
        answer = node.exec(["python3", "-c", LOOKUP, name]).decode().strip()
        assert answer == "nxdomain", f"{name}: {answer} (REFUSED or SERVFAIL make resolvers retry or defer)"
    answer = node.exec(["python3", "-c", LOOKUP, "mx.store.example"]).decode().strip()
    assert answer == "found", "the topology's own names still resolve"
