"""The exim DSN profile on Exim's real DSNs (tests/corpus/exim: kept with --keep-dsns from `mailharness run --mta
library=exim@VERSION`, the DSNs library wrote, on 4.96 and 4.98): what RFC 3464 requires holds on every one, and
under strict the only errors are the known departures the profile lists (harness.dsn.profiles.EXIM_DEPARTURES)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.dsn import OriginalEnvelope, RecipientParams, parse_dsn, validate
from harness.dsn.profiles import EXIM_DEPARTURES

CORPUS = Path(__file__).resolve().parent.parent / "corpus" / "exim"
FILES = sorted(CORPUS.glob("*.eml"))


def test_the_corpus_has_both_releases() -> None:
    assert {f.name.split("-", 1)[0] for f in FILES} == {"4.96", "4.98"}


@pytest.mark.parametrize("path", FILES, ids=[f.name for f in FILES])
def test_exims_own_dsns_pass_the_exim_profile(path: Path) -> None:
    dsn = parse_dsn(path.read_bytes())
    assert "mx.library.example" in str(getattr(dsn, "per_message", "")) or b"mx.library.example" in path.read_bytes()
    errors = [f for f in validate(dsn, "exim") if f.level == "error"]
    assert errors == [], [str(f) for f in errors]
    strict = {(f.rule, f.variant) for f in validate(dsn, "strict") if f.level == "error"}
    assert strict <= EXIM_DEPARTURES, strict


# The success reports answer jack@store.example's NOTIFY=SUCCESS for jill@library.example, sent without ORCPT
SUCCESS = OriginalEnvelope("jack@store.example", (RecipientParams("jill@library.example", frozenset({"SUCCESS"})),))


def test_every_departure_the_profile_lists_is_seen_in_exims_dsns() -> None:
    seen = {(f.rule, f.variant) for path in FILES
            for f in validate(parse_dsn(path.read_bytes()), "strict",
                              envelope=SUCCESS if "notify_success" in path.name else None)
            if f.level == "error"}
    assert seen == EXIM_DEPARTURES, "a departure the profile excuses but no Exim DSN shows: drop it, or keep a DSN"
