"""Shared by the end-to-end tests that need the package as a user installs it (tests/e2e/wheelenv.py)."""

from __future__ import annotations

import pytest

from .wheelenv import Dists, build


@pytest.fixture(scope="session")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Dists:
    """The sdist and the wheel built from this checkout, once per session (per xdist worker)."""
    return build(tmp_path_factory.mktemp("build"))
