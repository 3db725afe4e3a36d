"""The CI templates work: each job's steps run here in the shape of a runner with a local Docker engine (GitHub's
ubuntu-latest, a GitLab shell executor), against a user's repository holding a Postfix configuration, with the
package installed the template's way (pip install "$MAILHARNESS_PACKAGE", here the wheel built from this
checkout). The job keeps the HTML report and the JUnit file it promises.

The GitLab job's own shape (a python:3.11-slim job container and the docker:dind service at DOCKER_HOST) is
the remote-engine access path; here its DOCKER_* variables are dropped and the host's engine is used.
"""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from .citemplates import Job, StepResult, github_jobs, gitlab_jobs, run_job
from .wheelenv import REPO, Dists, clean_env, make_venv

HOST_SHAPE: dict[str, str | None] = {"DOCKER_HOST": None, "DOCKER_TLS_CERTDIR": None}  # the host's own engine


def _users_repository(tmp_path: Path) -> Path:
    ws = tmp_path / "workspace"
    shutil.copytree(REPO / "examples" / "postfix-good", ws / "postfix")  # CONFIG_DIR in both templates
    return ws


def _says(results: list[StepResult]) -> str:
    return "\n".join(f"--- {r.step.name}: exit {r.returncode}\n{r.output[-2500:]}" for r in results)


def _check_outcome(job: Job, ws: Path, results: list[StepResult]) -> None:
    assert [r.returncode for r in results] == [0] * len(job.steps), _says(results)
    out = results[-1 if job.runner == "gitlab" else -2].output
    counts = re.search(r"^8 passed, 0 failed, 9 not applicable(?:, (\d+) not judged)?$", out, flags=re.M)
    assert counts, _says(results)  # postfix-good: the gateway requirement does not apply
    total = 8 + 9 + int(counts.group(1) or 0)  # passed + not applicable + not judged
    junit = ET.parse(ws / "reports" / "junit.xml").getroot()
    suite = junit if junit.tag == "testsuite" else junit.find("testsuite")
    assert suite is not None and (suite.get("tests"), suite.get("failures"), suite.get("errors")) == \
        (str(total), "0", "0")
    html = (ws / "reports" / "mailharness.html").read_text()
    assert re.search(r"\d scenario\(s\): 8 passed, 0 failed", html), html[:1500]


def test_the_templates_read_as_their_runners_read_them() -> None:
    [gh], [gl] = github_jobs(), gitlab_jobs()
    for job in (gh, gl):
        assert job.env["MAILHARNESS_PACKAGE"] == "pytest-mailharness", "installs the package index name by default"
        assert "example.invalid" not in job.script_for() and "reports/" in job.artifacts
        assert 'mailharness check "$CONFIG_DIR"' in job.script_for()
    assert gl.services == ("docker:dind",) and gl.env["DOCKER_HOST"].startswith("tcp://")
    assert gl.junit == ("reports/junit.xml",)
    assert [s.uses.split("@")[0] for s in gh.steps if s.uses] == \
        ["actions/checkout", "actions/setup-python", "actions/upload-artifact"]


def test_github_actions_template_on_a_runner_host(dists: Dists, tmp_path: Path) -> None:
    [job] = github_jobs()
    ws = _users_repository(tmp_path)
    runner_python = make_venv(tmp_path / "setup-python")  # the Python actions/setup-python provides
    results = run_job(job, ws, base_env=clean_env(), python_bin=runner_python.bin,
                      overrides={**HOST_SHAPE, "MAILHARNESS_PACKAGE": str(dists.wheel)})
    _check_outcome(job, ws, results)
    assert results[-1].output.splitlines() == ["reports/junit.xml", "reports/mailharness.html"]


@pytest.mark.parametrize("job", gitlab_jobs(), ids=lambda j: j.name)
def test_gitlab_template_in_the_shell_executor_shape(dists: Dists, tmp_path: Path, job: Job) -> None:
    ws = _users_repository(tmp_path)
    results = run_job(job, ws, base_env=clean_env(), overrides={**HOST_SHAPE, "MAILHARNESS_PACKAGE": str(dists.wheel)})
    _check_outcome(job, ws, results)
    assert all((ws / j).is_file() for j in job.junit)
