"""What a user's install costs: building the sdist and the wheel, installing the wheel into a fresh virtual
environment outside the repository (dependencies from pip's cache or the index), and the first commands run from
there (the images exist already: their tags are the checkout's, so nothing is rebuilt).

    python benchmarks/installed.py

Prints `name: value` lines (seconds, wall time, one run each).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.wheelenv import Venv, build, install  # noqa: E402  (the repository's own helper, by path)

T = TypeVar("T")


def timed(name: str, fn: Callable[[], T]) -> T:
    t0 = time.monotonic()
    out = fn()
    print(f"{name}: {time.monotonic() - t0:.1f}", flush=True)
    return out


def command(venv: Venv, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    r = venv.run(*args, cwd=cwd, timeout=900)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(args)} exited {r.returncode}:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    return r


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="mailharness-installed-") as tmp:
        where = Path(tmp)
        dists = timed("build_sdist_and_wheel_s", lambda: build(where / "build"))
        venv = timed("venv_and_pip_install_s", lambda: install(dists.wheel, where / "venv"))
        work = where / "work"
        work.mkdir()
        timed("installed_images_build_cached_s", lambda: command(venv, work, "mailharness", "images", "build"))
        timed("installed_doctor_s", lambda: command(venv, work, "mailharness", "doctor"))
        timed("installed_run_two_scenarios_s", lambda: command(
            venv, work, "mailharness", "run", "-n", "0", "-k", "unknown_user_rejected or queue_full"))
        timed("installed_check_example_s", lambda: command(venv, work, "mailharness", "check", "--example",
                                                            "postfix-good"))


if __name__ == "__main__":
    main()
