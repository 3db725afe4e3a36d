"""STARTTLS and AUTH in the mock: a relayhost stand-in that refuses AUTH before TLS and checks the logins; the
certificate each kind presents, and the files of the harness's TLS faults."""

from __future__ import annotations

import shutil
import smtplib
import socket
import ssl
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import pytest

from harness.mock import MockSMTP, Script
from harness.mock.tls import CERTIFICATE, CERTIFICATES, STARTTLS_OFF, Certificates

StartMock = Callable[..., MockSMTP]


@pytest.fixture(scope="module")
def server_tls(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    """A self-signed certificate, made as the mock-smtp image makes its own (openssl)."""
    openssl = shutil.which("openssl")
    assert openssl, "openssl is needed to make the test certificate (Debian: apt-get install openssl)"
    d = tmp_path_factory.mktemp("tls")
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=mock.test",
                    "-keyout", str(d / "k.pem"), "-out", str(d / "c.pem")], check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(d / "c.pem"), str(d / "k.pem"))
    return context


def _client() -> ssl.SSLContext:
    c = ssl.create_default_context()
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE  # the stand-in's certificate is self-signed, as `encrypt` accepts
    return c


def _submission(start_mock: StartMock, server_tls: ssl.SSLContext) -> MockSMTP:
    return start_mock(Script().advertise("STARTTLS").login("app", "s3cret"), tls_context=server_tls)


def test_auth_is_offered_and_accepted_only_over_tls(start_mock: StartMock, server_tls: ssl.SSLContext) -> None:
    mock = _submission(start_mock, server_tls)
    with smtplib.SMTP("127.0.0.1", mock.port, timeout=10) as c:
        c.ehlo("app.example")
        assert c.has_extn("starttls") and not c.has_extn("auth"), c.esmtp_features
        code, text = c.docmd("AUTH", "PLAIN AGFwcABzM2NyZXQ=")
        assert code == 538, (code, text)  # RFC 4954 s4: encryption required first
        assert c.docmd("MAIL", "FROM:<a@app.example>")[0] == 530  # no AUTH, no relaying
        c.starttls(context=_client())
        c.ehlo("app.example")
        assert c.has_extn("auth") and not c.has_extn("starttls"), c.esmtp_features
        c.login("app", "s3cret")
        refused = c.sendmail("a@app.example", ["b@elsewhere.example"], b"Subject: x\r\n\r\nhi\r\n")
        assert refused == {}
    [msg] = mock.wait_for_messages(1)
    assert msg.login == "app" and msg.tls.startswith("TLS"), (msg.login, msg.tls)
    [session] = mock.wait_for_sessions(1)
    notes = [t.text for t in session.transcript if t.who == "note"]
    assert any(n.startswith("TLS started") for n in notes) and "AUTH PLAIN as app: accepted" in notes, notes


def test_wrong_credentials_are_refused(start_mock: StartMock, server_tls: ssl.SSLContext) -> None:
    mock = _submission(start_mock, server_tls)
    with smtplib.SMTP("127.0.0.1", mock.port, timeout=10) as c:
        c.starttls(context=_client())
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            c.login("app", "wrong")
        assert e.value.smtp_code == 535
        assert c.docmd("MAIL", "FROM:<a@app.example>")[0] == 530


def test_without_starttls_in_the_script_nothing_is_encrypted(start_mock: StartMock,
                                                             server_tls: ssl.SSLContext) -> None:
    """A relayhost that stopped offering STARTTLS (the fault an `encrypt` policy must survive)."""
    mock = start_mock(Script(), tls_context=server_tls)
    with smtplib.SMTP("127.0.0.1", mock.port, timeout=10) as c:
        c.ehlo("app.example")
        assert not c.has_extn("starttls")
        assert c.docmd("STARTTLS")[0] == 502
        assert c.sendmail("a@app.example", ["b@x.example"], b"Subject: x\r\n\r\nhi\r\n") == {}
    [msg] = mock.wait_for_messages(1)
    assert msg.tls == "" and msg.login == ""


def test_logins_survive_json(tmp_path: Path) -> None:
    s = Script().advertise("STARTTLS").login("app", "pw with spaces")
    assert Script.from_json(s.to_json()) == s
    careless = s.offer_auth_in_clear()
    assert Script.from_json(careless.to_json()) == careless and careless.auth_in_clear


