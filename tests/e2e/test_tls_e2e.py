"""TLS inside a topology: every node offers STARTTLS with a certificate issued by the topology's own CA for its host
name (Postfix, Exim and the mock alike), the mock presents the kind its script chooses, and the TLS faults change
each kind of node's server and are undone exactly. Checked from the test process as a verifying client (Python's
ssl) does."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pytest

from harness import BadCertificate, FaultError, MailTopology, NodeSpec, NoStartTLS, StripStartTLS, TopologySpec
from harness.mock import Script

SPEC = TopologySpec(name="tls", nodes=(
    NodeSpec("store", "store.example", users=("jack",)),
    NodeSpec("library", "library.example", users=("jill",), kind="exim"),
    NodeSpec("edu", "example.edu", kind="mock"),
))


@pytest.fixture(scope="module")
def world() -> Iterator[MailTopology]:
    with MailTopology(SPEC) as w:
        yield w


@pytest.fixture(scope="module")
def ca(world: MailTopology, tmp_path_factory: pytest.TempPathFactory) -> Path:
    assert world.pki is not None
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    path.write_bytes(world.pki.ca)
    return path


def _reply(f: BinaryIO) -> bytes:
    """The last line of one (multi-line) reply."""
    while (line := f.readline())[3:4] == b"-":
        pass
    return line


def starttls(world: MailTopology, node: str, ca: Path) -> tuple[list[bytes], str]:
    """The EHLO reply's keywords, and what a client that verifies (the topology's CA, the node's host name) says
    of the certificate after STARTTLS: "" when it verified, else OpenSSL's reason."""
    n = world.node(node)
    with n.connect(25, timeout=10) as s, s.makefile("rb") as f:
        _reply(f)
        s.sendall(b"EHLO client.example\r\n")
        keywords = []
        while True:
            line = f.readline()
            keywords.append(line[4:].strip().split(b" ")[0].upper())
            if line[3:4] != b"-":
                break
        if b"STARTTLS" not in keywords:
            return keywords, "no STARTTLS"
        s.sendall(b"STARTTLS\r\n")
        assert _reply(f).startswith(b"220")
        try:
            ssl.create_default_context(cafile=str(ca)).wrap_socket(s, server_hostname=n.hostname).close()
        except ssl.SSLCertVerificationError as exc:
            return keywords, str(exc.verify_message)
        except (TimeoutError, ssl.SSLError) as exc:
            return keywords, f"handshake failed: {exc}"
    return keywords, ""


@pytest.mark.parametrize("node", ["store", "library", "edu"])
def test_every_node_offers_starttls_with_a_certificate_the_topology_trusts(world: MailTopology, ca: Path,
                                                                          node: str) -> None:
    world.reset()
    if node == "edu":
        world.mock("edu").script = Script().advertise("STARTTLS")
    keywords, said = starttls(world, node, ca)
    assert said == "", f"{node} ({world.node(node).kind}): {said}; EHLO: {keywords}"


@pytest.mark.parametrize("kind, reason", [("expired", "certificate has expired"),
                                          ("wrong_name", "Hostname mismatch"),
                                          ("self_signed", "self-signed certificate"),
                                          ("untrusted", "unable to get local issuer certificate")])
def test_the_mock_presents_the_kind_its_script_chooses(world: MailTopology, ca: Path, kind: str, reason: str) -> None:
    world.reset()
    world.mock("edu").script = Script().advertise("STARTTLS").present(kind)
    _, said = starttls(world, "edu", ca)
    assert reason in said, said


def test_each_node_has_its_own_key_and_the_same_ca(world: MailTopology) -> None:
    keys = {n: world.node(n).exec(["cat", "/etc/mailharness/tls/key.pem"]) for n in ("store", "library", "edu")}
    cas = {world.node(n).exec(["cat", "/etc/mailharness/tls/ca.pem"]) for n in ("store", "library", "edu")}
    assert len(set(keys.values())) == 3 and len(cas) == 1


