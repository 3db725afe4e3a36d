"""Tables the harness cannot read (SQL, LDAP...): named, never asked (each ask cost a second or more), and
replaced on request by a readable copy (--mta-table PARAM=FILE). No Docker."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.mta.facts import ConfigError
from harness.mta.postfix.recipients import unreadable
from harness.mta.postfix.resolve import Tables, is_unreadable
from harness.mta.postfix.userconfig import TABLES_DIR, with_tables
from harness.sut.byoc import table_options


def test_sql_ldap_and_socket_tables_are_unreadable_files_are_not() -> None:
    for t in ("mysql:/etc/postfix/sql/a.cf", "proxy:pgsql:/x.cf", "ldap:/etc/postfix/ldap.cf", "tcp:localhost:9"):
        assert is_unreadable(t), t
    for t in ("hash:/etc/aliases", "texthash:/etc/postfix/virtual", "proxy:unix:passwd.byname", "/etc/postfix/d"):
        assert not is_unreadable(t), t
    assert unreadable({"virtual_mailbox_domains": "proxy:mysql:/a.cf", "virtual_alias_maps": "hash:/v, ldap:/l.cf",
                       "mydestination": "localhost"}) == [("virtual_mailbox_domains", "proxy:mysql:/a.cf"),
                                                           ("virtual_alias_maps", "ldap:/l.cf")]


def test_an_unreadable_table_is_never_asked() -> None:
    class NoProbe:
        def run(self, cmds: list[list[str]]) -> list[object]:
            assert not cmds, f"asked {cmds}"
            return []

    tables = Tables(NoProbe())  # type: ignore[arg-type]
    look = tables.get("alice@acme.test", "proxy:mysql:/etc/postfix/sql/m.cf")
    assert not look.found and "mysql table, which the harness cannot read" in look.error
    assert tables.keys("mysql:/etc/postfix/sql/m.cf")[0] == []


def test_mta_table_options_are_param_file_pairs() -> None:
    assert table_options(["virtual_mailbox_maps=./vmailbox", " relay_domains = r.txt"]) == (
        ("virtual_mailbox_maps", "./vmailbox"), ("relay_domains", "r.txt"))
    with pytest.raises(ConfigError, match="expected PARAM=FILE"):
        table_options(["virtual_mailbox_maps"])


def test_a_readable_copy_replaces_the_setting_and_its_continuation_lines(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "main.cf").write_text("mydomain = acme.test\nvirtual_alias_maps = proxy:mysql:/a.cf,\n"
                                    "    proxy:mysql:/b.cf\n# virtual_alias_maps = kept as a comment\n"
                                    "virtual_transport = lmtp:unix:private/dovecot-lmtp\n")
    (config / "aliases.txt").write_text("info@acme.test alice@acme.test\n")
    out = with_tables(config, [("virtual_alias_maps", "aliases.txt")])  # relative to the configuration folder
    main_cf = (out / "main.cf").read_text()
    assert "proxy:mysql" not in main_cf and "# virtual_alias_maps = kept as a comment" in main_cf
    assert f"virtual_alias_maps = texthash:/etc/postfix/{TABLES_DIR}/virtual_alias_maps" in main_cf
    assert "virtual_transport = lmtp:unix:private/dovecot-lmtp" in main_cf
    assert (out / TABLES_DIR / "virtual_alias_maps").read_text() == "info@acme.test alice@acme.test\n"
    assert (config / "main.cf").read_text().count("proxy:mysql") == 2, "the user's own folder is left as it was"
    with pytest.raises(ConfigError, match="no such file"):
        with_tables(config, [("virtual_alias_maps", "missing.txt")])
