"""The Exim node's log follower (containers/exim/mh-run.py), on files in a temporary folder: whole lines only, in
order, each after its log's name, a file replaced or truncated read from its start, and the log barrier's token
after every line written before it."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "containers" / "exim" / "mh-run.py"


@pytest.fixture
def mh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    spec = importlib.util.spec_from_file_location("mh_run", SCRIPT)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    monkeypatch.setattr(mod, "LOGS", str(tmp_path))
    return mod


def _append(path: Path, data: bytes) -> None:
    with open(path, "ab") as fh:
        fh.write(data)


def test_whole_lines_in_order_after_the_logs_name(mh: ModuleType, tmp_path: Path) -> None:
    main = mh.Followed("mainlog", b"exim-main: ")
    assert main.lines() == []  # not there yet: read once it is
    _append(tmp_path / "mainlog", b"one\ntwo\nthr")
    assert main.lines() == [b"one", b"two"]
    assert main.lines() == []  # the unfinished line waits for its newline
    _append(tmp_path / "mainlog", b"ee\n")
    assert main.lines() == [b"three"]


def test_a_truncated_or_replaced_file_is_read_from_its_start(mh: ModuleType, tmp_path: Path) -> None:
    log = tmp_path / "paniclog"
    panic = mh.Followed("paniclog", b"exim-panic: ")
    _append(log, b"a\nb\n")
    assert panic.lines() == [b"a", b"b"]
    log.write_bytes(b"c\n")
    assert panic.lines() == [b"c"]
    _append(log, b"d\n")
    new = tmp_path / "paniclog.new"
    new.write_bytes(b"e\n")
    os.replace(new, log)  # the old file's rest first, then the new one
    assert panic.lines() == [b"d", b"e"]


def test_the_token_comes_after_every_line_written_before_it(mh: ModuleType, tmp_path: Path) -> None:
    followed = [mh.Followed(name, prefix) for name, prefix in mh.FILES]
    sync = mh.Followed(mh.SYNC, b"")
    for f in ("mainlog", "rejectlog", "paniclog", "stderr", mh.SYNC):
        (tmp_path / f).write_bytes(b"")
    _append(tmp_path / "rejectlog", b"rejected RCPT\n")
    _append(tmp_path / "mainlog", b"<= arrival\n")
    _append(tmp_path / mh.SYNC, b"tok1\n")
    _append(tmp_path / "mainlog", b"=> delivery\n")  # after the token: may come before it or after, never lost
    out = mh.pump(followed, sync)
    assert out == [b"exim-main: <= arrival", b"exim-main: => delivery", b"exim-reject: rejected RCPT",
                   b"mailharness-sync: tok1"]
    assert mh.pump(followed, sync) == []


def test_writes_end_at_a_line_and_stay_under_pipe_buf(mh: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    writes: list[bytes] = []
    monkeypatch.setattr(mh, "_write", writes.append)
    mh.write_out([b"x" * 3000, b"y" * 3000, b"z" * 5000, b"w"])
    assert writes == [b"x" * 3000 + b"\n", b"y" * 3000 + b"\n", b"z" * 5000 + b"\n", b"w\n"]
    assert all(w.endswith(b"\n") for w in writes)
