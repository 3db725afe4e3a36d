"""Every name the public API promises (harness.__all__, served on first use) can be imported."""

from __future__ import annotations

import pytest

import harness


@pytest.mark.parametrize("name", harness.__all__)
def test_each_public_name_resolves(name: str) -> None:
    assert getattr(harness, name) is not None
    assert name in dir(harness) or name in harness.__all__
