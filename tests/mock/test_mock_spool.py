"""The spool: written by the server, read back into the same records."""

from __future__ import annotations

import io
import json
import re
import smtplib
import socket
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.mock import MockSMTP, Script, SpoolWriter, read_spool, rule, step

from .smtp_client import send

StartMock = Callable[..., MockSMTP]


def _traffic(mock: MockSMTP) -> None:
    send(mock, "a@s.example", "b@r.example", "c@r.example")
    send(mock, "", "bounce@r.example")
    with pytest.raises(smtplib.SMTPServerDisconnected):
        send(mock, "d@s.example", "e@r.example")  # the eod rule disconnects this one
    mock.wait_for_sessions(3)


def _tar(directory: Path, prefix: str, gz: bool) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz" if gz else "w") as tar:
        tar.add(directory, arcname=prefix)
    return buf.getvalue()


@pytest.fixture
def spooled(start_mock: StartMock, tmp_path: Path) -> tuple[MockSMTP, Path]:
    spool = tmp_path / "spool"
    script = Script().add(
        rule("rcpt", "550 5.1.1 no", match="c@*"),
        rule("eod", step(action="disconnect"), match="e@*"),
    )
    mock = start_mock(script, spool=spool)
    _traffic(mock)
    return mock, spool


def test_spool_layout(spooled: tuple[MockSMTP, Path]) -> None:
    _, spool = spooled
    assert sorted(p.name for p in (spool / "sessions").iterdir()) == ["000001.json", "000002.json", "000003.json"]
    assert sorted(p.name for p in (spool / "messages").iterdir()) == [
        "000001-001.eml",
        "000001-001.json",
        "000002-001.eml",
        "000002-001.json",
        "000003-001.eml",
        "000003-001.json",
    ]
    meta = json.loads((spool / "messages" / "000001-001.json").read_text())
    assert meta["rcpts"][1] == {"address": "c@r.example", "params": {}, "reply": "550 5.1.1 no"}
    assert meta["size"] == len((spool / "messages" / "000001-001.eml").read_bytes())


def test_spool_reads_back_equal_from_directory(spooled: tuple[MockSMTP, Path]) -> None:
    mock, spool = spooled
    back = read_spool(spool)
    assert back.sessions == mock.sessions
    assert back.messages == mock.messages
    assert back.message("2-1").mail_from == "" and back.message("3-1").eod_reply is None
    assert back.session(1).end_reason == "quit"


@pytest.mark.parametrize(("prefix", "gz"), [("spool", False), ("./var/spool/mock", True), (".", False)])
def test_spool_reads_back_equal_from_tar_bytes(spooled: tuple[MockSMTP, Path], prefix: str, gz: bool) -> None:
    mock, spool = spooled
    back = read_spool(_tar(spool, prefix, gz))
    assert back.sessions == mock.sessions and back.messages == mock.messages


def test_spool_reads_tar_file_path(spooled: tuple[MockSMTP, Path], tmp_path: Path) -> None:
    mock, spool = spooled
    path = tmp_path / "spool.tar"
    path.write_bytes(_tar(spool, "mock", False))
    assert read_spool(path).messages == mock.messages


def test_incomplete_message_and_temp_files_are_ignored(spooled: tuple[MockSMTP, Path]) -> None:
    mock, spool = spooled
    (spool / "messages" / "000009-001.eml").write_bytes(b"Subject: half written\r\n")
    (spool / "sessions" / ".tmp-abc.part").write_text("{")
    assert read_spool(spool).messages == mock.messages


def test_numbering_continues_after_restart(start_mock: StartMock, spooled: tuple[MockSMTP, Path]) -> None:
    first, spool = spooled
    first.stop()
    assert SpoolWriter(spool).next_session_id() == 4
    second = start_mock(spool=spool)
    send(second, "x@s.example", "y@r.example")
    second.wait_for_sessions(1)
    assert second.sessions[0].id == 4
    back = read_spool(spool)
    assert [s.id for s in back.sessions] == [1, 2, 3, 4]
    assert back.messages[-1].id == "4-1" and back.messages[-1].mail_from == "x@s.example"


def test_missing_spool_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_spool(tmp_path / "nope")


def test_undecodable_address_bytes_survive_the_spool(start_mock: StartMock, tmp_path: Path) -> None:
    mock = start_mock(spool=tmp_path)
    with socket.create_connection(("127.0.0.1", mock.port), timeout=5) as s:
        f = s.makefile("rb")
        s.sendall(b"EHLO c.example\r\nMAIL FROM:<\xff\xfe@s.example>\r\nRCPT TO:<b@r.example>\r\nDATA\r\n"
                  b"Subject: x\r\n\r\ny\r\n.\r\nQUIT\r\n")
        while not f.readline().startswith(b"221"):
            pass
        f.close()
    (msg,) = mock.wait_for_messages(1)
    mock.wait_for_sessions(1)
    assert msg.mail_from == "\udcff\udcfe@s.example"  # surrogate escapes keep the original bytes
    back = read_spool(tmp_path)
    assert back.messages == mock.messages and back.sessions == mock.sessions


def test_a_message_is_in_the_spool_before_its_line_is_logged(start_mock: StartMock, tmp_path: Path) -> None:
    """MockNode.wait_for_messages waits on the line, then reads the spool: the spool must already hold the message
    when its line is said (it did not, under load, when the line came first)."""
    spool = tmp_path / "spool"
    found: list[tuple[str, int]] = []

    def log(line: str) -> None:
        if re.match(r"session \d+ message \d+-\d+ from ", line):
            found.append((line, len(read_spool(spool).messages)))

    mock = start_mock(Script(), spool=spool, log=log)
    send(mock, "a@s.example", "b@r.example")
    send(mock, "c@s.example", "d@r.example")
    mock.wait_for_sessions(2)
    assert [n for _, n in found] == [1, 2], found
