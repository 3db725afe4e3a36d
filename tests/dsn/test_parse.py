"""parse_dsn: input forms, line endings, folding, comments, case, RFC 6533 types, and what is not a DSN."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest

from harness.dsn import DSN, NotADSN, NotADSNError, load_dsn, parse_dsn, validate
from harness.dsn.summary import recipient_dict
from tests.dsn.builder import build


def dsn_of(raw: bytes | str | Path) -> DSN:
    result = parse_dsn(raw)
    assert isinstance(result, DSN), getattr(result, "reason", result)
    return result


def test_fields_of_the_default_dsn() -> None:
    dsn = dsn_of(build())
    assert dsn.reporting_mta == "mx.store.example"
    assert dsn.per_message.reporting_mta is not None and dsn.per_message.reporting_mta.type == "dns"
    assert dsn.per_message.arrival_date is not None and dsn.per_message.arrival_date.parsed is not None
    [r] = dsn.recipients
    assert (r.address, r.action, r.status) == ("nobody@library.example", "failed", "5.1.1")
    assert r.remote_mta is not None and r.remote_mta.value == "mx.library.example"
    assert r.diagnostic_code is not None and r.diagnostic_code.type == "smtp"
    assert r.diagnostic_code.value.startswith("550 5.1.1 <nobody@library.example>")
    assert r.last_attempt_date is not None and r.last_attempt_date.numeric_zone
    assert [p.content_type for p in dsn.parts] == ["text/plain", "message/delivery-status", "message/rfc822"]
    assert dsn.returned is not None and dsn.returned.kind == "message" and dsn.returned.has_body
    assert dsn.returned.header("subject") == "S1 unknown user"
    assert dsn.header("to") == "jack@store.example"


@pytest.mark.parametrize("newline,style", [("\n", "LF"), ("\r\n", "CRLF"), ("\r", "CR")])
def test_line_endings(newline: str, style: str) -> None:
    dsn = dsn_of(build(newline=newline))
    assert dsn.line_endings == style
    assert [(r.address, r.action, r.status) for r in dsn.recipients] == [("nobody@library.example", "failed", "5.1.1")]
    assert validate(dsn) == validate(dsn_of(build()))


def test_input_forms_agree(tmp_path: Path) -> None:
    raw = build()
    path = tmp_path / "bounce.eml"
    path.write_bytes(raw)
    forms: list[object] = [
        raw,
        bytearray(raw),
        raw.decode(),
        path,
        str(path),
        email.message_from_bytes(raw),
        email.message_from_bytes(raw, policy=email.policy.default),
    ]
    expected = [recipient_dict(r) for r in dsn_of(raw).recipients]
    for form in forms:
        result = parse_dsn(form)  # type: ignore[arg-type]
        assert isinstance(result, DSN), (type(form), result)
        # a Message object is serialised again by the stdlib: same fields, line numbers may differ
        assert [recipient_dict(r) for r in result.recipients] == expected, type(form)
    assert dsn_of(path).source == str(path)


def test_folding_comments_and_case() -> None:
    status = (
        "reporting-mta: DNS (our host);\n  mx.store.example\n\n"
        "FINAL-RECIPIENT: RFC822;\n\tNobody@Library.Example\n"
        "action: Failed (gave up)\n"
        "STATUS: 5.1.1 (user unknown)\n"
        "remote-mta: dns;\n mx.library.example\n"
        "diagnostic-code: SMTP; 550 5.1.1 line one\n   line two\n"
    )
    dsn = dsn_of(build(status_text=status))
    [r] = dsn.recipients
    assert dsn.per_message.reporting_mta is not None
    assert (dsn.per_message.reporting_mta.type, dsn.reporting_mta) == ("dns", "mx.store.example")
    assert r.final_recipient is not None and r.final_recipient.type == "rfc822"
    assert r.address == "Nobody@Library.Example"
    assert (r.action, r.status, r.status_comment) == ("failed", "5.1.1", "user unknown")
    assert r.diagnostic_code is not None and r.diagnostic_code.value == "550 5.1.1 line one line two"
    assert dsn.recipient("nobody@library.example") is r


def test_x_fields_and_final_log_id() -> None:
    dsn = dsn_of(
        build(per_message={"X-Queue-ID": "Q1"}, recipient={"X-Actual-Recipient": "rfc822; a@b", "Final-Log-ID": "L1"})
    )
    [r] = dsn.recipients
    assert [f.name for f in dsn.per_message.extensions] == ["X-Queue-ID"]
    assert r.extension("x-actual-recipient") == "rfc822; a@b"
    assert r.final_log_id == "L1"


def test_global_types_are_read() -> None:
    raw = build(
        status_type="message/global-delivery-status",
        report_type="global-delivery-status",
        returned="headers",
        returned_type="message/global-headers",
        recipient={"Final-Recipient": "utf-8; j\u00f6rg@library.example"},
    )
    dsn = dsn_of(raw)
    assert dsn.is_global and dsn.recipients[0].address == "j\u00f6rg@library.example"
    assert dsn.returned is not None and dsn.returned.kind == "headers"
    assert not [f for f in validate(dsn) if f.rule in ("M-2", "M-4", "M-5", "U-2")]
    full = dsn_of(build(status_type="message/global-delivery-status", returned_type="message/global"))
    assert full.returned is not None and full.returned.kind == "message"


def test_base64_status_part_is_decoded() -> None:
    dsn = dsn_of(build(status_cte="base64"))
    assert dsn.status_part is not None and dsn.status_part.transfer_encoding == "base64"
    assert dsn.recipients[0].status == "5.1.1"


def test_two_part_report_and_headers_only() -> None:
    assert dsn_of(build(returned=None)).returned is None
    headers = dsn_of(build(returned="headers")).returned
    assert headers is not None and headers.kind == "headers" and not headers.has_body


def test_several_recipients() -> None:
    raw = build(recipients=[{}, {"Final-Recipient": "rfc822; b@library.example", "Status": "5.2.2"}])
    assert [(r.address, r.status) for r in dsn_of(raw).recipients] == [
        ("nobody@library.example", "5.1.1"),
        ("b@library.example", "5.2.2"),
    ]


QMAIL = b"""From: MAILER-DAEMON@mx.example.jp
Subject: failure notice
To: jack@store.example

