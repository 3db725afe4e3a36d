"""The topology's own CA and each node's certificates (harness.pki): the script run with this host's openssl (as the
harness does when the host has one; the mock-smtp image's otherwise), each kind checked by openssl itself against
the CA and the host name."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from harness import pki
from harness.mock.tls import CERTIFICATES

HOSTS = {"store": "mx.store.example", "edu": "mx.example.edu"}
# What `openssl verify -CAfile ca.pem -verify_hostname HOST` says of each kind (OpenSSL's own reasons).
EXPECTED = {"valid": "OK", "expired": "certificate has expired", "wrong_name": "hostname mismatch",
            "self_signed": "self-signed certificate", "untrusted": "unable to get local issuer certificate"}


@pytest.fixture(scope="module")
def made() -> pki.Pki:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed on this host (Debian: apt-get install openssl)")
    out = subprocess.run(["sh", "-c", pki.script(HOSTS, label="test")], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    return pki.parse(out.stdout, HOSTS)


def _verify(tmp: Path, ca: bytes, cert: bytes, host: str) -> str:
    (tmp / "ca.pem").write_bytes(ca)
    (tmp / "c.pem").write_bytes(cert)
    r = subprocess.run(["openssl", "verify", "-CAfile", str(tmp / "ca.pem"), "-verify_hostname", host,
                        str(tmp / "c.pem")], capture_output=True, text=True, check=False)
    return r.stdout + r.stderr


@pytest.mark.parametrize("kind", CERTIFICATES)
def test_each_kind_is_what_its_name_says(made: pki.Pki, kind: str, tmp_path: Path) -> None:
    for node, host in HOSTS.items():
        said = _verify(tmp_path, made.ca, made.nodes[node][f"{kind}.crt"], host)
        assert EXPECTED[kind] in said, (node, kind, said)


def test_every_node_gets_the_ca_its_key_and_one_certificate_of_each_kind(made: pki.Pki) -> None:
    files = made.files("edu")
    assert set(files) == {pki.CA_FILE, pki.KEY, *(pki.certificate(k) for k in CERTIFICATES)}
    assert files[pki.CA_FILE] == made.ca and b"PRIVATE KEY" in files[pki.KEY]
    assert made.nodes["edu"]["key.pem"] != made.nodes["store"]["key.pem"]  # a key of its own


def test_the_wrong_name_is_under_no_domain_of_a_topology(made: pki.Pki, tmp_path: Path) -> None:
    """Postfix's secure level accepts any name under the next hop's domain: the wrong name must be under none."""
    assert pki.WRONG_NAME.endswith(".invalid")
    (tmp_path / "c.pem").write_bytes(made.nodes["edu"]["wrong_name.crt"])
    text = subprocess.run(["openssl", "x509", "-in", str(tmp_path / "c.pem"), "-noout", "-ext", "subjectAltName"],
                          capture_output=True, text=True, check=True).stdout
    assert f"DNS:{pki.WRONG_NAME}" in text and "example" not in text


def test_a_missing_file_is_named() -> None:
    with pytest.raises(pki.PkiError, match="did not make .*edu/expired.crt"):
        pki.parse("=== ca/ca.pem\n-----BEGIN CERTIFICATE-----\nx\n=== edu/key.pem\n-----BEGIN x\n", {"edu": "mx.e"})


def test_a_host_name_a_certificate_cannot_carry_gets_no_certificate() -> None:
    """Such a name breaks the node's MTA too, which says so in its own words: the node gets the CA only."""
    hosts = {"edu": "mx.example.edu", "bad": "mx.library.example\n.include /x"}
    assert pki.certifiable(hosts) == {"edu": "mx.example.edu"}
    with pytest.raises(pki.PkiError, match="no certificate can carry the host name of bad"):
        pki.script(hosts)
    made = pki.Pki(b"CA", {"edu": {"key.pem": b"K"}})
    assert made.files("bad") == {pki.CA_FILE: b"CA"}


def test_made_on_the_host_without_the_engine_when_it_has_openssl(monkeypatch: pytest.MonkeyPatch) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed on this host (Debian: apt-get install openssl)")
    monkeypatch.delenv("MAILHARNESS_PKI", raising=False)

    def no_engine() -> None:
        raise AssertionError("the host has openssl: no container may be started for the certificates")

    monkeypatch.setattr(pki, "client", no_engine)
    made = pki.make(HOSTS, "no-such-image", "t-host")
    assert set(made.nodes) == set(HOSTS) and made.ca.startswith(b"-----BEGIN CERTIFICATE-----")


def test_mailharness_pki_container_or_a_failing_host_openssl_goes_to_the_image(monkeypatch: pytest.MonkeyPatch,
                                                                              tmp_path: Path) -> None:
    """MAILHARNESS_PKI=container, or a host openssl that fails, leaves the certificates to the image's openssl."""
    asked: list[str] = []

    class Engine:
        class containers:  # noqa: N801 (docker-py's attribute)
            @staticmethod
            def run(image: str, **kw: object) -> bytes:
                asked.append(image)
                raise RuntimeError("the container path was taken")

    monkeypatch.setattr(pki, "client", Engine)
    monkeypatch.setenv("MAILHARNESS_PKI", "container")
    with pytest.raises(RuntimeError, match="container path"):
        pki.make(HOSTS, "img:1", "t-env")
    # an openssl on PATH that fails: the image's is used
    fake = tmp_path / "openssl"
    fake.write_text("#!/bin/sh\necho 'unknown option' >&2; exit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    monkeypatch.delenv("MAILHARNESS_PKI")
    with pytest.raises(RuntimeError, match="container path"):
        pki.make(HOSTS, "img:2", "t-fail")
    assert asked == ["img:1", "img:2"]
