"""Postfix itself says what a configuration serves and which recipients it knows (a probe container of the node
image): the configurations people run, read right."""

from __future__ import annotations

import shutil
from pathlib import Path

from harness.sut.byoc import inspect_config

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_debian_default_mailname_and_aliases_from_outside_the_folder() -> None:
    info = inspect_config(EXAMPLES / "postfix-debian")
    assert info.local_domains == ("library.example",)
    assert info.recipients[0] == "postmaster@library.example", "an /etc/aliases entry, confirmed by postalias -q"
    assert info.unknown == "no-such-user-4711@library.example"
    files = dict(info.files)
    if not Path("/etc/mailname").is_file():
        assert files["/etc/mailname"] == b"mx.library.example\n"
        assert "/etc/mailname: not on this host; made with 'mx.library.example'" in info.notes


def test_a_local_recipient_given_by_the_user_gets_a_unix_account() -> None:
    info = inspect_config(EXAMPLES / "postfix-debian", "alice@library.example")
    assert info.recipients[0] == "alice@library.example" and "alice" in info.local_users


def test_a_gateway_keeps_its_aliases_to_its_own_host_name() -> None:
    info = inspect_config(EXAMPLES / "postfix-inbound-gateway")
    assert info.relay_domains == ("library.example",) and info.local_domains == ()
    assert "info@library.example" not in info.recipients, "alias_maps apply to the local class only"
    assert info.recipients[0].endswith("@mx.library.example")
    assert {"jill@library.example", "bob@library.example"} <= set(info.recipients)
    assert info.relay_unknown == "no-such-user-4711@library.example"


def test_a_distribution_style_configuration_file_names_are_not_domains() -> None:
    info = inspect_config(EXAMPLES / "postfix-distribution")
    assert info.virtual_domains == ("library.example", "library2.example"), "read from /etc/postfix/vhost"
    assert not any("/" in d or "@" in d for d in info.domains)
    assert {"jill@library.example", "bob@library.example", "carol@library2.example"} <= set(info.recipients)
    assert info.unknown == "no-such-user-4711@library.example"
    assert sorted(p for p, _ in info.files) == ["/etc/dms/tls/cert.pem", "/etc/dms/tls/key.pem"]
    assert dict(info.files)["/etc/dms/tls/key.pem"].startswith(b"-----BEGIN PRIVATE KEY")


def test_tables_postfix_cannot_read_leave_recipients_unconfirmed(tmp_path: Path) -> None:
    d = tmp_path / "sql"
    d.mkdir()
    (d / "main.cf").write_text("myhostname = mx.corp.example\nmydestination = localhost\n"
                               "virtual_mailbox_domains = corp.example\n"
                               "virtual_mailbox_maps = mysql:/etc/postfix/mysql-mailboxes.cf\n")
    (d / "mysql-mailboxes.cf").write_text("hosts = db\nquery = SELECT 1 FROM m WHERE a='%s'\n")
    info = inspect_config(d)
    assert info.recipients == () and "--mta-recipient" in info.known_reason
    assert info.unknown == "" and "mysql:/etc/postfix/mysql-mailboxes.cf: a mysql table, which the harness cannot " \
        "read" in info.unknown_reason, "never asked: a look-up would wait for a database that is not there"
    vouched = inspect_config(d, "bob@corp.example")
    assert vouched.recipients == () and "--mta-table PARAM=FILE" in vouched.known_reason, \
        "the node's smtpd could not read the table either: a 4xx there is not the configuration's fault"


def test_a_catch_all_leaves_no_unknown_recipient(tmp_path: Path) -> None:
    d = tmp_path / "catchall"
    shutil.copytree(EXAMPLES / "postfix-distribution", d)
    (d / "virtual").write_text((d / "virtual").read_text() + "@library.example jill@library.example\n"
                               "@library2.example carol@library2.example\n")
    info = inspect_config(d)
    assert info.unknown == "" and "a catch-all" in info.unknown_reason


def test_files_outside_the_folder_come_from_this_host_when_readable(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "mailname").write_text("mail.library.example\n")
    (outside / "cert.pem").write_text("host cert\n")
    (outside / "key.pem").write_text("host key\n")
    d = tmp_path / "cfg"
    shutil.copytree(EXAMPLES / "postfix-debian", d)
    main_cf = (d / "main.cf").read_text().replace("/etc/mailname", f"{outside}/mailname")
    main_cf = main_cf.replace("/etc/ssl/certs/ssl-cert-snakeoil.pem", f"{outside}/cert.pem")
    (d / "main.cf").write_text(main_cf.replace("/etc/ssl/private/ssl-cert-snakeoil.key", f"{outside}/key.pem"))
    info = inspect_config(d)
    files = dict(info.files)
    assert files[f"{outside}/mailname"] == b"mail.library.example\n"
    assert files[f"{outside}/cert.pem"] == b"host cert\n" and files[f"{outside}/key.pem"] == b"host key\n"
    assert f"{outside}/mailname: taken from this host" in info.notes
