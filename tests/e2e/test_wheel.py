"""A user's install: the wheel (built from the sdist) in a fresh virtual environment in a temporary folder outside
the repository, no environment variable set, and every command a user runs from there.

The environment is built once for this module (about 15 s: two builds and a pip install from pip's cache); the
build (`dists`) is tests/e2e/conftest.py's, shared with the CI templates' test.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.engine import images

from .wheelenv import REPO, Dists, Venv, install, wheelhouse

USER_TEST = '''
from harness import MailTopology, assert_dsn


def test_unknown_user_bounces_to_jack(mail_topology: MailTopology) -> None:
    sent = mail_topology.send("jack@store.example", "nosuchuser@library.example")
    assert sent.accepted
    dsn = mail_topology.mailbox("jack@store.example").wait_for_dsn()
    assert_dsn(dsn, action="failed", status="5.1.1", reporting_mta="mx.store.example")
'''


@pytest.fixture(scope="module")
def venv(dists: Dists, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Venv]:
    yield install(dists.wheel, tmp_path_factory.mktemp("user") / "venv")


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    assert not tmp_path.resolve().is_relative_to(REPO)
    return tmp_path


def _tail(r: subprocess.CompletedProcess[str]) -> str:
    errors = r.stdout.find("= ERRORS =")  # the first error's text says why; the summary lines do not
    first = r.stdout[errors:errors + 3000] if errors >= 0 else ""
    return f"exit {r.returncode}\n{first}\n{r.stdout[-3000:]}\n{r.stderr[-2000:]}"


def test_the_wheel_carries_the_run_time_data_under_our_name(dists: Dists) -> None:
    names = dists.wheel_names()
    for needed in ("harness/containers/base/packages.txt", "harness/containers/postfix/Dockerfile",
                   "harness/suites/conformance/test_requirements.py", "harness/suites/test_classic.py",
                   "harness/examples/postfix-good/main.cf", "harness/examples/postfix-gateway/relay_recipients"):
        assert needed in names, f"{needed} missing from {dists.wheel.name}"
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"harness"}, f"top-level names in the wheel: {sorted(tops)}"
    in_sdist = set(dists.sdist_names())
    assert {"containers/base/packages.txt", "examples/postfix-good/main.cf", "suites/test_classic.py",
            "setup.py"} <= in_sdist


def test_the_installed_package_is_the_one_that_runs(venv: Venv, workdir: Path) -> None:
    r = venv.run("python", "-c", "import harness, harness.bundled as b; print(harness.__file__); "
                 "print(b.folder('containers')); print(b.folder('suites'))", cwd=workdir)
    assert r.returncode == 0, _tail(r)
    for line in r.stdout.split():
        assert Path(line).is_relative_to(venv.root) and not Path(line).is_relative_to(REPO), r.stdout


def test_doctor_and_images_build_find_the_image_definitions(venv: Venv, workdir: Path) -> None:
    r = venv.run("mailharness", "images", "build", cwd=workdir, timeout=900)
    assert r.returncode == 0, _tail(r)
    # The definitions in the wheel are the repository's: same input hashes, so the images built here are reused.
    for name in images.IMAGE_NAMES:
        assert f"{name}: {images.tag(name)}" in r.stdout, _tail(r)
    r = venv.run("mailharness", "doctor", cwd=workdir)
    assert r.returncode == 0 and r.stdout.rstrip().endswith("ready"), _tail(r)


def test_a_users_own_test_file(venv: Venv, workdir: Path) -> None:
    (workdir / "test_mine.py").write_text(USER_TEST)
    r = venv.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_mine.py", cwd=workdir)
    assert r.returncode == 0 and re.search(r"\b1 passed\b", r.stdout), _tail(r)


def test_mailharness_run_selects_bundled_scenarios(venv: Venv, workdir: Path) -> None:
    r = venv.run("mailharness", "run", "-n", "0", "-k", "unknown_user_rejected or queue_full", cwd=workdir)
    assert r.returncode == 0 and re.search(r"\b2 passed\b", r.stdout), _tail(r)
    assert "harness/suites/test_storage.py" in (workdir / "reports" / "mailharness.html").read_text()


def test_mailharness_check_on_a_bundled_example(venv: Venv, workdir: Path) -> None:
    r = venv.run("mailharness", "examples", cwd=workdir)
    assert r.returncode == 0 and "postfix-good" in r.stdout, _tail(r)
    assert str(venv.root) in r.stdout
    r = venv.run("mailharness", "check", "--example", "postfix-good", cwd=workdir)
    assert r.returncode == 0, _tail(r)
    assert "8 passed, 0 failed, 9 not applicable" in r.stdout, _tail(r)


def test_a_wheelhouse_installs_with_no_index(dists: Dists, tmp_path: Path) -> None:
    """Where there is no index (a job container on an internal network), the wheel and its dependencies as a
    folder of wheels install with `pip install --no-index --find-links`."""
    house = wheelhouse(dists.wheel, tmp_path / "house")
    assert dists.wheel.name in {p.name for p in house.iterdir()}
    offline = install(dists.wheel, tmp_path / "venv", find_links=house, offline=True)
    r = offline.run("mailharness", "examples", cwd=tmp_path)
    assert r.returncode == 0 and str(offline.root) in r.stdout, _tail(r)
