"""Property-based: malformed input (random bytes, mutated and truncated real DSNs) never crashes the reader."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.dsn import DSN, parse_dsn, validate
from harness.dsn.lint import as_json, as_text, lint_bytes
from tests.dsn.builder import build
from tests.dsn.conftest import corpus_path

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _seeds() -> list[bytes]:
    seeds = [build(), build(newline="\r\n"), build(status_cte="base64", returned="headers")]
    names = [
        "postfix/s1-dsn-to-jack.eml",
        "postfix/s4a-dsn1-delayed-to-jack.eml",
        "sisimai/lhost-sendmail-02.eml",
        "sisimai/rfc3464-51.eml",
        "sisimai/lhost-qmail-01.eml",
        "sisimai/arf-01.eml",
    ]
    for name in names:
        path = corpus_path() / name
        if path.is_file():
            seeds.append(path.read_bytes())
    return seeds


SEEDS = _seeds()


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
@given(st.sampled_from(SEEDS), st.integers(min_value=0, max_value=20000))
def test_truncated(seed: bytes, cut: int) -> None:
    exercise(seed[: cut % (len(seed) + 1)])


_EDIT = st.tuples(
    st.integers(min_value=0, max_value=20000),
    st.integers(min_value=0, max_value=40),
    st.binary(max_size=12)
    | st.sampled_from([b"\n", b"\r", b"\r\n", b"\n\n", b":", b";", b"(", b")", b"\t", b"--", b"\xff", b"=?", b"\\"]),
)


@FUZZ
@given(st.sampled_from(SEEDS), st.lists(_EDIT, min_size=1, max_size=8))
def test_mutated(seed: bytes, edits: list[tuple[int, int, bytes]]) -> None:
    raw = bytearray(seed)
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


def test_seeds_are_present() -> None:
    assert len(SEEDS) >= 3
