"""Property-based: malformed input (random bytes, mutated and truncated real DSNs) never crashes the reader."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.dsn import DSN, parse_dsn, validate
from harness.dsn.lint import as_json, as_text, lint_bytes
from tests.dsn.builder import build

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


CORPUS_SEEDS = [
    "postfix/s1-dsn-to-jack.eml",
    "postfix/s4a-dsn1-delayed-to-jack.eml",
    "sisimai/lhost-sendmail-02.eml",
    "sisimai/rfc3464-51.eml",
    "sisimai/lhost-qmail-01.eml",
    "sisimai/arf-01.eml",
]


@pytest.fixture(scope="session")
def seeds(corpus_if_present: Path | None) -> list[bytes]:
    """Built DSNs, and a few real ones when the corpus is there (these tests never need it)."""
    built = [build(), build(newline="\r\n"), build(status_cte="base64", returned="headers")]
    found = [corpus_if_present / name for name in CORPUS_SEEDS] if corpus_if_present else []
    return built + [path.read_bytes() for path in found if path.is_file()]


def exercise(raw: bytes) -> None:
    """Everything a caller may do with an arbitrary message."""
    result = parse_dsn(raw)
    for profile in ("strict", "postfix", "lenient"):
        for f in validate(result, profile):
            assert f.message and "\n" not in f.message and f.level in ("error", "warning")
    linted = lint_bytes(raw, "fuzz")
    json.dumps(as_json(linted))
    as_text(linted)
    if isinstance(result, DSN):
        for r in result.recipients:
            assert r.status is None or r.status.count(".") == 2


@FUZZ
@given(st.binary(max_size=2000))
def test_random_bytes(raw: bytes) -> None:
    exercise(raw)


@FUZZ
@given(data=st.data(), cut=st.integers(min_value=0, max_value=20000))
def test_truncated(seeds: list[bytes], data: st.DataObject, cut: int) -> None:
    seed = data.draw(st.sampled_from(seeds), label="seed")
    exercise(seed[: cut % (len(seed) + 1)])


_EDIT = st.tuples(
    st.integers(min_value=0, max_value=20000),
    st.integers(min_value=0, max_value=40),
    st.binary(max_size=12)
    | st.sampled_from([b"\n", b"\r", b"\r\n", b"\n\n", b":", b";", b"(", b")", b"\t", b"--", b"\xff", b"=?", b"\\"]),
)


@FUZZ
@given(data=st.data(), edits=st.lists(_EDIT, min_size=1, max_size=8))
def test_mutated(seeds: list[bytes], data: st.DataObject, edits: list[tuple[int, int, bytes]]) -> None:
    raw = bytearray(data.draw(st.sampled_from(seeds), label="seed"))
    for at, remove, insert in edits:
        pos = at % (len(raw) + 1)
        raw[pos : pos + remove] = insert
    exercise(bytes(raw))


_LINE = st.one_of(
    st.sampled_from(
        [
            "Reporting-MTA",
            "Final-Recipient",
            "Original-Recipient",
            "Action",
            "Status",
            "Remote-MTA",
            "Diagnostic-Code",
            "Arrival-Date",
            "Will-Retry-Until",
            "X-Foo",
            "Ction",
            "",
        ]
    ).flatmap(
        lambda name: st.text(alphabet='dnsrfc822;:()<>@. 0123456789xX-\t\\"', max_size=30).map(
            lambda value: f"{name}:{value}"
        )
    ),
    st.sampled_from(["", " continued", "\tfolded (comment", "garbage line", "Status: 5.1.1 (ok)"]),
)


@FUZZ
@given(st.lists(_LINE, max_size=25), st.sampled_from(["message/delivery-status", "message/global-delivery-status"]))
def test_random_status_part(lines: list[str], status_type: str) -> None:
    exercise(build(status_text="\n".join(lines) + "\n", status_type=status_type))


def test_seeds_are_present(seeds: list[bytes]) -> None:
    assert len(seeds) >= 3