Hi. This is the qmail-send program at mx.example.jp.
I'm afraid I wasn't able to deliver your message to the following addresses.
"""
VACATION = b"""From: jill@library.example
To: jack@store.example
Subject: Out of Office: hello
Auto-Submitted: auto-replied

I am away.
"""
ARF = b"""From: abuse@isp.example
To: abuse@store.example
Subject: report
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="b"

--b
Content-Type: text/plain

This is an abuse report.
--b
Content-Type: message/feedback-report

Feedback-Type: abuse
--b--
"""
ORDINARY = b"From: jack@store.example\nTo: jill@library.example\nSubject: lunch?\n\nAt noon?\n"


@pytest.mark.parametrize(
    "raw,kind",
    [
        (b"", "empty"),
        (b"\n\r\n  \n", "empty"),
        (QMAIL, "plain-text-bounce"),
        (VACATION, "auto-reply"),
        (ARF, "feedback-report"),
        (ORDINARY, "ordinary"),
        (b"\x00\xff garbage without any header", "ordinary"),
        (build(report_type="disposition-notification", status_type="message/disposition-notification"), "other-report"),
    ],
)
def test_not_a_dsn(raw: bytes, kind: str) -> None:
    result = parse_dsn(raw)
    assert isinstance(result, NotADSN)
    assert result.kind == kind and result.reason and not result.is_dsn
    assert validate(result) == ()
    with pytest.raises(NotADSNError, match=kind):
        load_dsn(raw)


def test_declared_dsn_without_status_part_is_an_m3_error() -> None:
    raw = build().replace(b"Content-Type: message/delivery-status", b"Content-Type: text/plain")
    result = parse_dsn(raw)
    assert isinstance(result, NotADSN) and result.kind == "broken-dsn" and result.declared_dsn
    [finding] = validate(result, "lenient")
    assert (finding.rule, finding.level) == ("M-3", "error")


def test_unsupported_argument_type() -> None:
    with pytest.raises(TypeError):
        parse_dsn(42)  # type: ignore[arg-type]


def test_missing_file_raises_oserror(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        parse_dsn(tmp_path / "nope.eml")
