"""What the harness asks Postfix, and how it reads Postfix's answers (no Docker): list syntax, the files a
configuration names, the keys an address is looked up with, lookup answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.mta.postfix.configfacts import named_files, settings
from harness.mta.postfix.probe import Answer
from harness.mta.postfix.resolve import Lookup, address_keys, is_domain, items
from harness.sut.byoc import ConfigError, inspect_config


def test_postconf_output_is_read_as_postconf_prints_it() -> None:
    out = "mydestination = $myhostname, localhost\nlocal_recipient_maps =\nrelay_domains = a.example\n"
    assert settings(out) == {"mydestination": "$myhostname, localhost", "local_recipient_maps": "",
                             "relay_domains": "a.example"}


def test_list_syntax_keeps_inline_tables_whole() -> None:
    assert items("a.example, /etc/postfix/vhost  hash:/etc/postfix/d,inline:{ x=1, y=2 }") == [
        "a.example", "/etc/postfix/vhost", "hash:/etc/postfix/d", "inline:{ x=1, y=2 }"]


def test_files_named_by_kind() -> None:
    named = named_files({"myorigin": "/etc/mailname", "alias_maps": "hash:/etc/aliases, nis:mail.aliases",
                         "virtual_mailbox_domains": "/etc/postfix/vhost",
                         "smtpd_tls_cert_file": "/etc/ssl/certs/x.pem", "smtpd_tls_key_file": "/etc/ssl/private/x.key",
                         "smtp_tls_CApath": "/etc/ssl/certs", "smtp_tls_session_cache_database": "btree:/var/x",
                         "submission/inet/smtpd_tls_chain_files": "/etc/k.pem",
                         "relay_recipient_maps": "proxy:hash:/etc/postfix/relay"})
    assert named == {"/etc/mailname": "mailname", "/etc/aliases": "aliases", "/etc/postfix/vhost": "list",
                     "/etc/ssl/certs/x.pem": "tls-cert", "/etc/ssl/private/x.key": "tls-key",
                     "/etc/k.pem": "tls-chain", "/etc/postfix/relay": "table"}, "CApath is a directory; caches " \
                                                                                 "are Postfix's own"


def test_the_keys_an_address_is_looked_up_with() -> None:
    assert address_keys("bob+tag@a.example", "virtual mailbox", "virtual_mailbox_maps", "hash:/v", "+") == [
        "bob+tag@a.example", "bob@a.example", "@a.example"]
    assert address_keys("bob@a.example", "local", "local_recipient_maps", "proxy:unix:passwd.byname", "") == ["bob"]
    assert address_keys("bob@a.example", "local", "local_recipient_maps", "hash:/l", "") == ["bob@a.example", "bob"]


def test_a_lookup_that_fails_is_neither_found_nor_not_found() -> None:
    assert Lookup.of(Answer(0, "OK\n", "")) == Lookup(True, "OK")
    assert Lookup.of(Answer(1, "", "")) == Lookup(False)
    bad = Lookup.of(Answer(1, "", "postmap: fatal: unsupported dictionary type: mysql\n"))
    assert not bad.found and "unsupported dictionary type: mysql" in bad.error


def test_domains() -> None:
    assert is_domain("corp.example") and not is_domain("/etc/postfix/vhost") and not is_domain("bob@corp.example")
    assert not is_domain("localhost.localdomain")


def test_no_main_cf_is_refused_before_asking_postfix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no main.cf here"):
        inspect_config(tmp_path)