def test_a_script_may_offer_auth_in_clear(start_mock: StartMock, server_tls: ssl.SSLContext) -> None:
    """A server with Postfix's default smtpd_tls_auth_only = no: AUTH in the EHLO reply before STARTTLS, and a login
    in clear accepted; the transcript keeps the AUTH command before any "TLS started" note (what a scenario reads to
    say a client sent its password in clear)."""
    mock = start_mock(Script().advertise("STARTTLS").login("app", "s3cret").offer_auth_in_clear(),
                      tls_context=server_tls)
    with smtplib.SMTP("127.0.0.1", mock.port, timeout=10) as c:
        c.ehlo("app.example")
        assert c.has_extn("auth") and c.has_extn("starttls"), c.esmtp_features
        c.login("app", "s3cret")
        assert c.sendmail("a@app.example", ["b@x.example"], b"Subject: x\r\n\r\nhi\r\n") == {}
    [msg] = mock.wait_for_messages(1)
    assert msg.login == "app" and msg.tls == "", (msg.login, msg.tls)
    [session] = mock.wait_for_sessions(1)
    lines = [(t.who, t.text) for t in session.transcript]
    auth = next(i for i, (who, text) in enumerate(lines) if who == "client" and text.upper().startswith("AUTH"))
    assert not any(who == "note" and text.startswith("TLS started") for who, text in lines[:auth]), lines
    assert ("note", "AUTH before TLS: the script offers it in clear") in lines, lines
    assert session.before_tls("auth") == ("AUTH PLAIN ...",), session.commands_shown  # the credentials left out
    assert session.before_tls("MAIL", "DATA")[0].upper().startswith("MAIL FROM:<A@APP.EXAMPLE>")


def test_the_commands_a_failure_quotes_leave_every_login_out(start_mock: StartMock, server_tls: ssl.SSLContext) -> None:
    """AUTH LOGIN sends the user and the password on lines of their own: neither is quoted, nor logged; over TLS,
    nothing counts as sent before it."""
    lines: list[str] = []
    mock = start_mock(Script().advertise("STARTTLS").login("app", "s3cret").offer_auth_in_clear(),
                      tls_context=server_tls, log=lines.append)
    with smtplib.SMTP("127.0.0.1", mock.port, timeout=10) as c:
        c.ehlo("app.example")
        assert c.docmd("AUTH", "LOGIN")[0] == 334
        assert c.docmd("YXBw")[0] == 334
        assert c.docmd("czNjcmV0")[0] == 235
        c.noop()
    with smtplib.SMTP("127.0.0.1", mock.port, timeout=10) as c:
        c.starttls(context=_client())
        c.login("app", "s3cret")
    clear, tls = mock.wait_for_sessions(2)
    assert clear.commands_shown == ("ehlo app.example", "AUTH LOGIN", "...", "...", "noop", "QUIT"), clear.commands
    assert clear.before_tls("AUTH") == ("AUTH LOGIN",)
    logged = "\n".join(lines)
    assert "session 1 AUTH LOGIN -> 334" in logged and "session 1 ... -> 235" in logged, logged
    assert not any(secret in logged for secret in ("YXBw", "czNjcmV0", "AGFwcABzM2NyZXQ=")), logged
    assert tls.before_tls("AUTH", "MAIL") == () and "AUTH PLAIN ..." in tls.commands_shown, tls.commands_shown


# -- the certificate each kind presents, and the harness's TLS faults (harness.mock.tls) ---------------------------
@pytest.fixture(scope="module")
def kinds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, ssl.SSLContext]]:
    """The harness's certificates for mock.test (harness.pki's script, with this host's openssl): the CA's
    certificate, and a server context per kind."""
    from harness import pki

    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed on this host (Debian: apt-get install openssl)")
    out = subprocess.run(["sh", "-c", pki.script({"mock": "mock.test"})], capture_output=True, text=True, check=True)
    made = pki.parse(out.stdout, {"mock": "mock.test"})
    d = tmp_path_factory.mktemp("kinds")
    (d / "ca.pem").write_bytes(made.ca)
    for name, pem in made.nodes["mock"].items():
        (d / name).write_bytes(pem)
    contexts = {}
    for kind in CERTIFICATES:
        c = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        c.load_cert_chain(str(d / f"{kind}.crt"), str(d / "key.pem"))
        contexts[kind] = c
    return d, contexts


def _verifying(ca: Path) -> ssl.SSLContext:
    """A client that checks the chain against the CA and the host name, as Postfix's `verify` does."""
    return ssl.create_default_context(cafile=str(ca))


