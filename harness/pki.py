"""The topology's own certificate authority, and a certificate of each kind for every node.

Each topology gets a CA of its own, made when it starts, which every node trusts (harness.mta's nodes name it
as the CA file of their SMTP client: `verify` and `secure` work inside the topology, and nothing outside it is
trusted). Every mail node gets one key and a certificate of each kind for it (harness.mock.tls.CERTIFICATES):

- valid: issued by the topology's CA for the node's host name (what its SMTP server presents);
- expired: the same, whose validity ended 30 days ago;
- wrong_name: issued by the CA for another name (mx.wrong-name.invalid: under no domain of the topology);
- self_signed: for the node's host name, signed by its own key;
- untrusted: for the node's host name, issued by a second CA that no node trusts.

They are made by one shell script (`script`) with the host's `openssl` when it has one (MAILHARNESS_PKI=container
says not to), else in a one-off container of the mock-smtp image (the harness's own, which has it: nothing needs to be
installed on the host), and put into each node's TLS_DIR before it starts. On the host they cost a topology's start
one container fewer (about 0.4 s of CPU, which two workers starting at once both wait for). Keys are
elliptic-curve (P-256): made in a millisecond, where RSA would take a good part of a second each.

    pki = make({"store": "mx.store.example", "edu": "mx.example.edu"}, image, topology_id)
    pki.files("edu")      # {"/etc/mailharness/tls/ca.pem": b"-----BEGIN...", ".../valid.crt": ..., ...}
"""

from __future__ import annotations

import logging
import os
import re
import shlex
import shutil
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass

import docker.errors

from .engine import labels as lbl
from .engine.docker import client
from .errors import MailharnessError
from .mock.tls import CERTIFICATES, KEY_FILE, certificate_file

log = logging.getLogger("mailharness")
# Where every node finds its TLS files (the mock-smtp image's entrypoint names it too).
TLS_DIR = "/etc/mailharness/tls"
CA_FILE = f"{TLS_DIR}/ca.pem"
KEY = f"{TLS_DIR}/{KEY_FILE}"
WRONG_NAME = "mx.wrong-name.invalid"  # no domain of the topology ends so (RFC 6761: .invalid)
_HOSTNAME = re.compile(r"^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$")
_DAY = 86400


class PkiError(MailharnessError, RuntimeError):
    """The topology's certificates could not be made (openssl's own words follow)."""


def certificate(kind: str) -> str:
    """Where a node keeps its certificate of `kind` ("/etc/mailharness/tls/valid.crt")."""
    return f"{TLS_DIR}/{certificate_file(kind)}"


@dataclass(frozen=True)
class Pki:
    """The topology's CA certificate, and each node's key and certificates (node -> file name -> PEM)."""

    ca: bytes
    nodes: Mapping[str, Mapping[str, bytes]]

    def files(self, node: str) -> dict[str, bytes]:
        """What goes into `node`: the CA's certificate, its key and a certificate of each kind, path -> content (the
        CA's alone for a node whose host name no certificate can carry: `certifiable`)."""
        return {CA_FILE: self.ca, **{f"{TLS_DIR}/{name}": pem for name, pem in self.nodes.get(node, {}).items()}}


def certifiable(hosts: Mapping[str, str]) -> dict[str, str]:
    """The nodes (node -> host name) whose host name a certificate can carry. The others get none: a host name
    that cannot be one (a line break in it) breaks the node's MTA too, which then says so in its own words."""
    return {node: host for node, host in hosts.items() if _HOSTNAME.match(host) and re.fullmatch(r"[\w.-]+", node)}


def _stamp(t: float) -> str:
    return time.strftime("%Y%m%d%H%M%SZ", time.gmtime(t))


