"""The command line without an engine: one clear message that names the fix, and a non-zero exit."""

import subprocess
import sys


def run(*args: str, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True, env=env,
                          timeout=60)


def test_doctor_without_an_engine_names_the_fix() -> None:
    r = run("doctor", env_extra={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert r.returncode == 1
    assert "engine:  MISSING" in r.stdout and "/nonexistent/docker.sock" in r.stdout
    assert "ci/ensure-docker.sh" in r.stdout


def test_up_without_an_engine_fails_with_exit_3() -> None:
    r = run("up", env_extra={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert r.returncode == 3
    assert "no Docker engine answers" in r.stderr and "Start a Docker engine" in r.stderr


def test_unknown_arguments_are_refused() -> None:
    r = run("doctor", "--bogus")
    assert r.returncode == 2 and "unrecognized arguments: --bogus" in r.stderr
