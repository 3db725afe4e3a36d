"""Fixtures for the DSN tests: where the shared bounce corpus is (MAILHARNESS_CORPUS or ../shared/corpus)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def corpus_path() -> Path:
    env = os.environ.get("MAILHARNESS_CORPUS")
    return Path(env) if env else PROJECT_ROOT.parent / "shared" / "corpus"


@pytest.fixture(scope="session")
def corpus() -> Path:
    path = corpus_path()
    if not (path / "sisimai").is_dir() or not (path / "postfix").is_dir():
        how = "MAILHARNESS_CORPUS" if os.environ.get("MAILHARNESS_CORPUS") else "the default (no MAILHARNESS_CORPUS)"
        pytest.fail(
            f"bounce corpus not found: looked for {path}/sisimai and {path}/postfix ({how}); "
            "set MAILHARNESS_CORPUS to the folder that holds them",
            pytrace=False,
        )
    return path
