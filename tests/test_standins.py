"""containers/postfix/standins.py writes Dovecot's configuration in the syntax of the Dovecot in the image: 2.3
(bookworm, Postfix 3.7) or 2.4 (trixie, Postfix 3.10). No Docker: the module is loaded from the image's folder."""

from __future__ import annotations

import importlib.util
import re
import subprocess
from types import ModuleType
from typing import Any

import pytest

from harness.engine import images

ENTRIES = [{"kind": "dovecot", "type": "unix", "address": "/var/spool/postfix/private/dovecot-lmtp"},
           {"kind": "dovecot", "type": "inet", "address": "127.0.0.1:24"}]


@pytest.fixture(scope="module")
def standins() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mh_standins", images.containers_dir() / "postfix" / "standins.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_dovecot_23_configuration(standins: Any) -> None:
    conf = standins.dovecot_conf(ENTRIES, (2, 3))
    assert "mail_location = maildir:/var/mail/.mh-dovecot/%d/%n/Maildir" in conf
    assert "plugin {\n  quota = maildir:User quota" in conf and "address = 127.0.0.1" in conf
    assert "dovecot_config_version" not in conf
    assert standins.dovecot_conf(ENTRIES) == conf  # 2.3 unless told


def test_dovecot_24_configuration(standins: Any) -> None:
    conf = standins.dovecot_conf(ENTRIES, (2, 4))
    assert conf.startswith("dovecot_config_version = 2.4.0\ndovecot_storage_version = 2.4.0\n")
    lines = [ln.strip() for ln in conf.splitlines()]
    for line in ("mail_driver = maildir", "mail_path = /var/mail/.mh-dovecot/%{user|domain}/%{user|username}/Maildir",
                 "quota_storage_grace = 0", "lmtp_rcpt_check_quota = yes", 'quota "User quota" {',
                 "passwd_file_path = /etc/dovecot/mh-quota/%{user}", "userdb_static_allow_all_users = yes",
                 "listen = 127.0.0.1", "port = 24"):
        assert line in lines, line
    assert "mail_location" not in conf and "plugin {" not in conf and "args =" not in conf
    assert not re.search(r"%[dnu]\b", conf), "2.3's one-letter variables are gone in 2.4"


@pytest.mark.parametrize(("out", "want"), [("2.3.19.1 (9b53102964)\n", (2, 3)), ("2.4.1-4 (7d8c0e5759)\n", (2, 4)),
                                           ("", (2, 3))])
def test_the_version_comes_from_dovecot_itself(standins: Any, monkeypatch: pytest.MonkeyPatch, out: str,
                                               want: tuple[int, int]) -> None:
    monkeypatch.setattr(standins.subprocess, "run",
                        lambda *a, **k: subprocess.CompletedProcess(a[0], 0, stdout=out, stderr=""))
    assert standins.dovecot_version() == want


@pytest.mark.parametrize("version", [(2, 3), (2, 4)])
def test_smtpds_sasl_socket_is_the_auth_service_s_not_an_lmtp_listener(standins: Any,
                                                                        version: tuple[int, int]) -> None:
    """smtpd_sasl_type = dovecot: the same Dovecot's auth service listens where smtpd_sasl_path says, offering PLAIN
    and LOGIN; the socket is no LMTP listener."""
    auth = {"kind": "dovecot-auth", "type": "unix", "address": "/var/spool/postfix/private/auth"}
    conf = standins.dovecot_conf([*ENTRIES, auth], version)
    service = conf[conf.index("service auth {"):]
    assert "unix_listener /var/spool/postfix/private/auth {\n    mode = 0666\n  }" in service, service
    assert "auth_mechanisms = plain login" in conf
    lmtp = conf[conf.index("service lmtp {"):conf.index("service auth {")]
    assert "private/auth" not in lmtp, lmtp
    assert "auth_mechanisms" not in standins.dovecot_conf(ENTRIES, version), "no SASL socket: no mechanisms"
