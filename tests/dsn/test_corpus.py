"""Every corpus file parses, and its verdict is asserted: by file-name family, plus exact spot checks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.dsn import DSN, DsnEnvelope, NotADSN, OriginalEnvelope, RecipientParams, parse_dsn, validate, verdict

NOT_DSN_BY_FILE = {
    # sisimai files of DSN-producing families that carry no delivery-status part
    "lhost-postfix-07.eml": "plain-text-bounce",
    "lhost-postfix-34.eml": "plain-text-bounce",
    "lhost-postfix-49.eml": "plain-text-bounce",
    "lhost-postfix-50.eml": "plain-text-bounce",
    "lhost-postfix-75.eml": "plain-text-bounce",
    "lhost-sendmail-14.eml": "plain-text-bounce",
    "lhost-sendmail-53.eml": "plain-text-bounce",
    "lhost-sendmail-54.eml": "plain-text-bounce",
    "rfc3464-34.eml": "plain-text-bounce",
    "rfc3464-37.eml": "plain-text-bounce",
    "rfc3464-38.eml": "plain-text-bounce",
    "rfc3464-39.eml": "plain-text-bounce",
    "rfc3464-04.eml": "broken-dsn",  # multipart/report without boundary delimiters
    "rfc3464-06.eml": "broken-dsn",
    "rfc3464-35.eml": "broken-dsn",  # the delivery-status delimiter is indented
    "arf-22.eml": "feedback-report",  # complaints forwarded as multipart/mixed
    "arf-23.eml": "feedback-report",
    "arf-24.eml": "feedback-report",
    "arf-26.eml": "auto-reply",
    "not-rb-issue-368-bug.eml": "plain-text-bounce",
}
FAMILY_KIND = {
    "lhost-qmail": "plain-text-bounce",
    "arf": "feedback-report",
    "rfc3834": "auto-reply",
    "not": "ordinary",
}
DSN_FAMILIES = ("lhost-postfix", "lhost-sendmail", "rfc3464")
# exact values: file -> [(final recipient, action, status)]
SPOT = {
    "lhost-postfix-02.eml": [
        ("filtered@example.co.jp", "failed", "5.2.1"),
        ("userunknown@example.co.jp", "failed", "5.1.1"),
    ],
    "lhost-postfix-64.eml": [],
    "lhost-sendmail-13.eml": [("kijitora@example.or.jp", None, "5.3.0")],  # "ction: failed"
    "lhost-sendmail-29.eml": [("this-local-part-does-not-exist-on-the-system@y-mobile.ne.jp", "delayed", "4.5.0")],
    "rfc3464-28.eml": [("kijitora@neko.example.jp", "deliverable", "2.1.5")],
    "rfc3464-42.eml": [("jane.doe@some-domain.net", "failed", "5.0.0")],
}


def family(name: str) -> str:
    return "not" if name.startswith("not-") else re.sub(r"-\d+\.eml$", "", name)


def test_corpus_is_there(corpus: Path) -> None:
    assert len(list((corpus / "sisimai").glob("*.eml"))) >= 200 and len(list((corpus / "postfix").glob("*.eml"))) >= 20


@pytest.mark.corpus("sisimai")  # one test per file (root conftest.py)
def test_sisimai_file_verdict(eml: Path) -> None:
    result = parse_dsn(eml)
    for profile in ("strict", "postfix", "lenient"):
        findings = validate(result, profile)
        assert all(f.message and "\n" not in f.message for f in findings)
    fam = family(eml.name)
    expected_kind = NOT_DSN_BY_FILE.get(eml.name) or FAMILY_KIND.get(fam)
    if expected_kind is not None:
        assert isinstance(result, NotADSN), f"{eml.name} read as a DSN"
        assert result.kind == expected_kind and result.reason
        return
    assert fam in DSN_FAMILIES
    assert isinstance(result, DSN), f"{eml.name}: {getattr(result, 'reason', '')}"
    assert result.reporting_mta
    if eml.name in SPOT:
        assert [(r.address, r.action, r.status) for r in result.recipients] == SPOT[eml.name]
    else:
        assert result.recipients, eml.name
        for r in result.recipients:
            assert r.address and r.status and re.fullmatch(r"[245]\.\d{1,3}\.\d{1,3}", r.status)
            assert r.action in ("failed", "delayed", "delivered", "relayed", "expanded")
    # lenient: only what makes the DSN unusable is an error
    lenient = verdict(validate(result, "lenient"))
    assert (lenient == "error") == (not result.recipients)


POSTFIX = {
    # scenario -> (action, status, reporting MTA, remote MTA, returned)
    "s1-": ("failed", "5.1.1", "mx.store.example", "mx.library.example", "message"),
    "s2a": ("failed", "4.3.0", "mx.library.example", None, "message"),
    "s2b": ("failed", "4.3.0", "mx.library.example", None, "message"),
    "s2c": ("failed", "5.2.2", "mx.library.example", None, "message"),
    "s3a": ("failed", "5.1.1", "mx.library.example", "mx.example.edu", "message"),
    "s3b": ("failed", "5.1.1", "mx.library.example", "mx.example.edu", "message"),
    "s4a-dsn1": ("delayed", "4.3.2", "mx.store.example", "mx.library.example", "headers"),
    "s4a-dsn2": ("failed", "4.3.2", "mx.store.example", "mx.library.example", "message"),
    "s5b": ("delivered", "2.0.0", "mx.library.example", None, "headers"),
    "s5c": ("failed", "5.1.1", "mx.store.example", "mx.library.example", "headers"),
    "s5d": ("failed", "5.1.1", "mx.store.example", "mx.library.example", "message"),
    "s5e": ("relayed", "2.0.0", "mx.store.example", "mx.library.example", "headers"),
    "s5f": ("failed", "4.3.2", "mx.store.example", "mx.library.example", "message"),
    "s5g": ("expanded", "2.0.0", "mx.library.example", None, "headers"),
    "s5h": ("failed", "5.1.1", "mx.store.example", "mx.library.example", "headers"),
    "s6b": ("failed", "5.1.1", "mx.library.example", None, "message"),
}


@pytest.mark.corpus("postfix")  # one test per file (root conftest.py)
def test_postfix_file_verdict(eml: Path) -> None:
    dsn = parse_dsn(eml)
    assert isinstance(dsn, DSN)
    [r] = dsn.recipients
    key = next((k for k in POSTFIX if eml.name.startswith(k)), None)
    if eml.name.startswith(("s4b-dsn1", "s4c-dsn1")):
        key = "s4a-dsn1"
    elif eml.name.startswith(("s4b-dsn2", "s4c-dsn2")):
        key = "s4a-dsn2"
    elif eml.name.startswith("s6c"):
        key = "s6b"
    assert key is not None, eml.name
    action, status, reporting, remote, returned = POSTFIX[key]
    assert (r.action, r.status, dsn.reporting_mta) == (action, status, reporting)
    assert dsn.returned is not None and dsn.returned.kind == returned
    if not eml.name.startswith("s6c"):
        assert (r.remote_mta.value if r.remote_mta else None) == remote
    # Postfix always writes Original-Recipient and its own field order: warnings, no errors, without context...
    findings = validate(dsn, "strict", dsn_envelope=DsnEnvelope.from_delivered(dsn))
    expected = "error" if eml.name.startswith("s6c") else "warning"  # s6c: Remote-MTA: dns; 10.77.0.14
    assert verdict(findings) == expected, [str(f) for f in findings]
    assert {f.rule for f in findings} <= {"R-10", "R-6"}


def test_postfix_original_recipient_without_orcpt_is_an_error_in_strict_a_warning_in_postfix(corpus: Path) -> None:
    dsn = parse_dsn(corpus / "postfix" / "s1-dsn-to-jack.eml")
    envelope = OriginalEnvelope("jack@store.example", (RecipientParams("nobody@library.example"),))
    strict = validate(dsn, "strict", envelope=envelope)
    postfix = validate(dsn, "postfix", envelope=envelope)
    assert [(f.rule, f.level) for f in strict if f.rule == "R-2"] == [("R-2", "error")]
    assert [(f.rule, f.level) for f in postfix if f.rule == "R-2"] == [("R-2", "warning")]
    assert verdict(postfix) == "warning"


def test_postfix_dsns_in_their_scenario_context(corpus: Path) -> None:
    folder = corpus / "postfix"

    def env(rcpt: str, **kw: object) -> OriginalEnvelope:
        return OriginalEnvelope("jack@store.example", (RecipientParams(rcpt, notify=kw.pop("notify", None)),), **kw)  # type: ignore[arg-type]

    cases = {
        "s5b-notify-success-ret-hdrs-dsn1-to-jack.eml": env(
            "jill@library.example", notify=frozenset({"SUCCESS"}), ret="HDRS", envid="PROTO-5B-ENVID"
        ),
        "s5c-notify-failure-ret-hdrs-dsn1-to-jack.eml": env(
            "nobody@library.example", notify=frozenset({"FAILURE"}), ret="HDRS", envid="PROTO-5C-ENVID"
        ),
        "s5d-ret-full-envid-dsn1-to-jack.eml": env("nobody@library.example", ret="FULL", envid="PROTO-5D-ENVID"),
        "s5f-notify-failure-no-delay-dsn1-to-jack.eml": env("jill@library.example", notify=frozenset({"FAILURE"})),
        "s3a-dsn-to-jack.eml": env("jill@library.example"),
    }
    for name, envelope in cases.items():
        dsn = parse_dsn(folder / name)
        findings = validate(dsn, "postfix", envelope=envelope, dsn_envelope=DsnEnvelope("", ("jack@store.example",)))
        assert verdict(findings) == "warning", (name, [str(f) for f in findings])
        assert {f.rule for f in findings} <= {"R-2", "R-10"}, name
    # the same s5b DSN against a request without SUCCESS breaks N-4
    wrong = validate(
        parse_dsn(folder / "s5b-notify-success-ret-hdrs-dsn1-to-jack.eml"), envelope=env("jill@library.example")
    )
    assert "N-4" in {f.rule for f in wrong}


def test_backscatter_dsn_is_addressed_to_the_forged_sender(corpus: Path) -> None:
    dsn = parse_dsn(corpus / "postfix" / "s6b-misconfig-empty-local_recipient_maps-backscatter-in-victim-mailbox.eml")
    assert isinstance(dsn, DSN) and dsn.header("To") == "victim@example.edu"
    envelope = OriginalEnvelope("victim@example.edu", (RecipientParams("nosuchuser@library.example"),))
    assert not [f for f in validate(dsn, "postfix", envelope=envelope) if f.rule.startswith("ENV")]
