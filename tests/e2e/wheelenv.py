"""The package as its users get it: an sdist and a wheel built from the repository the way an index serves them,
and the wheel installed into a fresh virtual environment outside the repository.

- `build(repo, out)`: the files a clone has (tracked, plus new files not ignored) are copied to a scratch folder;
  the sdist is built there, and the wheel is built FROM THE SDIST by `pip wheel` (an isolated build, as a user's
  pip does): the wheel can only carry what the sdist carried.
- `install(wheel, where)`: `python -m venv`, then `pip install` of the wheel with its dependencies resolved by pip
  (from the index, or only from `find_links` with `offline=True`): a missing dependency shows.
- `wheelhouse(wheel, out)`: the wheel and every dependency as wheels in one folder, for an install where there is
  no index (inside a job container on an internal network: `pip install --no-index --find-links`).
- `Venv.run(...)`: a command of the installed package, with an environment that cannot reach the repository:
  no MAILHARNESS_* variable, no PYTHONPATH, no other virtual environment, the working directory outside.

Reused by the access-path tests (the same installed package inside a job container, against DOCKER_HOST=tcp).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PIP_QUIET = ("-q", "--disable-pip-version-check", "--no-input")


class WheelEnvError(RuntimeError):
    """A build or an install failed; the message carries the command and its output's tail."""


def _run(cmd: Sequence[str | os.PathLike[str]], *, cwd: Path | None = None, timeout: float = 600,
         env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    r = subprocess.run([str(c) for c in cmd], cwd=cwd, env=None if env is None else dict(env), capture_output=True,
                       text=True, timeout=timeout)
    if r.returncode != 0:
        raise WheelEnvError(f"{' '.join(map(str, cmd))} exited {r.returncode} (in {cwd}):\n"
                            f"{r.stdout[-2000:]}\n{r.stderr[-3000:]}")
    return r


@dataclass(frozen=True)
class Dists:
    sdist: Path
    wheel: Path

    def wheel_names(self) -> list[str]:
        import zipfile

        with zipfile.ZipFile(self.wheel) as z:
            return z.namelist()

    def sdist_names(self) -> list[str]:
        with tarfile.open(self.sdist) as t:
            return [n.split("/", 1)[1] for n in t.getnames() if "/" in n]


def clone_files(repo: Path = REPO) -> list[str]:
    """What a clone of the repository has, plus files not committed yet (so a test sees the work in progress)."""
    r = _run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=repo)
    return sorted(p for p in r.stdout.split("\0") if p and (repo / p).is_file())


def build(out: Path, repo: Path = REPO) -> Dists:
    """The sdist from a copy of the clone's files, then the wheel from the sdist. Nothing is written in `repo`."""
    src, dist = out / "src", out / "dist"
    dist.mkdir(parents=True, exist_ok=True)
    for rel in clone_files(repo):
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo / rel, src / rel)
    _run([sys.executable, "-c", f"from setuptools import build_meta as b; b.build_sdist({str(dist)!r})"], cwd=src)
    [sdist] = dist.glob("*.tar.gz")
    _run([sys.executable, "-m", "pip", "wheel", *PIP_QUIET, "--no-deps", "-w", dist, sdist], cwd=out)
    [wheel] = dist.glob("*.whl")
    return Dists(sdist=sdist, wheel=wheel)


def wheelhouse(wheel: Path, out: Path) -> Path:
    """`wheel` and all its dependencies as wheels in `out` (from pip's cache or the index)."""
    _run([sys.executable, "-m", "pip", "wheel", *PIP_QUIET, "-w", out, wheel], cwd=out.parent)
    return out


def clean_env(first_on_path: Sequence[Path] = ()) -> dict[str, str]:
    """The caller's environment without anything that points at the repository or another Python environment:
    no MAILHARNESS_* variable, no PYTHONPATH, no VIRTUAL_ENV, no PATH entry inside the repository."""
    drop = ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "PYTEST_ADDOPTS", "PYTEST_PLUGINS")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILHARNESS_") and k not in drop}
    path = [p for p in env.get("PATH", "").split(os.pathsep) if p and not Path(p).resolve().is_relative_to(REPO)]
    env["PATH"] = os.pathsep.join([*map(str, first_on_path), *path])
    return env


@dataclass(frozen=True)
class Venv:
    root: Path

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    @property
    def python(self) -> Path:
        return self.bin / "python"

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """A clean environment (`clean_env`) with this one's bin first on PATH."""
        env = clean_env(first_on_path=[self.bin])
        env["VIRTUAL_ENV"] = str(self.root)
        env.update(extra or {})
        return env

    def run(self, *args: str | os.PathLike[str], cwd: Path, timeout: float = 600,
            env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """Run a command (`mailharness ...`, `python ...`, a script) with this environment's bin first on PATH.
        The exit status is the caller's to judge: returns whatever happened."""
        if cwd.resolve().is_relative_to(REPO):
            raise WheelEnvError(f"{cwd} is inside the repository; run the installed package from outside it")
        cmd = [str(a) for a in args]
        if (self.bin / cmd[0]).exists():
            cmd[0] = str(self.bin / cmd[0])
        return subprocess.run(cmd, cwd=cwd, env=self.env(env), capture_output=True, text=True, timeout=timeout)


def make_venv(where: Path) -> Venv:
    """An empty virtual environment at `where` (outside the repository), as actions/setup-python gives a job."""
    if where.resolve().is_relative_to(REPO):
        raise WheelEnvError(f"{where} is inside the repository; a user's environment is not")
    _run([sys.executable, "-m", "venv", where])
    return Venv(where)


def install(wheel: Path, where: Path, *, find_links: Path | None = None, offline: bool = False) -> Venv:
    """A fresh virtual environment at `where` with `wheel` installed and its dependencies resolved by pip."""
    venv = make_venv(where)
    opts: list[str | Path] = ["--find-links", find_links] if find_links else []
    if offline:
        opts.append("--no-index")
    _run([venv.python, "-m", "pip", "install", *PIP_QUIET, *opts, wheel], cwd=where.parent, env=venv.env())
    return venv
