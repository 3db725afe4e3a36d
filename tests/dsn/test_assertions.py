"""assert_dsn lists every mismatch and finding; assertrepr_compare gives a field-by-field diff."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from harness.dsn import DSN, assert_dsn, assertrepr_compare, parse_dsn
from tests.dsn.builder import ENVELOPE, build

PROJECT_ROOT = Path(__file__).resolve().parents[2]

GOOD = build()


def failure(**kwargs: object) -> str:
    with pytest.raises(AssertionError) as exc:
        assert_dsn(**kwargs)  # type: ignore[arg-type]
    return str(exc.value)


def test_matching_dsn_passes_and_is_returned() -> None:
    dsn = assert_dsn(
        GOOD,
        action="failed",
        status="5.1.1",
        reporting_mta="mx.store.example",
        remote_mta="dns; mx.library.example",
        recipient="nobody@library.example",
        original_recipient=None,
        diagnostic_contains=["user", "UNKNOWN", "550"],
        envelope=ENVELOPE,
    )
    assert isinstance(dsn, DSN)
    assert_dsn(GOOD, status="5")  # a prefix of components
    assert_dsn(GOOD, status=["5.2.3", "5.1.1"])  # one of several


def test_every_mismatch_is_listed() -> None:
    text = failure(
        dsn_or_message=GOOD,
        action="delivered",
        status="4.2.2",
        reporting_mta="mx.library.example",
        remote_mta=None,
        original_recipient="jill@library.example",
        diagnostic_contains="quota",
    )
    for expected in (
        "Action expected 'delivered', got 'failed'",
        "Status expected '4.2.2', got '5.1.1'",
        "Reporting-MTA expected 'mx.library.example', got 'dns; mx.store.example'",
        "Remote-MTA expected absent, got 'dns; mx.library.example'",
        "Original-Recipient expected 'jill@library.example', got None",
        "Diagnostic-Code expected to contain ['quota']",
    ):
        assert expected in text, text
    assert "6 mismatch(es)" in text


def test_every_error_and_warning_is_listed_but_warnings_do_not_fail() -> None:
    raw = build(
        per_message={"Reporting-MTA": None}, recipient={"Status": "5.01.1"}, headers={"From": "jack@store.example"}
    )
    text = failure(dsn_or_message=raw, action="failed")
    assert "S-2 error" in text and "R-4 error" in text and "H-1 warning" in text
    assert "0 mismatch(es), 2 error(s), 1 warning(s)" in text
    assert_dsn(build(headers={"From": "jack@store.example"}), action="failed")  # only a warning: passes


def test_allow_rules_and_profile() -> None:
    raw = build(per_message={"Reporting-MTA": None})
    assert_dsn(raw, allow_rules=["S-2"])
    assert_dsn(build(recipient={"Ction": "x"}), profile="postfix")  # R-9 is a warning outside strict
    with pytest.raises(AssertionError, match="R-9 error"):
        assert_dsn(build(recipient={"Ction": "x"}))


def test_unknown_recipient_and_not_a_dsn() -> None:
    assert "recipient 'jill@library.example' not in the DSN (recipients: nobody@library.example)" in failure(
        dsn_or_message=GOOD, recipient="jill@library.example"
    )
    assert "not a DSN (ordinary)" in failure(dsn_or_message=b"From: a@b\n\nhello\n")


def test_accepts_path_and_parsed(tmp_path: Path) -> None:
    p = tmp_path / "d.eml"
    p.write_bytes(GOOD)
    assert_dsn(p, status="5.1.1")
    assert_dsn(parse_dsn(GOOD), status="5.1.1")


def test_assertrepr_compare_two_dsns() -> None:
    a = parse_dsn(GOOD)
    b = parse_dsn(build(recipient={"Status": "5.2.2"}))
    assert isinstance(a, DSN) and isinstance(b, DSN)
    lines = assertrepr_compare("==", a, b)
    assert lines is not None and lines[0].startswith("DSN == DSN")
    assert "  recipients[0].status: '5.1.1' != '5.2.2'" in lines
    assert not any("action" in line for line in lines)
    assert assertrepr_compare("==", a, dataclasses.replace(a)) is not None
    assert assertrepr_compare("!=", a, b) is None
    assert assertrepr_compare("==", 1, 2) is None


def test_assertrepr_compare_dsn_with_dict() -> None:
    dsn = parse_dsn(GOOD)
    lines = assertrepr_compare("==", dsn, {"action": "delivered", "status": "5.1.1", "reporting_mta": "x"})
    assert lines is not None
    assert "  recipients[0].action: expected 'delivered', got 'failed' [!=]" in lines
    assert "  recipients[0].status: expected '5.1.1', got '5.1.1' [ok]" in lines
    assert "  reporting_mta: expected 'x', got 'mx.store.example' [!=]" in lines
    assert assertrepr_compare("==", {"action": "failed"}, dsn) is not None


def test_hook_output_in_a_pytest_run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", str(PROJECT_ROOT))
    pytester.makeconftest(
        "from harness.dsn.assertions import assertrepr_compare\n"
        "def pytest_assertrepr_compare(op, left, right):\n"
        "    return assertrepr_compare(op, left, right)\n"
    )
    pytester.makepyfile(
        test_x=f"from harness.dsn import parse_dsn\n"
        f"def test_it():\n"
        f"    assert parse_dsn({GOOD!r}) == {{'action': 'delivered'}}\n"
    )
    result = pytester.runpytest_subprocess()
    result.stdout.fnmatch_lines(["*recipients[[]0[]].action: expected 'delivered', got 'failed' [[]!=[]]*"])
