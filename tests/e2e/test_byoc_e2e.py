"""Your own configuration in the topology: tables of every indexed kind built, refusals reported in Postfix's words."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from harness import MailTopology
from harness.byoc import topology_for_config
from harness.nodes.postfix import ConfigRefused

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
        assert ok.verdict().delivered_to("jill@library.example")


def test_a_refused_configuration_stops_within_seconds_with_postfixs_words(tmp_path: Path) -> None:
    d = _config(tmp_path, "virtual_alias_maps = hash:/etc/postfix/no_such_table\n")
    spec, _ = topology_for_config(d, "library")
    t0 = time.monotonic()
    with pytest.raises(ConfigRefused) as exc:
        MailTopology(spec).start()
    assert time.monotonic() - t0 < 15
    assert "postmap: fatal: open /etc/postfix/no_such_table: No such file or directory" in str(exc.value)
