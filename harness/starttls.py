"""What a client sees of a server's STARTTLS (RFC 3207): the EHLO keywords in clear, whether the TLS handshake
completes, the certificate it presents (its names, issuer and end of validity, whether it has expired and whether
it names the server's host name), and the EHLO keywords once TLS is on (AUTH there and not before it, RFC 4954 s4).

The client is another node of the topology (an MTA node: python3 and openssl are in every image), as a mail
server next door connects; the certificate is read, not verified against any CA (the topology knows none of the
Internet's): the harness's own nodes' certificates verify against the topology's CA (harness.pki) anyway.

    seen = probe_starttls(world, "library", client="store")
    seen.offered, seen.protocol, seen.expired, seen.names_host, seen.before, seen.after
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Protocol

from .nodes.base import Node

# Run in the client node: python3 SCRIPT IP HOST; prints one JSON object.
_SCRIPT = r"""
import json, socket, ssl, subprocess, sys
ip, host = sys.argv[1], sys.argv[2]
out = {"before": [], "after": [], "protocol": "", "cipher": "", "cert": "", "x509": "", "error": "", "starttls": ""}

def reply(f):
    lines = []
    while True:
        line = f.readline().decode("utf-8", "replace").rstrip("\r\n")
        lines.append(line)
        if line[3:4] != "-":
            return lines

def ehlo(s, f):
    s.sendall(b"EHLO client.mailharness.test\r\n")
    r = reply(f)
    return [l[4:].split(" ")[0].upper() for l in r[1:]] if r[0].startswith("250") else []

try:
    s = socket.create_connection((ip, 25), 10)
    f = s.makefile("rb")
    reply(f)
    out["before"] = ehlo(s, f)
    if "STARTTLS" in out["before"]:
        s.sendall(b"STARTTLS\r\n")
        r = reply(f)
        out["starttls"] = " | ".join(r)
        if r[-1].startswith("220"):
            c = ssl.create_default_context()
            c.check_hostname = False
            c.verify_mode = ssl.CERT_NONE
            t = c.wrap_socket(s, server_hostname=host)
            out["protocol"], out["cipher"] = t.version() or "", (t.cipher() or ("",))[0]
            der = t.getpeercert(binary_form=True)
            out["cert"] = ssl.DER_cert_to_PEM_cert(der) if der else ""
            out["after"] = ehlo(t, t.makefile("rb"))
except (OSError, ssl.SSLError) as e:
    out["error"] = f"{type(e).__name__}: {e}"
if out["cert"]:  # (openssl x509 stops after -checkend: the host name is checked on its own)
    for args in (["-subject", "-issuer", "-enddate", "-ext", "subjectAltName", "-checkend", "0"],
                 ["-checkhost", host]):
        p = subprocess.run(["openssl", "x509", "-noout", *args], input=out["cert"], capture_output=True, text=True)
        out["x509"] += p.stdout + p.stderr
print(json.dumps(out))
"""


class NodeLookup(Protocol):
    """What the probe reads of the topology: its nodes by name."""

    def node(self, key: str) -> Node: ...


@dataclass(frozen=True)
class StartTls:
    """What a client saw of one server's STARTTLS."""

    server: str  # the node probed
    host: str  # the host name the certificate should name (the server's)
    client: str  # the node the probe connected from
    before: tuple[str, ...]  # EHLO keywords in clear
    after: tuple[str, ...]  # EHLO keywords once TLS is on (() when TLS never came on)
    protocol: str  # "TLSv1.3"; "" when the handshake did not complete
    cipher: str
    certificate: str  # the server's certificate (PEM), "" when none was seen
    x509: str  # openssl's words on it: subject, issuer, end date, expiry and host name checks, names
    error: str  # why the session or the handshake failed ("" when it did not)
    reply: str  # the server's reply to STARTTLS

    @property
    def offered(self) -> bool:
        """STARTTLS is in the EHLO reply before TLS."""
        return "STARTTLS" in self.before

    @property
    def expired(self) -> bool:
        """The certificate's validity has ended (or not begun: openssl's -checkend 0 fails)."""
        return "Certificate will expire" in self.x509

    @property
    def names_host(self) -> bool:
        """The certificate names the server's host name (in its subject alternative names, or its CN)."""
        return f"Hostname {self.host} does match certificate" in self.x509

    def render(self) -> str:
        """What was seen, for a failure message."""
        lines = [f"{self.client} -> {self.server} ({self.host}):",
                 f"  EHLO in clear: {' '.join(self.before) or '(none)'}"]
        if self.reply:
            lines.append(f"  STARTTLS: {self.reply}")
        if self.protocol:
            lines.append(f"  TLS: {self.protocol} {self.cipher}; EHLO then: {' '.join(self.after) or '(none)'}")
        if self.x509:
            lines += [f"  certificate: {ln}" for ln in self.x509.strip().splitlines()]
        if self.error:
            lines.append(f"  error: {self.error}")
        return "\n".join(lines)


def probe_starttls(world: NodeLookup, server: str, *, client: str) -> StartTls:
    """Connect from node `client` to `server`'s port 25: EHLO, STARTTLS, the handshake (no CA checked), EHLO again;
    then openssl's reading of the certificate against the server's host name."""
    target, source = world.node(server), world.node(client)
    raw = source.exec(["python3", "-c", _SCRIPT, target.ip, target.hostname], check=False).decode("utf-8", "replace")
    try:
        seen = json.loads(raw.strip().splitlines()[-1])
    except (ValueError, IndexError):
        seen = {"error": f"the probe in {source.name} said: {raw.strip()[-500:] or '(nothing)'}"}
    return StartTls(server=target.name, host=target.hostname, client=source.name,
                    before=tuple(seen.get("before", ())), after=tuple(seen.get("after", ())),
                    protocol=str(seen.get("protocol", "")), cipher=str(seen.get("cipher", "")),
                    certificate=str(seen.get("cert", "")), x509=str(seen.get("x509", "")),
                    error=str(seen.get("error", "")), reply=str(seen.get("starttls", "")))


__all__ = ["StartTls", "probe_starttls"]
