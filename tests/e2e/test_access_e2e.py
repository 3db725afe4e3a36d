"""End to end, from where users run the harness: the package installed by pip outside the repository, a user's
test file (pytest) and two bundled scenarios (`mailharness run`), run (a) on the host, where the nodes are reached
directly, and through the gateway when it is forced; (b) from a CI job container with the engine's socket
mounted, where the gateway is chosen by itself; (c) against the engine over TCP (DOCKER_HOST=tcp://). And the case
where no path works: it fails at the topology's start with what was tried and the fix, not after a banner's
time-out."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import pytest

from .engines import clean_python, install, run_in_job_container, tcp_engine
from .wheelenv import Dists

USER_TEST = '''
from harness import MailTopology, assert_dsn


def test_unknown_user_is_rejected_at_rcpt_and_bounced_by_the_sender(mail_topology: MailTopology) -> None:
    sent = mail_topology.send("jack@store.example", "nosuchuser@library.example")
    assert sent.accepted
    dsn = mail_topology.mailbox("jack@store.example").wait_for_dsn()
    [reject] = mail_topology.rejections("library")
    assert (reject.stage, reject.reply.code, reject.reply.enhanced) == ("RCPT", 550, "5.1.1")
    assert mail_topology.notices("library") == []
    assert_dsn(dsn, action="failed", status="5.1.1", reporting_mta="mx.store.example",
               remote_mta="mx.library.example", profile="postfix")
'''
USER = ["-m", "pytest", "-p", "no:cacheprovider", "test_user.py"]
RUN = ["-m", "harness.cli", "run", "-n", "0", "-k", "test_classic"]  # delivered, and the unknown user's bounce


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, dists: Dists) -> Path:
    """The wheel built from this checkout (tests/e2e/conftest.py), installed outside the repository."""
    return install(tmp_path_factory.mktemp("installed") / "site", dists.wheel)


@pytest.fixture
def job(tmp_path: Path) -> Path:
    (tmp_path / "test_user.py").write_text(USER_TEST)
    return tmp_path


def _run_on_host(site: Path, job: Path, *args: str, **env: str) -> str:
    """pytest on the user's file, then `mailharness run` on two scenarios, with a clean interpreter that sees only
    `site`; both must pass. Returns both outputs."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("MAILHARNESS_", "PYTEST_"))}
    environ.update(PYTHONPATH=str(site), **env)
    out = ""
    for cmd, passed in ((USER, "1 passed"), (RUN, "2 passed")):
        proc = subprocess.run([*clean_python(), *cmd, *args], cwd=job, env=environ, capture_output=True, text=True,
                              timeout=480)
        out += proc.stdout + proc.stderr
        assert proc.returncode == 0 and passed in proc.stdout, out[-4000:]
    return out


def test_on_the_host_the_nodes_are_reached_directly(site: Path, job: Path) -> None:
    out = _run_on_host(site, job)
    assert out.count("mailharness: access direct (this process routes to the container addresses): ") == 2, out


def test_on_the_host_a_forced_gateway_works_too(site: Path, job: Path) -> None:
    out = _run_on_host(site, job, "--mailharness-access=gateway")
    assert out.count("mailharness: access gateway (forced; reached at the local engine's host, on loopback): ") == 2, \
        out[-3000:]


@pytest.mark.parametrize("access", ["auto", "gateway"])
def test_an_engine_over_tcp(site: Path, job: Path, access: str) -> None:
    with tcp_engine() as url:
        out = _run_on_host(site, job, f"--mailharness-access={access}", DOCKER_HOST=url)
    assert f"engine {url}" in out, out[-3000:]  # the header (`mailharness run` is quiet: no header)
    want = {"auto": "access direct (this process routes", "gateway": f"access gateway (forced; reached at the host "
                                                                     f"of DOCKER_HOST={url})"}[access]
    assert out.count(want) == 2, out[-3000:]


def test_from_a_job_container_the_gateway_is_chosen(site: Path, job: Path) -> None:
    script = f"{shlex.join(['python3', *USER])} && {shlex.join(['python3', *RUN])}"
    code, out = run_in_job_container(["sh", "-c", script], site=site, workdir=job, env={})
    assert code == 0 and "1 passed" in out and "2 passed" in out, out[-4000:]
    assert out.count("mailharness: access gateway (no direct route to the containers; reached on network "
                     "mailharness-job-") == 2, out[-3000:]


def test_without_any_path_the_start_fails_with_what_was_tried_and_the_fix(site: Path, job: Path) -> None:
    """In a job container, with the gateway looked for at the job's own loopback (where it is not): the direct
    probe fails, the gateway is started and cannot be reached; the test errors at the start, saying both."""
    code, out = run_in_job_container(["python3", *USER], site=site, workdir=job,
                                     env={"MAILHARNESS_ACCESS_HOST": "127.0.0.1"})
    assert code != 0 and "1 error" in out, out[-4000:]
    assert "the test process cannot reach the topology's nodes (access=auto" in out, out[-4000:]
    assert "- direct: no connection to " in out and "- gateway at 127.0.0.1:" in out, out[-4000:]
    assert "fix: " in out and "no 220 banner" not in out, out[-4000:]
