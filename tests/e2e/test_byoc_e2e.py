"""Your own configuration in the topology: tables of every indexed kind built, refusals reported in Postfix's words."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from harness import MailTopology
from harness.mta.base import ConfigRefused
from harness.sut.byoc import topology_for_config

GOOD = Path(__file__).resolve().parents[2] / "examples" / "postfix-good"


def _config(tmp_path: Path, extra: str = "", **files: str) -> Path:
    d = tmp_path / "cfg"
    shutil.copytree(GOOD, d)
    (d / "main.cf").write_text((d / "main.cf").read_text() + extra)
    for name, text in files.items():
        (d / name.replace("_", ".")).write_text(text)
    return d


def test_lmdb_and_pcre_tables_work(tmp_path: Path) -> None:
    d = _config(tmp_path, "local_recipient_maps = lmdb:/etc/postfix/local_recipients $alias_maps\n"
                          "smtpd_recipient_restrictions = check_recipient_access pcre:/etc/postfix/trap.pcre\n",
                trap_pcre="/^spam-trap@/ REJECT 5.7.1 spam trap\n")
    spec, _ = topology_for_config(d, "library")
    with MailTopology(spec) as world:
        trap = world.send("jack@store.example", "spam-trap@library.example", via="library")
        assert [(r.code, r.enhanced) for r in trap.transcript.rcpt_replies] == [(554, "5.7.1")]
        ok = world.send("jack@store.example", "jill@library.example", via="library")
        assert ok.accepted
        ok.verdict().assert_delivered_to("jill@library.example")


def test_a_refused_configuration_stops_within_seconds_with_postfixs_words(tmp_path: Path) -> None:
    d = _config(tmp_path, "virtual_alias_maps = hash:/etc/postfix/no_such_table\n")
    spec, _ = topology_for_config(d, "library")
    t0 = time.monotonic()
    with pytest.raises(ConfigRefused) as exc:
        MailTopology(spec).start()
    assert time.monotonic() - t0 < 15
    assert "postmap: fatal: open /etc/postfix/no_such_table: No such file or directory" in str(exc.value)


BASE_CF = """compatibility_level = 3.6
myhostname = mx.library.example
mydomain = library.example
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
"""
LOCAL_CF = BASE_CF + """mydestination = $myhostname, $mydomain, localhost
alias_maps = hash:/etc/postfix/aliases
"""
VIRTUAL_CF = BASE_CF + """mydestination = localhost
virtual_mailbox_domains = library.example
virtual_mailbox_base = /var/vmail
virtual_mailbox_maps = texthash:/etc/postfix/vmailbox
virtual_uid_maps = static:5000
virtual_gid_maps = static:5000
"""


@pytest.mark.parametrize(("main_cf", "rcpt", "where"), [
    (LOCAL_CF, "alice@library.example", "/var/mail/alice"),  # mbox in mail_spool_directory (Debian's default)
    (LOCAL_CF + "home_mailbox = Maildir/\n", "alice@library.example", "/home/alice/Maildir/new/*"),
    (LOCAL_CF + "home_mailbox = Mailbox\n", "alice@library.example", "/home/alice/Mailbox"),
    (VIRTUAL_CF, "bob@library.example", "/var/vmail/library.example/bob"),  # virtual(8), an mbox file
    (VIRTUAL_CF, "jill@library.example", "/var/vmail/library.example/jill/new/*"),  # virtual(8), a Maildir
    # LMTP to Dovecot (a real one in the node), as distributions configure it
    (VIRTUAL_CF + "virtual_transport = lmtp:unix:private/dovecot-lmtp\n", "jill@library.example",
     "/var/mail/.mh-dovecot/library.example/jill/Maildir/new/*"),
], ids=["spool-mbox", "home-maildir", "home-mbox", "virtual-mbox", "virtual-maildir", "dovecot-lmtp"])
def test_mail_lands_where_the_configuration_says(tmp_path: Path, main_cf: str, rcpt: str, where: str) -> None:
    d = tmp_path / "cfg"
    d.mkdir()
    (d / "main.cf").write_text(main_cf)
    (d / "aliases").write_text("postmaster: alice\n")
    (d / "vmailbox").write_text("jill@library.example library.example/jill/\nbob@library.example library.example/bob\n")
    spec, info = topology_for_config(d, "library", recipient=rcpt if "alice" in rcpt else "")
    assert rcpt in info.recipients
    with MailTopology(spec) as world:
        sent = world.send("jack@store.example", rcpt, via="library", subject="where does it land")
        story = sent.verdict()
        if "lmtp" in main_cf:  # an LMTP hand-over is a relay in Postfix's log; the file below shows the delivery
            assert any(h.kind == "relayed" and "Saved" in h.detail for h in story.hops), story.render()
        else:
            story.assert_delivered_to(rcpt)
        out = world.node("library").exec(["sh", "-c", f"cat {where}"]).decode()
        assert "Subject: where does it land" in out
