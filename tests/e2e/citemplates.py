"""The CI templates of ci/templates/ read as their runners read them, and their shell run in a given shape.

- `github_jobs(path)`, `gitlab_jobs(path)`: each job as a `Job`: its image and services (GitLab), its
  environment (job `env:` / `variables:`), its shell steps in order (GitHub: one per `run:`, each its own bash;
  GitLab: `before_script` and `script` as one shell, as the runner does) and the artifacts it keeps.
- `run_job(job, workspace, ...)`: runs the shell steps in `workspace` as bash with the runner's options, the
  job's environment, and what the caller's shape provides (a Python first on PATH as actions/setup-python does,
  engine variables). GitHub's `uses:` steps are interpreted for the three actions the templates use; any other
  action stops the run (the host shape would no longer be what the template does).

The host shape (a runner with a local Docker engine, GitHub's ubuntu-latest or a GitLab shell executor) is
tests/e2e/test_templates.py. The job-container shape (GitLab's Docker executor with docker:dind) reuses
`gitlab_jobs` and `Job.script_for` to run the same lines inside a container.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

TEMPLATES = Path(__file__).resolve().parents[2] / "ci" / "templates"
GITHUB_SHELL = ["bash", "--noprofile", "--norc", "-eo", "pipefail"]  # `shell: bash`, as GitHub runs it
GITLAB_SHELL = ["bash", "--noprofile", "--norc", "-eo", "pipefail"]  # the runner's script: set -eo pipefail
GITLAB_RESERVED = {"image", "services", "stages", "variables", "default", "include", "workflow", "before_script",
                   "after_script", "cache"}
KNOWN_ACTIONS = ("actions/checkout", "actions/setup-python", "actions/upload-artifact")


class TemplateError(AssertionError):
    """A template this module cannot run faithfully (an unknown action, an expression it cannot evaluate)."""


@dataclass(frozen=True)
class Step:
    name: str
    run: str = ""  # shell text ("" for an action)
    uses: str = ""  # the action, for GitHub's `uses:` steps
    params: Mapping[str, Any] = field(default_factory=dict)  # `with:`
    always: bool = False  # runs after a failed step too (`if: always()`)


@dataclass(frozen=True)
class Job:
    runner: str  # "github" or "gitlab"
    name: str
    env: Mapping[str, str]
    steps: tuple[Step, ...]
    artifacts: tuple[str, ...]  # paths the job keeps
    junit: tuple[str, ...] = ()  # JUnit files the CI system reads (GitLab's reports: junit:)
    image: str = ""
    services: tuple[str, ...] = ()

    def script_for(self) -> str:
        """All shell steps as one script (for running them in another shape, such as inside a container)."""
        return "\n".join(s.run for s in self.steps if s.run)


def _text(value: object) -> str:
    return "" if value is None else str(value)


def github_jobs(path: Path = TEMPLATES / "github-actions.yml") -> list[Job]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    jobs = []
    for name, job in doc["jobs"].items():
        steps = []
        for i, s in enumerate(job["steps"]):
            always = str(s.get("if", "")).replace(" ", "") in ("always()", "${{always()}}")
            steps.append(Step(name=s.get("name") or s.get("uses") or f"step {i + 1}", run=_text(s.get("run")),
                              uses=_text(s.get("uses")), params=s.get("with") or {}, always=always))
        kept = [str(s.params["path"]) for s in steps if s.uses.startswith("actions/upload-artifact")]
        jobs.append(Job("github", name, {k: _text(v) for k, v in (job.get("env") or {}).items()}, tuple(steps),
                        tuple(kept)))
    return jobs


def gitlab_jobs(path: Path = TEMPLATES / "gitlab-ci.yml") -> list[Job]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    top_vars = {k: _text(v) for k, v in (doc.get("variables") or {}).items()}
    jobs = []
    for name, job in doc.items():
        if name in GITLAB_RESERVED or name.startswith(".") or not isinstance(job, dict) or "script" not in job:
            continue
        lines = [*(job.get("before_script") or doc.get("before_script") or []), *job["script"]]
        artifacts = job.get("artifacts") or {}
        junit = (artifacts.get("reports") or {}).get("junit") or []
        services = [s["name"] if isinstance(s, dict) else str(s) for s in job.get("services") or []]
        jobs.append(Job("gitlab", name, {**top_vars, **{k: _text(v) for k, v in (job.get("variables") or {}).items()}},
                        (Step(name="script", run="\n".join(map(str, lines))),),
                        tuple(map(str, artifacts.get("paths") or [])),
                        tuple([junit] if isinstance(junit, str) else junit), _text(job.get("image")),
                        tuple(services)))
    return jobs


@dataclass
class StepResult:
    step: Step
    returncode: int
    output: str


def run_job(job: Job, workspace: Path, *, base_env: Mapping[str, str], python_bin: Path | None = None,
            overrides: Mapping[str, str | None] | None = None, timeout: float = 900) -> list[StepResult]:
    """Run the job's shell steps in `workspace`. `base_env` is the machine's environment (the caller cleans it);
    the job's own variables go on top, then `overrides` (None removes a variable: the host shape has no
    DOCKER_HOST of a service). `python_bin` is what actions/setup-python puts first on PATH. Stops after the first
    failed step, except for steps that always run, as the runners do."""
    env = {**base_env, **job.env}
    for key, value in (overrides or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    shell = GITHUB_SHELL if job.runner == "github" else GITLAB_SHELL
    results: list[StepResult] = []
    failed = False
    for step in job.steps:
        if failed and not step.always:
            continue
        if step.uses:
            r = _action(step, workspace, env, python_bin)
        else:
            if "${{" in step.run:
                raise TemplateError(f"{job.name}/{step.name}: an expression the host shape cannot evaluate: "
                                    f"{re.findall(r'[$][{][{].*?[}][}]', step.run)}")
            p = subprocess.run([*shell, "-c", step.run], cwd=workspace, env=env, capture_output=True, text=True,
                               timeout=timeout)
            r = StepResult(step, p.returncode, p.stdout + p.stderr)
        results.append(r)
        failed = failed or r.returncode != 0
    return results


def _action(step: Step, workspace: Path, env: dict[str, str], python_bin: Path | None) -> StepResult:
    action = step.uses.split("@")[0]
    if action not in KNOWN_ACTIONS:
        raise TemplateError(f"{step.uses}: an action the host shape does not know ({', '.join(KNOWN_ACTIONS)})")
    if action == "actions/setup-python":
        if python_bin is None:
            raise TemplateError("actions/setup-python: the caller gave no Python to put first on PATH")
        env["PATH"] = os.pathsep.join([str(python_bin), env.get("PATH", "")])
        return StepResult(step, 0, f"python from {python_bin}")
    if action == "actions/upload-artifact":
        path = workspace / str(step.params.get("path", ""))
        found = sorted(p.relative_to(workspace).as_posix() for p in path.rglob("*") if p.is_file()) \
            if path.is_dir() else []
        return StepResult(step, 0 if found else 1, "\n".join(found) or f"no files at {path}")
    return StepResult(step, 0, "checkout: the workspace is the repository")
