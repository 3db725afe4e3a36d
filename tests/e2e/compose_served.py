"""What the compose property (tests/e2e/compose.py) reads the same way on every MTA: what a node's SMTP server
answers, from the node itself to its own address (listening or not, STARTTLS, SIZE, the certificate it presents),
and which client time-out a host gone elsewhere sets."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Protocol, TypeVar

from harness import BadCertificate, Down, Fault, NoStartTLS, Tarpit, Unreachable

F = TypeVar("F", bound=Fault)
TLS = "/etc/mailharness/tls"  # every MTA node's certificates, one file per kind (docs/topology.md)


def mine(faults: list[Fault], node: str, kind: type[F]) -> list[F]:
    """The faults of `kind` applied to `node`, in order."""
    return [f for f in faults if isinstance(f, kind) and f.node == node]


def client_timeout(f: Fault, node: str) -> tuple[str, str]:
    """("connect" or "greeting", the time-out) that `f`, a host gone (Down(whole_host), Unreachable, Tarpit) on
    another node, sets on `node`'s SMTP client (docs/faults.md: on every other MTA node); ("", ""): none."""
    if f.node == node:
        return "", ""
    if isinstance(f, Down) and f.whole_host or isinstance(f, Unreachable):
        return "connect", f.client_timeout
    if isinstance(f, Tarpit):
        return "greeting", f.client_timeout
    return "", ""


class Observation(Protocol):
    served: Served | None


# -- what the node's SMTP server answers, from the node itself to its own address --------------------------------
@dataclass(frozen=True)
class Served:
    listening: bool
    starttls: bool = False
    size: int | None = None  # the EHLO reply's SIZE
    certificate: str = ""  # the kind whose file is the certificate presented after STARTTLS ("": none)


def served_script(ip: str) -> str:
    """The EHLO reply, then the certificate STARTTLS presents (its fingerprint); "refused" when the port does not
    take connections."""
    ehlo = ("exec 3<>/dev/tcp/$0/25 || exit 1; read -r -t 3 l <&3; printf 'EHLO probe.invalid\\r\\n' >&3; "
            "while read -r -t 3 l <&3; do echo \"$l\"; case \"$l\" in '250 '*) break;; esac; done; "
            "printf 'QUIT\\r\\n' >&3")
    return (f"if timeout 5 bash -c {shlex.quote(ehlo)} {ip} 2>/dev/null; then "
            f"echo \"cert $(timeout 5 openssl s_client -starttls smtp -connect {ip}:25 </dev/null 2>/dev/null | "
            "openssl x509 -noout -fingerprint -sha256 2>/dev/null)\"; else echo refused; fi")


def served_section(ip: str, connected: bool) -> str:
    """The script's last section, "--- served": what the node's SMTP server answers, or "cut off" (a node cut off
    the network has no address to ask)."""
    return "echo '--- served'; " + (served_script(ip) if connected else "echo 'cut off'")


def read_served(section: str, kinds: dict[str, str]) -> Served | None:
    """`served_section`'s output (without its first line) as Served; None: cut off."""
    return None if section.strip() == "cut off" else parse_served(section, kinds)


def fingerprints_script() -> str:
    return (f"for k in {TLS}/*.crt; do echo \"$(basename $k .crt) $(openssl x509 -in $k -noout -fingerprint "
            "-sha256)\"; done")


def parse_served(text: str, kinds: dict[str, str]) -> Served:
    lines = [ln.strip() for ln in text.strip().splitlines()]
    if lines == ["refused"]:
        return Served(listening=False)
    ehlo = [ln[4:] for ln in lines if ln.startswith("250")]
    size = next((int(w.split()[1]) for w in ehlo if w.startswith("SIZE ") and w.split()[1].isdigit()), None)
    cert = next((ln[5:].strip() for ln in lines if ln.startswith("cert")), "")
    return Served(listening=True, starttls="STARTTLS" in ehlo, size=size, certificate=kinds.get(cert, cert))


def check_served(node: str, seen: Served | None, faults: list[Fault], size: int, where: str) -> None:
    """Down (the service only) refuses connections; otherwise STARTTLS is offered unless NoStartTLS holds, with the
    certificate of the last BadCertificate's kind (valid without one), and SIZE is `size` (the MTA's limit)."""
    if seen is None:  # cut off the network: its address is gone (its configuration is checked all the same)
        return
    down = any(not f.whole_host for f in mine(faults, node, Down))
    assert seen.listening is not down, f"{node}: listening={seen.listening}; {where}"
    if down:
        return
    offered = not mine(faults, node, NoStartTLS)
    bad = mine(faults, node, BadCertificate)
    want = Served(True, offered, size, (bad[-1].kind if bad else "valid") if offered else "")
    assert seen == want, f"{node}: its SMTP server answers {seen}, expected {want}; {where}"
