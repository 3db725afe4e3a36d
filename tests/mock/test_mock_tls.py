"""STARTTLS and AUTH in the mock: a relayhost stand-in that refuses AUTH before TLS and checks the logins."""

from __future__ import annotations

import shutil
import smtplib
import ssl
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.mock import MockSMTP, Script

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
