"""Fixtures for the mock SMTP server tests (no Docker)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from harness.mock import MockSMTP, Script


@pytest.fixture
def start_mock() -> Iterator[Callable[..., MockSMTP]]:
    """Start in-process mock servers on free ports; all are stopped after the test."""
    started: list[MockSMTP] = []

    def start(script: Script | None = None, **kwargs: Any) -> MockSMTP:
        mock = MockSMTP(script, **kwargs).start()
        started.append(mock)
        return mock

    yield start
    for mock in started:
        mock.stop()
