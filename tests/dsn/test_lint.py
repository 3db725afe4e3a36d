"""dsn-lint: readable and JSON output, exit codes 0/1/2, standard input."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.dsn.lint import main
from tests.dsn.builder import build

PROJECT_ROOT = Path(__file__).resolve().parents[2]

GOOD = build(recipient={"^Original-Recipient": None})
BAD = build(per_message={"Reporting-MTA": None}, recipient={"Status": "5.01.1"})
NOT_DSN = b"From: jill@library.example\nSubject: Out of Office\nAuto-Submitted: auto-replied\n\nAway.\n"


def run(argv: list[str], stdin: bytes = b"") -> tuple[int, str]:
    out = io.StringIO()
    code = main(argv, stdin=io.BytesIO(stdin), stdout=out)
    return code, out.getvalue()


@pytest.fixture()
def files(tmp_path: Path) -> dict[str, str]:
    paths = {}
    for name, raw in (("good", GOOD), ("bad", BAD), ("notdsn", NOT_DSN)):
        p = tmp_path / f"{name}.eml"
        p.write_bytes(raw)
        paths[name] = str(p)
    return paths


def test_clean_file_exits_0(files: dict[str, str]) -> None:
    code, out = run([files["good"]])
    assert code == 0
    assert "DSN from mx.store.example - clean [strict]" in out
    assert "nobody@library.example: failed 5.1.1 via mx.library.example" in out


def test_error_exits_1_and_names_rules(files: dict[str, str]) -> None:
    code, out = run([files["good"], files["bad"]])
    assert code == 1
    assert "S-2 error (RFC 3464 s2.2.2, s3; RFC 3461 s6.3): Reporting-MTA missing" in out
    assert "R-4 error" in out


def test_not_a_dsn_is_reported_with_its_reason_and_is_no_error(files: dict[str, str]) -> None:
    code, out = run([files["notdsn"]])
    assert code == 0
    assert "not a DSN (auto-reply)" in out


def test_unreadable_input_exits_2_even_with_errors(files: dict[str, str], tmp_path: Path) -> None:
    code, _ = run([files["bad"], str(tmp_path / "missing.eml"), files["good"]])
    assert code == 2
    code, _ = run([str(tmp_path)])  # a directory cannot be read as a message
    assert code == 2


def test_json_shape(files: dict[str, str]) -> None:
    code, out = run(["--json", "--profile", "lenient", files["good"], files["bad"], files["notdsn"]])
    assert code == 0  # nothing here makes a DSN unusable: lenient has warnings only
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == 3
    good, bad, notdsn = lines
    assert set(good) >= {"file", "is_dsn", "profile", "reporting_mta", "recipients", "findings"}
    assert good["is_dsn"] is True and good["profile"] == "lenient" and good["reporting_mta"] == "mx.store.example"
    assert good["recipients"] == [
        {
            "final_recipient": "nobody@library.example",
            "original_recipient": None,
            "action": "failed",
            "status": "5.1.1",
            "remote_mta": "mx.library.example",
            "diagnostic_code": "550 5.1.1 <nobody@library.example>: Recipient address rejected: User unknown",
        }
    ]
    assert good["findings"] == []
    assert {f["rule"] for f in bad["findings"]} >= {"S-2", "R-4"}
    assert all(set(f) >= {"rule", "level", "message"} for f in bad["findings"])
    assert notdsn["is_dsn"] is False and notdsn["reason"] and notdsn["recipients"] == []


def test_lenient_has_no_error_for_a_usable_dsn(files: dict[str, str]) -> None:
    code, out = run(["--json", "--profile", "lenient", files["bad"]])
    assert code == 0, out
    assert {f["level"] for f in json.loads(out)["findings"]} == {"warning"}


def test_action_lower_case_and_address_without_type(tmp_path: Path) -> None:
    p = tmp_path / "x.eml"
    p.write_bytes(build(recipient={"Action": "FAILED", "Final-Recipient": "RFC822;Nobody@Library.Example"}))
    _, out = run(["--json", str(p)])
    [rec] = json.loads(out)["recipients"]
    assert (rec["action"], rec["final_recipient"]) == ("failed", "Nobody@Library.Example")


def test_stdin(files: dict[str, str]) -> None:
    code, out = run(["--json", "-"], stdin=BAD)
    assert code == 1 and json.loads(out)["file"] == "<stdin>"


def test_delivered_checks_return_path(tmp_path: Path) -> None:
    p = tmp_path / "x.eml"
    p.write_bytes(build(headers={"Return-Path": "<mailer-daemon@store.example>"}))
    code, out = run(["--delivered", str(p)])
    assert code == 1 and "ENV-1 error" in out
    assert run([str(p)])[0] == 0


def test_usage_error_exits_2() -> None:
    with pytest.raises(SystemExit) as exc:
        run(["--profile", "nonsense", "x"])
    assert exc.value.code == 2


def test_cli_in_a_subprocess_reads_stdin() -> None:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run(
        [sys.executable, "-m", "harness.dsn.lint", "--json", "-"],
        input=GOOD,
        capture_output=True,
        env=env,
        cwd=PROJECT_ROOT,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert json.loads(proc.stdout)["recipients"][0]["status"] == "5.1.1"
