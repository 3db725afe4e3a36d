"""Every checkable rule: at least one DSN that passes it and one that fails it (mutations of a compliant DSN)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from harness.dsn import RULES, DsnEnvelope, OriginalEnvelope, RecipientParams, parse_dsn, validate
from harness.dsn.catalog import render_markdown
from tests.dsn.builder import DSN_ENVELOPE, ENVELOPE, RETURNED_HEADERS, build

ORCPT_ENV = OriginalEnvelope(
    mail_from="jack@store.example",
    recipients=(RecipientParams("nobody@library.example", orcpt="rfc822;nobody@library.example"),),
)
WITH_ORIGINAL = {"Original-Recipient": "rfc822;nobody@library.example"}
ORIG_FIRST = {"^Original-Recipient": "rfc822;nobody@library.example"}
DELIVERED = {"Action": "delivered", "Status": "2.0.0", "Remote-MTA": None, "Diagnostic-Code": None}
DELAYED = {"Action": "delayed", "Status": "4.4.1", "Will-Retry-Until": "Mon, 30 Nov 2026 12:43:39 +0000"}
REPLY = "550 5.1.1 <nobody@library.example>: Recipient address rejected: User unknown"


def env(**changes: Any) -> OriginalEnvelope:
    return dataclasses.replace(ENVELOPE, **changes)


def notify(*keywords: str) -> OriginalEnvelope:
    return env(recipients=(RecipientParams("nobody@library.example", notify=frozenset(keywords)),))


@dataclass(frozen=True)
class Case:
    rule: str
    fails: bool
    name: str
    dsn: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    level: str | None = None  # the expected level of the finding (strict), when it fails

    @property
    def id(self) -> str:
        return f"{self.rule}-{'fail' if self.fails else 'pass'}-{self.name}"


def ok(rule: str, name: str, dsn: dict[str, Any] | None = None, **context: Any) -> Case:
    return Case(rule, False, name, dsn or {}, context)


def bad(rule: str, name: str, dsn: dict[str, Any] | None = None, level: str = "error", **context: Any) -> Case:
    return Case(rule, True, name, dsn or {}, context, level)


CASES = [
    # M: MIME structure
    ok("M-1", "multipart-report"),
    bad("M-1", "multipart-mixed", {"top_type": "multipart/mixed", "report_type": None}),
    ok("M-2", "case-insensitive", {"report_type": "Delivery-Status"}),
    bad("M-2", "missing", {"report_type": None}),
    bad("M-2", "other", {"report_type": "disposition-notification"}),
    ok("M-3", "two-parts", {"returned": None}),
    bad("M-3", "status-first", {"order": (1, 0, 2)}),
    bad("M-3", "four-parts", {"extra_part": "Content-Type: text/plain\n\nmore\n"}),
    ok("M-4", "7bit-label", {"status_cte": "7bit"}),
    bad("M-4", "base64", {"status_cte": "base64"}),
    bad("M-4", "8bit-octets", {"recipient": {"Diagnostic-Code": "smtp; 550 5.1.1 caf\u00e9 unknown"}}),
    ok("M-5", "headers", {"returned": "headers"}),
    bad("M-5", "octet-stream", {"returned_type": "application/octet-stream"}),
    bad("M-5", "headers-as-rfc822", {"returned": "headers", "returned_type": "message/rfc822"}, level="warning"),
    # S: per-message
    ok("S-1", "blocks"),
    bad("S-1", "no-blank-line", {"merge_blocks": True}),
    bad("S-1", "duplicate-reporting-mta", {"per_message": {"Reporting-MTA#2": "dns; other.example"}}),
    bad("S-1", "no-recipient", {"status_text": "Reporting-MTA: dns; mx.store.example\n"}),
    bad("S-1", "junk-line", {"per_message": {"Arrival-Date": "Sun, 29 Nov 2026 12:43:39 +0000\nthis is no field"}}),
    ok("S-2", "folded-and-comment", {"per_message": {"Reporting-MTA": "DNS (the MTA);\n mx.store.example"}}),
    bad("S-2", "missing", {"per_message": {"Reporting-MTA": None}}),
    bad("S-2", "dsn-typo", {"per_message": {"Reporting-MTA": "dsn; mx.store.example"}}),
    bad("S-2", "address-literal", {"per_message": {"Reporting-MTA": "dns; [192.0.2.1]"}}),
    ok("S-3", "envid-echoed", {"per_message": {"Original-Envelope-Id": "ABC+1"}}, envelope=env(envid="ABC+2B1")),
    ok("S-3", "no-envid"),
    bad("S-3", "not-decoded", {"per_message": {"Original-Envelope-Id": "ABC+2B1"}}, envelope=env(envid="ABC+2B1")),
    bad("S-3", "missing", {}, envelope=env(envid="ABC")),
    bad("S-3", "without-envid", {"per_message": {"Original-Envelope-Id": "ABC"}}),
    ok("S-4", "no-gateway"),
    bad("S-4", "gateway", {"per_message": {"DSN-Gateway": "dns; gw.store.example"}}),
    ok("S-5", "zone-with-comment", {"per_message": {"Arrival-Date": "Sun, 29 Nov 2026 12:43:39 +0000 (UTC)"}}),
    bad("S-5", "named-zone", {"per_message": {"Arrival-Date": "Sun, 29 Nov 2026 12:43:39 GMT"}}),
    bad("S-5", "not-a-date", {"recipient": {"Last-Attempt-Date": "yesterday"}}),
    # R: per-recipient
    ok("R-1", "upper-case-type", {"recipient": {"Final-Recipient": "RFC822; nobody@library.example"}}),
    bad("R-1", "missing", {"recipient": {"Final-Recipient": None}}),
    bad("R-1", "angle-brackets", {"recipient": {"Final-Recipient": "rfc822; <nobody@library.example>"}}),
    bad("R-1", "no-type", {"recipient": {"Final-Recipient": "nobody@library.example"}}),
    ok("R-2", "orcpt-echoed", {"recipient": ORIG_FIRST}, envelope=ORCPT_ENV),
    ok("R-2", "no-orcpt-none-written"),
    bad("R-2", "written-without-orcpt", {"recipient": WITH_ORIGINAL}),
    bad("R-2", "missing", {}, envelope=ORCPT_ENV),
    ok("R-3", "any-case", {"recipient": {"Action": "FAILED"}}),
    bad("R-3", "expired", {"recipient": {"Action": "expired"}}),
    bad("R-3", "missing", {"recipient": {"Action": None}}),
    ok("R-4", "with-comment", {"recipient": {"Status": "5.1.1 (unknown user)"}}),
    bad("R-4", "leading-zero", {"recipient": {"Status": "5.01.1"}}),
    bad("R-4", "class-3", {"recipient": {"Status": "3.1.1"}}),
    bad("R-4", "empty", {"recipient": {"Status": ""}}),
    bad("R-4", "four-digits", {"recipient": {"Status": "5.1.1000"}}),
    ok("R-5", "failed-with-4", {"recipient": {"Status": "4.4.7", "Diagnostic-Code": "smtp; 451 4.4.7 later"}}),
    bad("R-5", "delivered-with-5", {"recipient": {**DELIVERED, "Status": "5.0.0"}}, level="warning"),
    ok("R-6", "local-failure", {"recipient": {"Remote-MTA": None, "Diagnostic-Code": "x-unix; disk full"}}),
    bad("R-6", "smtp-reply-without-remote", {"recipient": {"Remote-MTA": None}}),
    bad("R-6", "remote-address", {"recipient": {"Remote-MTA": "dns; 192.0.2.11"}}),
    ok("R-7", "scripted-exact", {}, scripted_replies={"nobody@library.example": REPLY}),
    ok(
        "R-7",
        "scripted-multiline",
        {"recipient": {"Diagnostic-Code": "smtp; 550-5.1.1 first line\n    550 5.1.1 second line"}},
        scripted_replies={"nobody@library.example": "550-5.1.1 first line\r\n550 5.1.1 second line"},
    ),
    bad("R-7", "scripted-differs", {}, scripted_replies={"nobody@library.example": "550 5.1.1 No such user"}),
    bad("R-7", "smtp-without-code", {"recipient": {"Diagnostic-Code": "smtp; User unknown"}}),
    bad("R-7", "reply-not-typed-smtp", {"recipient": {"Diagnostic-Code": "X-Postfix; 550 5.1.1 unknown"}}),
    bad("R-7", "absent", {"recipient": {"Diagnostic-Code": None, "Remote-MTA": None}}, level="warning"),
    ok("R-8", "delayed", {"recipient": DELAYED, "returned": "headers"}),
    bad("R-8", "failed", {"recipient": {"Will-Retry-Until": "Mon, 30 Nov 2026 12:43:39 +0000"}}),
    ok("R-9", "x-field", {"recipient": {"X-Queue-ID": "ABC"}}),
    bad("R-9", "unknown", {"recipient": {"Ction": "failed"}}),
    ok("R-10", "grammar-order", {"recipient": ORIG_FIRST}),
    bad("R-10", "postfix-order", {"recipient": WITH_ORIGINAL}, level="warning"),
    bad(
        "R-10",
        "extension-first",
        {"per_message": {"X-Queue": "1", "Arrival-Date": None, "Arrival-Date#2": "Sun, 29 Nov 2026 12:43:39 +0000"}},
        level="warning",
    ),
    # C: returned content
    ok("C-1", "hdrs-headers", {"returned": "headers"}, envelope=env(ret="HDRS")),
    bad("C-1", "hdrs-full", {}, envelope=env(ret="HDRS")),
    ok("C-2", "full-full", {}, envelope=env(ret="FULL")),
    bad("C-2", "full-headers", {"returned": "headers"}, envelope=env(ret="FULL"), level="warning"),
    ok("C-3", "success-headers", {"recipient": DELIVERED, "returned": "headers"}, envelope=notify("SUCCESS")),
    bad("C-3", "success-full", {"recipient": DELIVERED}, level="warning", envelope=notify("SUCCESS")),
    # H: header fields
    ok("H-1", "postmaster", {"headers": {"From": "postmaster@store.example"}}),
    bad("H-1", "a-user", {"headers": {"From": "jack@store.example"}}, level="warning"),
    ok("H-2", "absent", {"headers": {"Auto-Submitted": None}}),
    bad("H-2", "auto-generated", {"headers": {"Auto-Submitted": "auto-generated (failure)"}}),
    bad("H-2", "twice", {"headers": {"Auto-Submitted#2": "auto-replied"}}),
    # ENV: envelope
    ok("ENV-1", "null", {}, dsn_envelope=DSN_ENVELOPE),
    bad("ENV-1", "not-null", {}, dsn_envelope=DsnEnvelope("mailer-daemon@store.example", ("jack@store.example",))),
    ok("ENV-2", "to-envelope-sender", {}, dsn_envelope=DSN_ENVELOPE),
    bad(
        "ENV-2",
        "to-header-from",
        {},
        envelope=env(header_from="Jack <boss@store.example>"),
        dsn_envelope=DsnEnvelope("", ("boss@store.example",)),
    ),
    ok("ENV-3", "to-sender"),
    bad("ENV-3", "to-other", {"headers": {"To": "boss@store.example"}}),
    ok(
        "ENV-4",
        "notify-never",
        {},
        dsn_envelope=DsnEnvelope("", ("jack@store.example",), rcpt_params={"NOTIFY": "NEVER"}),
    ),
    bad("ENV-4", "ret", {}, dsn_envelope=DsnEnvelope("", ("jack@store.example",), mail_params={"RET": "HDRS"})),
    bad(
        "ENV-4", "notify", {}, dsn_envelope=DsnEnvelope("", ("jack@store.example",), rcpt_params={"NOTIFY": "FAILURE"})
    ),
    ok(
        "ENV-5",
        "double-bounce-to-postmaster",
        {"headers": {"To": "postmaster@store.example"}},
        envelope=env(mail_from=""),
    ),
    bad("ENV-5", "dsn-for-null-sender", {}, envelope=env(mail_from="")),
    # N: NOTIFY
    ok("N-1", "notify-failure", {}, envelope=notify("FAILURE")),
    bad("N-1", "never", {}, envelope=notify("NEVER")),
    ok("N-2", "notify-absent"),
    bad("N-2", "success-only", {}, envelope=notify("SUCCESS")),
    ok("N-3", "delay-asked", {"recipient": DELAYED, "returned": "headers"}, envelope=notify("DELAY")),
    bad("N-3", "failure-only", {"recipient": DELAYED, "returned": "headers"}, envelope=notify("FAILURE")),
    ok("N-4", "success-asked", {"recipient": DELIVERED, "returned": "headers"}, envelope=notify("SUCCESS")),
    bad("N-4", "notify-absent", {"recipient": DELIVERED, "returned": "headers"}),
    ok("N-5", "single"),
    bad("N-5", "twice", {"recipients": [{}, {}]}, level="warning"),
    bad("N-5", "stranger", {"recipient": {"Final-Recipient": "rfc822; x@library.example"}}, level="warning"),
    # P-5: xtext
    ok("P-5", "escaped", {"per_message": {"Original-Envelope-Id": "A=B"}}, envelope=env(envid="A+3DB")),
    bad("P-5", "raw-equals", {"per_message": {"Original-Envelope-Id": "A=B"}}, envelope=env(envid="A=B")),
    bad("P-5", "lower-hex", {"per_message": {"Original-Envelope-Id": "A=B"}}, envelope=env(envid="A+3db")),
    # E: enhanced codes
    ok("E-1", "valid"),
    bad("E-1", "class-6", {"recipient": {"Diagnostic-Code": "smtp; 550 6.1.1 unknown"}}),
    bad("E-1", "long-detail", {"recipient": {"Diagnostic-Code": "smtp; 550 5.1.1000 unknown"}}),
    ok("E-2", "same-class"),
    bad("E-2", "other-class", {"recipient": {"Diagnostic-Code": "smtp; 550 4.1.1 unknown"}}),
    ok("E-3", "registered", {"recipient": {"Status": "5.1.10", "Diagnostic-Code": "smtp; 550 5.1.10 null MX"}}),
    bad(
        "E-3",
        "unregistered",
        {"recipient": {"Status": "5.9.9", "Diagnostic-Code": "smtp; 550 5.9.9 x"}},
        level="warning",
    ),
    # U: internationalised
    ok(
        "U-2",
        "utf-8-type",
        {
            "recipient": {"Final-Recipient": "utf-8; j\u00f6rg@library.example"},
            "status_type": "message/global-delivery-status",
        },
        envelope=env(recipients=(RecipientParams("j\u00f6rg@library.example"),)),
    ),
    bad(
        "U-2",
        "rfc822-type",
        {
            "recipient": {"Final-Recipient": "rfc822; j\u00f6rg@library.example"},
            "status_type": "message/global-delivery-status",
        },
    ),
    ok("U-3", "ascii-return", {}, dsn_envelope=DSN_ENVELOPE),
    ok(
        "U-3",
        "smtputf8",
        {"returned_body": "\nGr\u00fc\u00dfe\n"},
        dsn_envelope=DsnEnvelope("", ("jack@store.example",), mail_params={"SMTPUTF8": ""}),
    ),
    bad("U-3", "8bit-without-smtputf8", {"returned_body": "\nGr\u00fc\u00dfe\n"}, dsn_envelope=DSN_ENVELOPE),
]

DEFAULT_CONTEXT = {"envelope": ENVELOPE}


def run(case: Case, profile: str = "strict") -> list[Any]:
    context = {**DEFAULT_CONTEXT, **case.context}
    return list(validate(parse_dsn(build(**case.dsn)), profile, **context))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_rule_case(case: Case) -> None:
    findings = run(case)
    mine = [f for f in findings if f.rule == case.rule]
    if case.fails:
        assert mine, f"{case.rule} not reported; findings: {[str(f) for f in findings]}"
        assert all(f.level == case.level for f in mine), [str(f) for f in mine]
        for f in mine:
            assert "\n" not in f.message and f.message
            assert str(f).startswith(f"{f.rule} {f.level} (RFC ")
    else:
        assert not mine, [str(f) for f in mine]


def test_each_checkable_rule_has_a_passing_and_a_failing_case() -> None:
    checkable = {r.id for r in RULES if r.coverage not in ("not-checkable", "reader")}
    passing = {c.rule for c in CASES if not c.fails}
    failing = {c.rule for c in CASES if c.fails}
    assert checkable - passing == set()
    assert checkable - failing == set()
    assert {c.rule for c in CASES} <= {r.id for r in RULES}


def test_the_default_dsn_is_clean_in_every_profile_with_full_context() -> None:
    for profile in ("strict", "postfix", "lenient"):
        findings = validate(
            parse_dsn(build()),
            profile,
            envelope=ENVELOPE,
            dsn_envelope=DSN_ENVELOPE,
            scripted_replies={"nobody@library.example": REPLY},
        )
        assert findings == ()


def test_context_rules_are_not_evaluated_without_context() -> None:
    raw = build(headers={"To": "boss@store.example"}, recipient=WITH_ORIGINAL)
    rules = {f.rule for f in validate(parse_dsn(raw))}
    assert not rules & {"ENV-3", "R-2", "N-5"}


def test_catalog_lists_every_checklist_rule_once() -> None:
    checklist = Path(__file__).resolve().parents[3] / "shared" / "docs" / "dsn-checklist.md"
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids)) == 49
    if checklist.is_file():
        text = checklist.read_text()
        for rule_id in ids:
            assert f"- {rule_id} " in text or f"- {rule_id}:" in text, rule_id


def test_docs_match_the_catalog() -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "dsn-rules.md"
    assert docs.read_text() == render_markdown(), "regenerate: python -m harness.dsn.catalog > docs/dsn-rules.md"


def test_allow_rules_drops_findings() -> None:
    raw = build(per_message={"Reporting-MTA": None})
    assert {f.rule for f in validate(parse_dsn(raw))} == {"S-2"}
    assert validate(parse_dsn(raw), allow_rules=["S-2"]) == ()


def test_u3_returned_text_is_written_as_utf8() -> None:
    # guard for the U-3 cases: the builder writes 8-bit octets into the returned part
    assert parse_dsn(build(returned_body="\nGr\u00fc\u00dfe\n")).returned.eight_bit  # type: ignore[union-attr]
    assert RETURNED_HEADERS.isascii()
