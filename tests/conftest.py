"""The project's own tests. Those marked `docker` need an engine: without one they FAIL with the fix, never skip
(CI must run them). Deselect them on a machine without Docker with `-m "not docker"`."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/" in str(item.path) or "\\e2e\\" in str(item.path):
            item.add_marker(pytest.mark.docker)
