"""What the project's own test runs (tests/ and suites/) share. Users of the plugin get none of this: what they
get is harness/plugin.py; this file is the project's.

- Markers: `docker` (a Docker engine is needed) and `corpus` (the shared bounce corpus is needed). Both are also
  set from what a test uses: a test under tests/e2e/ or using a topology fixture is `docker`; a test using the
  `corpus` fixture is `corpus`. `-m "not docker"` deselects the same way in tests/ and suites/.
- Docker: a `docker` test without an engine FAILS with the fix, never skips (CI must run them).
- The corpus (MAILHARNESS_CORPUS, or ../shared/corpus next to this checkout): without it a `corpus` test is
  skipped with the reason, except in CI (the CI environment variable set), where it fails.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent
IN_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")

MARKERS = {
    "docker": "docker: needs a Docker engine (end-to-end); without one it fails, never skips",
    "corpus": "corpus(folder): needs the shared bounce corpus; with an `eml` argument, one test per file in it",
}
# The plugin's fixtures that start containers: a test using one needs Docker.
DOCKER_FIXTURES = frozenset({"mail_topology", "mail_fault", "mail_topology_with_mock", "mail_topology_factory", "mta"})

_ENGINE_PROBLEM = pytest.StashKey[str]()  # "" when the engine answered


def corpus_dir() -> Path:
    env = os.environ.get("MAILHARNESS_CORPUS")
    return Path(env) if env else ROOT.parent / "shared" / "corpus"


def _corpus_problem() -> str:
    path = corpus_dir()
    missing = [name for name in ("sisimai", "postfix") if not (path / name).is_dir()]
    if not missing:
        return ""
    where = "MAILHARNESS_CORPUS" if os.environ.get("MAILHARNESS_CORPUS") else "the default; set MAILHARNESS_CORPUS"
    return f"bounce corpus not found: no {' or '.join(missing)} in {path} ({where})"


def _engine_problem(config: pytest.Config) -> str:
    if _ENGINE_PROBLEM not in config.stash:
        from harness.engine.docker import EngineUnavailable, client

        try:
            client()
            config.stash[_ENGINE_PROBLEM] = ""
        except EngineUnavailable as exc:
            config.stash[_ENGINE_PROBLEM] = str(exc)
    return config.stash[_ENGINE_PROBLEM]


@pytest.hookimpl(trylast=True)  # after the plugin's: it registers `docker` for its users too
def pytest_configure(config: pytest.Config) -> None:
    known = {line.split(":")[0].split("(")[0].strip() for line in config.getini("markers")}
    for name, line in MARKERS.items():
        if name not in known:
            config.addinivalue_line("markers", line)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    mark = metafunc.definition.get_closest_marker("corpus")
    if mark is None or "eml" not in metafunc.fixturenames:
        return
    pattern = f"{mark.args[0]}/*.eml" if mark.args else "*/*.eml"
    # Without the corpus, one placeholder keeps the test, to be skipped (or failed, in CI) with the reason.
    files = sorted(corpus_dir().glob(pattern)) or [corpus_dir() / "corpus-missing.eml"]
    metafunc.parametrize("eml", files, ids=[f.relative_to(corpus_dir()).as_posix() for f in files]
                         if not mark.args else [f.name for f in files])


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        if item.path.is_relative_to(ROOT / "tests" / "e2e") or used & DOCKER_FIXTURES:
            item.add_marker(pytest.mark.docker)
        if "corpus" in used and item.get_closest_marker("corpus") is None:
            item.add_marker(pytest.mark.corpus)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("corpus") is not None:
        _require_corpus()
    if item.get_closest_marker("docker") is not None:
        problem = _engine_problem(item.config)
        if problem:
            pytest.fail(problem, pytrace=False)


def _require_corpus() -> None:
    problem = _corpus_problem()
    if problem and IN_CI:
        pytest.fail(f"{problem} (CI: the corpus is required)", pytrace=False)
    if problem:
        pytest.skip(problem)


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The shared bounce corpus (sisimai/ and postfix/ folders of .eml files)."""
    _require_corpus()
    return corpus_dir()


@pytest.fixture(scope="session")
def corpus_if_present() -> Path | None:
    """The corpus when it is there, for tests that only profit from it (never skipped without it)."""
    return None if _corpus_problem() else corpus_dir()
