"""Soak: the bundled suites run again and again, serially, in parallel and under CPU load, to catch flakes.

    python benchmarks/soak.py [--runs N] [--modes serial,n2,n4hog] [--quick] [-k EXPR] [--path PATH ...]
                              [--hogs 2] [--keep DIR] [--timeout S]

Each run is a fresh `pytest suites -p no:cacheprovider` process with its own --junitxml in a temporary folder.
A mode is `serial` or `nK` (pytest-xdist `-n K`), with a `hog` suffix for CPU hogs (`--hogs` busy loops,
started before the run and killed after it): the default modes are serial, n2 and n4hog. `--quick` is one run
per mode (what CI runs); `--runs` is the number of runs per mode (default 10).

Prints one line per run (mode, run k/N, passed/failed, wall time), then `name: value` figures (runs, failures,
failed runs and median wall time, per mode and in all) and each failure's test id and reason (the first line of
its assertion or error, from the JUnit XML). `--keep DIR` keeps the JUnit XML and the pytest output of every run
with a failure (the report carries every node's mail log). Exit status 1 if anything failed.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODES = "serial,n2,n4hog"
_MODE = re.compile(r"^(?:serial|n(?P<workers>[1-9]\d*))(?P<hog>hog)?$")
HOG = "while True: pass"


@dataclass(frozen=True)
class Mode:
    name: str
    workers: int  # 0: serial (no xdist)
    hog: bool


@dataclass(frozen=True)
class Failure:
    test: str
    reason: str


@dataclass
class Run:
    mode: str
    index: int
    wall: float
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    failures: list[Failure] = field(default_factory=list)


def parse_modes(text: str) -> list[Mode]:
    modes = []
    for name in (m.strip() for m in text.split(",")):
        if not name:
            continue
        m = _MODE.match(name)
        if not m:
            raise SystemExit(f"unknown mode {name!r}: serial or nK (pytest-xdist -n K), optionally with 'hog' "
                             f"(serial, n2, n4hog, serialhog...)")
        modes.append(Mode(name, int(m.group("workers") or 0), bool(m.group("hog"))))
    if not modes:
        raise SystemExit("no mode given")
    return modes


def node_id(classname: str, name: str) -> str:
    """pytest's node id from JUnit's classname (dotted module, then classes) and name."""
    parts = classname.split(".") if classname else []
    for i in range(len(parts), 0, -1):
        path = Path(*parts[:i]).with_suffix(".py")
        if (ROOT / path).is_file():
            return "::".join([path.as_posix(), *parts[i:], name])
    return "::".join([*([classname] if classname else []), name])


def first_line(text: str, last: bool = False) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return (lines[-1] if last else lines[0]) if lines else ""


def read_junit(xml: Path, run: Run) -> None:
    for case in ET.parse(xml).getroot().iter("testcase"):
        tid = node_id(case.get("classname", ""), case.get("name", "?"))
        bad = [c for c in case if c.tag in ("failure", "error")]
        if bad:
            run.failed += 1
            for el in bad:
                reason = first_line(el.get("message", "")) or first_line(el.text or "") or el.tag
                what = "error in setup or teardown: " if el.tag == "error" else ""
                run.failures.append(Failure(tid, what + reason))
        elif any(c.tag == "skipped" for c in case):
            run.skipped += 1
        else:
            run.passed += 1


def start_hogs(count: int) -> list[subprocess.Popen[bytes]]:
    return [subprocess.Popen([sys.executable, "-c", HOG], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL) for _ in range(count)]


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        if p.poll() is None:
            p.kill()
    for p in procs:
        p.wait()


def one_run(mode: Mode, index: int, a: argparse.Namespace) -> tuple[Run, str]:
    """One pytest process; returns what it did and its output."""
    with tempfile.TemporaryDirectory(prefix="mailharness-soak-") as tmp:
        xml = Path(tmp) / "junit.xml"
        cmd = [sys.executable, "-m", "pytest", *a.path, "-p", "no:cacheprovider", "-q", f"--junitxml={xml}"]
        if mode.workers:
            cmd += ["-n", str(mode.workers)]
        if a.k:
            cmd += ["-k", a.k]
        env = dict(os.environ)
        # The tree this script sits in, whatever the virtual environment's editable install points at.
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
        hogs = start_hogs(a.hogs) if mode.hog else []
        t0 = time.monotonic()
        try:
            proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True, start_new_session=True)
            try:
                out, _ = proc.communicate(timeout=a.timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGINT)  # pytest's own clean-up (containers) first
                try:
                    out, _ = proc.communicate(timeout=60)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    out, _ = proc.communicate()
                out += f"\nsoak: killed after {a.timeout:g}s\n"
        finally:
            stop(hogs)
        run = Run(mode.name, index, time.monotonic() - t0)
        if xml.is_file() and xml.stat().st_size:
            read_junit(xml, run)
        if proc.returncode not in (0, 1) or (proc.returncode == 1 and not run.failures) or not xml.is_file():
            run.failures.append(Failure("(pytest)", f"exit {proc.returncode}: {first_line(out, last=True)}"))
            run.failed = max(run.failed, 1)
        if run.failures and a.keep:
            keep = Path(a.keep)
            keep.mkdir(parents=True, exist_ok=True)
            stem = f"{mode.name}-{index:03d}"
            (keep / f"{stem}.out").write_text(out)
            if xml.is_file():
                shutil.copy(xml, keep / f"{stem}.xml")
        return run, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=10, help="runs per mode (default 10)")
    ap.add_argument("--modes", default=DEFAULT_MODES, help=f"comma-separated (default {DEFAULT_MODES})")
    ap.add_argument("--quick", action="store_true", help="one run per mode (CI)")
    ap.add_argument("-k", default="", help="pytest -k expression (default: every scenario)")
    ap.add_argument("--path", action="append", default=None, help="what pytest runs (default: suites)")
    ap.add_argument("--hogs", type=int, default=2, help="CPU hogs in the *hog modes (default 2)")
    ap.add_argument("--keep", default="", help="folder for the JUnit XML and output of runs with a failure")
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds before a run is killed (default 1800)")
    a = ap.parse_args()
    a.path = a.path or ["suites"]
    runs_per_mode = 1 if a.quick else a.runs
    if runs_per_mode < 1:
        raise SystemExit("--runs must be at least 1")
    modes = parse_modes(a.modes)

    runs: list[Run] = []
    for mode in modes:
        for k in range(1, runs_per_mode + 1):
            run, _ = one_run(mode, k, a)
            runs.append(run)
            print(f"{mode.name} run {k}/{runs_per_mode}: passed {run.passed}, failed {run.failed}"
                  f"{f', skipped {run.skipped}' if run.skipped else ''}, wall {run.wall:.1f}s", flush=True)
            for f in run.failures:
                print(f"    FAILED {f.test}: {f.reason}", flush=True)

    failures = [(r, f) for r in runs for f in r.failures]
    print(f"runs: {len(runs)}")
    print(f"failures: {len(failures)}")
    print(f"failed_runs: {sum(1 for r in runs if r.failures)}")
    for mode in modes:
        mine = [r for r in runs if r.mode == mode.name]
        print(f"{mode.name}_runs: {len(mine)}")
        print(f"{mode.name}_failures: {sum(len(r.failures) for r in mine)}")
        print(f"{mode.name}_failed_runs: {sum(1 for r in mine if r.failures)}")
        print(f"{mode.name}_tests_per_run: {max(r.passed + r.failed + r.skipped for r in mine)}")
        print(f"{mode.name}_wall_median_s: {statistics.median(r.wall for r in mine):.1f}")
    for i, (r, f) in enumerate(failures, 1):
        print(f"failure_{i}: {r.mode} run {r.index}: {f.test}: {f.reason}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
