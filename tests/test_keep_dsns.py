"""Keeping evidence without Docker (issue 22, item 4): the DSNs a test saw, saved as .eml files named after the test,
never overwritten, linked from the report; and `mailharness run/check` handing --html, --junitxml and --keep-dsns
to pytest and saying where the files went (item 5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import cli
from harness.dsn.lint import lint_bytes
from harness.mail import parse_message
from harness.report import junit_properties, scenario_record, write_html
from harness.report.dsnfiles import MAX_STEM, file_stem, keep_dsns, write_new
from harness.sut.options import UserConfig

from .report.samples import FORWARD_DSN, FWD_DSN_MID, FakeWorld, forward_refused
from .test_config_options import _info

NODEID = "tests/test_mail.py::test_bounce[unknown user/at RCPT]"


def test_a_file_is_named_after_the_test() -> None:
    assert file_stem(NODEID) == "tests_test_mail.py_test_bounce_unknown_user_at_RCPT"
    long_a, long_b = "t.py::test_" + "x" * 300 + "[a]", "t.py::test_" + "x" * 300 + "[b]"
    assert len(file_stem(long_a)) <= MAX_STEM and file_stem(long_a) != file_stem(long_b)


def test_a_file_is_never_overwritten(tmp_path: Path) -> None:
    first = write_new(tmp_path, "t", b"first")
    (tmp_path / "t-2.eml").write_bytes(b"someone else's")
    third = write_new(tmp_path, "t", b"third")
    assert (first.name, third.name) == ("t-1.eml", "t-3.eml")
    assert [p.read_bytes() for p in sorted(tmp_path.iterdir())] == [b"first", b"someone else's", b"third"]


def test_every_dsn_the_stories_show_is_kept_as_delivered(tmp_path: Path) -> None:
    world = FakeWorld([], boxes={"jack@store.example": [FORWARD_DSN]})
    story = forward_refused()
    handed = [("jack@store.example", FWD_DSN_MID, parse_message(FORWARD_DSN.encode()))]  # the same DSN: kept once
    kept = keep_dsns(world, [story], tmp_path / "dsns", NODEID, handed=handed)
    [path] = kept.files
    assert path == tmp_path / "dsns" / "tests_test_mail.py_test_bounce_unknown_user_at_RCPT-1.eml"
    assert path.read_bytes() == FORWARD_DSN.encode() and kept.by_message_id == {FWD_DSN_MID: path}
    assert kept.problems == []
    linted = lint_bytes(path.read_bytes(), path.name, "postfix", delivered=True)
    assert linted.parsed.is_dsn
    again = keep_dsns(world, [story], tmp_path / "dsns", NODEID)  # a second run into the same folder
    assert [p.name for p in again.files] == ["tests_test_mail.py_test_bounce_unknown_user_at_RCPT-2.eml"]


def test_a_dsn_that_cannot_be_read_is_said_never_lost_silently(tmp_path: Path) -> None:
    story = forward_refused()
    gone = keep_dsns(FakeWorld([], boxes={}), [story], tmp_path, NODEID)
    assert gone.files == [] and gone.problems == [
        f"DSN {FWD_DSN_MID} to jack@store.example: not in the mailbox (Message-IDs there: none)"]
    broken = keep_dsns(FakeWorld([], broken_mailboxes=True), [story], tmp_path, NODEID)
    assert broken.problems == [f"DSN {FWD_DSN_MID} to jack@store.example: its mailbox could not be read: "
                               "RuntimeError: container gone"]
    handed = [("jack@store.example", "<gone@x>", parse_message(b"Message-ID: <gone@x>\n\nthe copy the test got\n"))]
    copy = keep_dsns(FakeWorld([], boxes={}), [], tmp_path, "t.py::test_handed", handed=handed)
    assert [p.read_bytes() for p in copy.files] == [b"Message-ID: <gone@x>\n\nthe copy the test got\n"]


def test_the_report_links_each_kept_dsn(tmp_path: Path) -> None:
    kept = tmp_path / "dsns" / "t-1.eml"
    kept.parent.mkdir()
    kept.write_text(FORWARD_DSN)
    record = scenario_record(NODEID, "passed", 0.1, "doc", [forward_refused()])
    [dsn] = record["messages"][0]["dsns"]
    dsn["file"] = str(kept)  # as harness.plugin.keepdsns.link_kept_dsns sets it
    page = write_html([record], tmp_path / "reports" / "mailharness.html").read_text()
    assert 'kept as <a href="../dsns/t-1.eml">t-1.eml</a>' in page
    assert ("mailharness.message.1.dsn.1.file", str(kept)) in junit_properties(record)


# -- mailharness run and check: the places of the reports, said --------------------------------------------------
@pytest.fixture
def pytest_main(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """pytest.main replaced by a recorder that writes the JUnit file it was asked for."""
    seen: list[list[str]] = []

    def run(args: list[str]) -> int:
        seen.append(list(args))
        for a in args:
            if a.startswith("--junitxml="):
                Path(a.split("=", 1)[1]).write_text("<testsuites/>")
        return 0

    monkeypatch.setattr(pytest, "main", run)
    monkeypatch.setattr(UserConfig, "inspect", lambda self: _info())
    return seen


@pytest.mark.parametrize("command", [["run"], ["check", "--example", "postfix-good"]])
def test_run_and_check_write_where_they_are_told_and_say_so(command: list[str], tmp_path: Path,
                                                            pytest_main: list[list[str]],
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    junit, html, dsns = tmp_path / "j.xml", tmp_path / "r.html", tmp_path / "dsns"
    assert cli.main([*command, "--junitxml", str(junit), "--html", str(html), "--keep-dsns", str(dsns)]) == 0
    [args] = pytest_main
    assert {f"--junitxml={junit}", f"--mailharness-html={html}", f"--mailharness-keep-dsns={dsns}"} <= set(args)
    assert f"mailharness: JUnit XML written to {junit}" in capsys.readouterr().out


def test_the_html_report_has_a_default_place_and_no_junit_unless_asked(
        tmp_path: Path, pytest_main: list[list[str]], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli.main(["check", "--example", "postfix-good"]) == 0
    [args] = pytest_main
    assert "--mailharness-html=reports/mailharness.html" in args
    assert not [a for a in args if a.startswith(("--junitxml", "--mailharness-keep-dsns"))]
    assert "JUnit" not in capsys.readouterr().out