@pytest.mark.parametrize("node", ["store", "library", "edu"])
def test_the_tls_faults_on_each_kind_of_node_and_their_undo(world: MailTopology, ca: Path, node: str) -> None:
    """NoStartTLS and BadCertificate on Postfix (store), Exim (library) and the mock (edu): STARTTLS gone, then the
    bad certificate presented; each undo brings back exactly what was there (the other fault still holds)."""
    world.reset()
    if node == "edu":
        world.mock("edu").script = Script().advertise("STARTTLS")
    bad = world.apply(BadCertificate(node, "untrusted"))
    assert "unable to get local issuer certificate" in starttls(world, node, ca)[1]
    off = world.apply(NoStartTLS(node))
    keywords, said = starttls(world, node, ca)
    assert said == "no STARTTLS" and b"STARTTLS" not in keywords, keywords
    off()
    assert "unable to get local issuer certificate" in starttls(world, node, ca)[1]  # BadCertificate still holds
    bad()
    assert starttls(world, node, ca)[1] == ""


# What a client inside the topology sees of a server it looks up by name: the address DNS gave, the EHLO reply's
# keywords, the reply to STARTTLS. Run with python3 in another node (every MTA image has it).
_LOOK = r"""
import json, socket, sys
host = sys.argv[1]
address = socket.gethostbyname(host)
with socket.create_connection((address, 25), timeout=10) as s, s.makefile("rb") as f:
    def reply():
        lines = [f.readline()]
        while lines[-1][3:4] == b"-":
            lines.append(f.readline())
        return [ln.decode().strip() for ln in lines]
    reply()
    s.sendall(b"EHLO client.example\r\n")
    keywords = [ln[4:].split(" ")[0].upper() for ln in reply()[1:]]
    s.sendall(b"STARTTLS\r\n")
    starttls = reply()[-1]
    if starttls.startswith("220"):
        s.close()
    else:
        s.sendall(b"QUIT\r\n")
print(json.dumps({"address": address, "keywords": keywords, "starttls": starttls}))
"""


def look(world: MailTopology, client: str, server: str) -> dict[str, object]:
    out = world.node(client).exec(["python3", "-c", _LOOK, world.node(server).hostname])
    return dict(json.loads(out.decode().strip().splitlines()[-1]))


@pytest.mark.parametrize("node, client", [("store", "library"), ("library", "store"), ("edu", "store")])
def test_strip_starttls_puts_a_man_in_the_middle_and_takes_it_away(world: MailTopology, ca: Path, node: str,
                                                                  client: str) -> None:
    """StripStartTLS on Postfix (store), Exim (library) and the mock (edu): a client of the topology that looks the
    server up reaches the man in the middle (DNS gives its address), sees no STARTTLS and has the command refused;
    the server itself still offers it (the test process, which connects straight to it, sees it). Undone, the
    server's own address and its STARTTLS are back."""
    world.reset()
    if node == "edu":
        world.mock("edu").script = Script().advertise("STARTTLS")
    server = world.node(node)
    undo = world.apply(StripStartTLS(node))
    seen = look(world, client, node)
    assert seen["address"] == world.dns.ip and "STARTTLS" not in seen["keywords"], seen  # type: ignore[operator]
    assert str(seen["starttls"]).startswith("502"), seen
    keywords, said = starttls(world, node, ca)  # straight to the server, past the man in the middle
    assert b"STARTTLS" in keywords and said == "", (keywords, said)
    undo()
    seen = look(world, client, node)
    assert seen["address"] == server.ip and "STARTTLS" in seen["keywords"], seen  # type: ignore[operator]
    assert str(seen["starttls"]).startswith("220"), seen
    said = " | ".join(world.dns.log_lines(world.mark))
    assert "STARTTLS removed from the EHLO reply" in said and "no longer in the middle" in said, said


def test_two_servers_cannot_be_stripped_on_one_port(world: MailTopology) -> None:
    """The man in the middle has one address: a second server on port 25 is refused, with the reason, and nothing of
    it stays applied."""
    world.reset()
    world.apply(StripStartTLS("library"))
    with pytest.raises(FaultError, match="both listen on port 25"):
        world.apply(StripStartTLS("store"))
    assert world.faults == (StripStartTLS("library"),)
    assert look(world, "library", "store")["address"] == world.node("store").ip