def script(hosts: Mapping[str, str], *, label: str = "topology", now: float | None = None) -> str:
    """The shell script that makes the CA and every node's files with openssl in a fresh folder, and prints them:
    "=== NODE/FILE" then the PEM, for each ("=== ca/ca.pem" for the CA's certificate)."""
    bad = set(hosts) - set(certifiable(hosts))
    if bad:
        raise PkiError(f"no certificate can carry the host name of {', '.join(sorted(bad))}: "
                       + ", ".join(repr(hosts[n]) for n in sorted(bad)))
    now = time.time() if now is None else now
    valid = f"-startdate {_stamp(now - _DAY)} -enddate {_stamp(now + 365 * _DAY)}"
    expired = f"-startdate {_stamp(now - 400 * _DAY)} -enddate {_stamp(now - 30 * _DAY)}"
    lines = [
        "set -eu",
        "d=$(mktemp -d); cd \"$d\"; mkdir new",
        # A minimal openssl configuration: the CA's database for `openssl ca`, and req's CA extensions.
        "cat > ca.cnf <<'EOF'",
        "[ca]", "default_ca = mh", "[mh]", "database = index.txt", "new_certs_dir = new", "serial = serial",
        "default_md = sha256", "policy = any", "unique_subject = no", "copy_extensions = none",
        "[any]", "commonName = supplied",
        "[req]", "distinguished_name = dn", "prompt = no", "[dn]", "CN = unused",
        "[ca_ext]", "basicConstraints = critical,CA:TRUE", "keyUsage = critical,keyCertSign,cRLSign",
        "subjectKeyIdentifier = hash",
        "EOF",
        ": > index.txt; echo 1000 > serial",
        "key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out \"$1\" 2>/dev/null; }",
        # ca NAME SUBJECT: a CA's key and self-signed certificate
        "ca() { key \"$1.key\"; openssl req -config ca.cnf -x509 -new -key \"$1.key\" -sha256 -days 3650 "
        "-subj \"$2\" -extensions ca_ext -out \"$1.pem\"; }",
        # leaf OUT ISSUER NAME DATES...: a certificate for NAME, for the key of the node being made
        "leaf() { out=$1; issuer=$2; name=$3; shift 3; "
        "printf 'subjectAltName = DNS:%s\\nbasicConstraints = CA:FALSE\\nkeyUsage = digitalSignature\\n"
        "extendedKeyUsage = serverAuth\\n' \"$name\" > ext; "
        "openssl ca -batch -config ca.cnf -cert \"$issuer.pem\" -keyfile \"$issuer.key\" -in req.csr "
        "-subj \"/CN=$name\" -extfile ext -notext -out \"$out\" \"$@\" 2>/dev/null; }",
        f"ca ca {shlex.quote('/O=mailharness/CN=mailharness CA of ' + label)}",
        "ca other '/O=nobody/CN=an untrusted CA'",
        "echo '=== ca/ca.pem'; cat ca.pem",
    ]
    for node, host in hosts.items():
        lines += [
            f"n={shlex.quote(node)}; h={shlex.quote(host)}; mkdir \"n-$n\"",
            "key \"n-$n/key.pem\"; openssl req -config ca.cnf -new -key \"n-$n/key.pem\" -subj \"/CN=$h\" "
            "-out req.csr",
            f"leaf \"n-$n/valid.crt\" ca \"$h\" {valid}",
            f"leaf \"n-$n/expired.crt\" ca \"$h\" {expired}",
            f"leaf \"n-$n/wrong_name.crt\" ca {WRONG_NAME} {valid}",
            f"leaf \"n-$n/untrusted.crt\" other \"$h\" {valid}",
            "openssl req -config ca.cnf -x509 -new -key \"n-$n/key.pem\" -sha256 -days 365 -subj \"/CN=$h\" "
            "-addext \"subjectAltName = DNS:$h\" -out \"n-$n/self_signed.crt\"",
            "for f in \"n-$n\"/*; do echo \"=== $n/${f##*/}\"; cat \"$f\"; done",
        ]
    lines.append("cd /; rm -rf \"$d\"")
    return "\n".join(lines) + "\n"


def parse(output: str, hosts: Mapping[str, str]) -> Pki:
    """The script's output as a Pki; PkiError when a file it should have made is missing."""
    files: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in output.splitlines():
        if line.startswith("=== "):
            current = files.setdefault(line[4:].strip(), [])
        elif current is not None:
            current.append(line)
    pem = {k: ("\n".join(v).strip() + "\n").encode() for k, v in files.items()}
    wanted = ["ca/ca.pem"] + [f"{n}/{f}" for n in hosts for f in (KEY_FILE, *map(certificate_file, CERTIFICATES))]
    missing = [w for w in wanted if b"-----BEGIN" not in pem.get(w, b"")]
    if missing:
        raise PkiError(f"the certificates' script did not make {', '.join(missing)}; it wrote: "
                       f"{', '.join(sorted(files)) or 'nothing'}")
    nodes = {n: {f: pem[f"{n}/{f}"] for f in (KEY_FILE, *map(certificate_file, CERTIFICATES))} for n in hosts}
    return Pki(pem["ca/ca.pem"], nodes)


def make(hosts: Mapping[str, str], image: str, topology_id: str) -> Pki:
    """Make the topology's CA and every node's files (node -> its host name): with the host's openssl when it has
    one and it succeeds, else in a one-off container of `image` (the mock-smtp image: it has openssl), with no
    network, labelled with the topology and removed at once. A node whose host name no certificate can carry gets
    the CA's certificate only (`certifiable`; a warning says so)."""
    fit = certifiable(hosts)
    for node in sorted(set(hosts) - set(fit)):
        log.warning("mailharness: %s: no certificate for the host name %r (not a DNS name); the node gets the "
                    "topology's CA only", node, hosts[node])
    hosts = fit
    text = script(hosts, label=topology_id)
    if _on_host():
        try:
            return _on_this_host(text, hosts)
        except PkiError as exc:  # an openssl that differs (LibreSSL, an old release): the image's own will do
            log.info("mailharness: %s: the host's openssl could not make the certificates (%s); making them in a "
                     "container of %s", topology_id, exc, image)
    try:
        out = client().containers.run(image, entrypoint=["sh", "-c", text], remove=True, network_mode="none",
                                      labels=lbl.labels(topology=topology_id, node="pki"), stdout=True,
                                      stderr=False)
    except docker.errors.ContainerError as exc:
        err = exc.stderr.decode("utf-8", "replace") if isinstance(exc.stderr, bytes) else str(exc.stderr)
        raise PkiError(f"{topology_id}: openssl could not make the topology's certificates in {image} "
                       f"(exit {exc.exit_status}): {err.strip()[-1500:]}") from None
    return parse(out.decode("ascii", "replace") if isinstance(out, bytes) else str(out), hosts)


def _on_host() -> bool:
    """Whether the certificates are made on this host: it has sh and openssl, and MAILHARNESS_PKI is not
    "container"."""
    return (os.environ.get("MAILHARNESS_PKI", "").strip().lower() != "container"
            and shutil.which("openssl") is not None and shutil.which("sh") is not None)


def _on_this_host(text: str, hosts: Mapping[str, str]) -> Pki:
    try:
        done = subprocess.run(["sh", "-c", text], capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PkiError(str(exc)) from None
    if done.returncode != 0:
        raise PkiError(f"exit {done.returncode}: {done.stderr.strip()[-500:]}")
    return parse(done.stdout, hosts)


__all__ = ["CA_FILE", "KEY", "TLS_DIR", "WRONG_NAME", "Pki", "PkiError", "certifiable", "certificate", "make", "parse",
           "script"]