def _starttls(mock: MockSMTP, client: ssl.SSLContext) -> str:
    """STARTTLS as a verifying client for the host name mock.test: "" when the certificate verified, else OpenSSL's
    reason."""
    def reply(f: BinaryIO) -> bytes:  # the last line of a (multi-line) reply
        while (line := f.readline())[3:4] == b"-":
            pass
        return line

    with socket.create_connection(("127.0.0.1", mock.port), timeout=10) as s, s.makefile("rb") as f:
        reply(f)  # the banner
        for command in (b"EHLO client.example\r\n", b"STARTTLS\r\n"):
            s.sendall(command)
            last = reply(f)
        assert last.startswith(b"220"), last
        try:
            client.wrap_socket(s, server_hostname="mock.test").close()
        except ssl.SSLCertVerificationError as exc:
            return str(exc.verify_message)
        return ""


@pytest.mark.parametrize("kind, reason", [("valid", ""), ("expired", "certificate has expired"),
                                          ("wrong_name", "Hostname mismatch"),
                                          ("self_signed", "self-signed certificate"),
                                          ("untrusted", "unable to get local issuer certificate")])
def test_the_script_chooses_the_certificate(start_mock: StartMock, kinds: tuple[Path, dict[str, ssl.SSLContext]],
                                            kind: str, reason: str) -> None:
    d, contexts = kinds
    mock = start_mock(Script().advertise("STARTTLS").present(kind), certificates=contexts)
    said = _starttls(mock, _verifying(d / "ca.pem"))
    assert (reason in said) if reason else said == "", (kind, said)
    [session] = mock.wait_for_sessions(1)
    assert f"STARTTLS with the {kind} certificate" in session.notes, session.notes


def test_a_fault_file_takes_starttls_away_whatever_the_script_says(
        start_mock: StartMock, kinds: tuple[Path, dict[str, ssl.SSLContext]], tmp_path: Path) -> None:
    _, contexts = kinds
    mock = start_mock(Script().advertise("STARTTLS"), certificates=contexts, faults_dir=tmp_path)
    (tmp_path / STARTTLS_OFF).write_text("NoStartTLS\n")
    with smtplib.SMTP("127.0.0.1", mock.port, timeout=10) as c:
        c.ehlo("client.example")
        assert not c.has_extn("starttls"), c.esmtp_features
        assert c.docmd("STARTTLS")[0] == 502
    (tmp_path / STARTTLS_OFF).unlink()  # the fault undone: the script's STARTTLS again, at the next EHLO
    with smtplib.SMTP("127.0.0.1", mock.port, timeout=10) as c:
        c.ehlo("client.example")
        assert c.has_extn("starttls"), c.esmtp_features


def test_a_fault_file_overrides_the_scripts_certificate(
        start_mock: StartMock, kinds: tuple[Path, dict[str, ssl.SSLContext]], tmp_path: Path) -> None:
    d, contexts = kinds
    mock = start_mock(Script().advertise("STARTTLS"), certificates=contexts, faults_dir=tmp_path)
    (tmp_path / CERTIFICATE).write_text("untrusted\n")
    assert "unable to get local issuer certificate" in _starttls(mock, _verifying(d / "ca.pem"))
    (tmp_path / CERTIFICATE).unlink()
    assert _starttls(mock, _verifying(d / "ca.pem")) == ""


def test_a_kind_the_server_has_no_certificate_for_is_refused_with_454(start_mock: StartMock,
                                                                      server_tls: ssl.SSLContext) -> None:
    mock = start_mock(Script().advertise("STARTTLS").present("expired"), tls_context=server_tls)
    with smtplib.SMTP("127.0.0.1", mock.port, timeout=10) as c:
        c.ehlo("client.example")
        assert c.docmd("STARTTLS")[0] == 454
    [session] = mock.wait_for_sessions(1)
    assert any(n.startswith("STARTTLS refused: no expired certificate") for n in session.notes), session.notes


def test_certificates_from_a_folder_and_the_fallback(kinds: tuple[Path, dict[str, ssl.SSLContext]],
                                                     tmp_path: Path) -> None:
    d, _ = kinds
    from_folder = Certificates(str(d))
    assert all(from_folder.context(k) is not None for k in CERTIFICATES)
    assert from_folder.context("no-such-kind") is None
    only_fallback = Certificates(str(tmp_path), fallback=(str(d / "self_signed.crt"), str(d / "key.pem")))
    assert only_fallback.context("valid") is not None and only_fallback.context("expired") is None


def test_the_certificate_survives_json_and_is_checked() -> None:
    s = Script().advertise("STARTTLS").present("wrong_name")
    assert Script.from_json(s.to_json()) == s and s.certificate == "wrong_name"
    assert Script.from_json('{"version": 1}').certificate == "valid"
    with pytest.raises(ValueError, match="certificate must be one of valid, expired"):
        Script(certificate="stale")
