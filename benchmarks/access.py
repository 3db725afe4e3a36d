"""Per access path (harness.access): the topology's cold start and the warm unknown-user scenario, measured in one
run of this script.

    python benchmarks/access.py [--runs 3] [--warm 10]

Paths: `direct` (this host routes to the containers), `gateway` (forced, on this host: the published port on
loopback), `tcp_direct` and `tcp_gateway` (DOCKER_HOST=tcp:// on loopback: dockerd's own listener or a proxy to the
socket), `job_gateway` (from a CI job container with the socket mounted: the gateway chosen by itself, joined to the
job's network). Each path is measured in a process of its own (the engine client is one per process): for the job
container, the package pip-installed outside the repository, run by the image's Debian python3.

Prints `<path>_cold_start_median_s`, `<path>_cold_start_first_s` (the process's first start: with auto access
where the direct path fails, it pays the direct probe's time-out; later starts start the gateway with the nodes),
`<path>_warm_unknown_user_median_s` and `<path>_access` (what was chosen); then, in a job container where no path
works, how long the topology's start takes to fail (`job_no_path_start_fails_after_s`) and the error's first line.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def measure(runs: int, warm: int) -> dict[str, object]:
    """In this process, with the access mode of MAILHARNESS_ACCESS: cold starts, then warm scenarios."""
    from harness import MailTopology, assert_dsn

    colds: list[float] = []
    t = None
    for i in range(runs):
        t = MailTopology()
        t0 = time.monotonic()
        t.start()
        colds.append(time.monotonic() - t0)
        if i < runs - 1:
            t.stop()
    assert t is not None
    times = []
    try:
        for _ in range(warm):
            t0 = time.monotonic()
            t.reset()
            sent = t.send("jack@store.example", "nosuchuser@library.example")
            assert sent.accepted, sent.transcript.render()
            dsn = t.mailbox("jack@store.example").wait_for_dsn(timeout=10)
            assert_dsn(dsn, action="failed", status="5.1.1", reporting_mta="mx.store.example",
                       remote_mta="mx.library.example", profile="postfix")
            times.append(time.monotonic() - t0)
    finally:
        t.stop()
    return {"cold": statistics.median(colds), "first": colds[0], "warm": statistics.median(times),
            "access": t.access.summary}


def no_path() -> dict[str, object]:
    """How long a topology's start takes to fail when no path works (what the error says is the e2e test's)."""
    from harness import MailTopology
    from harness.access import NoAccessPath

    t0 = time.monotonic()
    try:
        MailTopology().start()
    except NoAccessPath as exc:
        return {"no_path": time.monotonic() - t0, "error": str(exc).splitlines()[0]}
    raise RuntimeError("the topology started: there was a path after all")


def _parse(out: str, what: str) -> dict[str, object]:
    for line in reversed(out.splitlines()):
        if line.startswith("{"):
            result: dict[str, object] = json.loads(line)
            return result
    raise RuntimeError(f"{what}: no figures; output:\n{out[-3000:]}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--warm", type=int, default=10)
    ap.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # a child: measure and print JSON
    ap.add_argument("--no-path", action="store_true", help=argparse.SUPPRESS)  # a child: time the failed start
    a = ap.parse_args()
    if a.one:
        print(json.dumps(measure(a.runs, a.warm)), flush=True)
        return 0
    if a.no_path:
        print(json.dumps(no_path()), flush=True)
        return 0

    sys.path.insert(0, str(ROOT))
    from harness.engine import images
    from tests.e2e.engines import install, run_in_job_container, tcp_engine

    images.ensure()
    me = [sys.executable, str(Path(__file__).resolve()), "--one", "--runs", str(a.runs), "--warm", str(a.warm)]
    base = {k: v for k, v in os.environ.items() if not k.startswith("MAILHARNESS_ACCESS")}
    results: dict[str, dict[str, object]] = {}

    def host(name: str, **env: str) -> None:
        proc = subprocess.run(me, env={**base, **env}, capture_output=True, text=True, timeout=900)
        results[name] = _parse(proc.stdout + proc.stderr, name)

    host("direct", MAILHARNESS_ACCESS="direct")
    host("gateway", MAILHARNESS_ACCESS="gateway")
    with tcp_engine() as url:
        host("tcp_direct", MAILHARNESS_ACCESS="auto", DOCKER_HOST=url)
        host("tcp_gateway", MAILHARNESS_ACCESS="gateway", DOCKER_HOST=url)
    tmp = Path(tempfile.mkdtemp(prefix="mailharness-bench-access-"))
    try:
        site = install(tmp / "site")
        shutil.copy(__file__, tmp / "access.py")
        code, out = run_in_job_container(["python3", "/job/access.py", *me[2:]], site=site, workdir=tmp, env={})
        results["job_gateway"] = _parse(out, "job container")
        # No path: the gateway looked for at the job container's own loopback, where it is not.
        code, out = run_in_job_container(["python3", "/job/access.py", "--no-path"], site=site, workdir=tmp,
                                         env={"MAILHARNESS_ACCESS_HOST": "127.0.0.1"})
        failed = _parse(out, "job container, no path")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for name, r in results.items():
        print(f"{name}_cold_start_median_s: {float(str(r['cold'])):.3f}")
        print(f"{name}_cold_start_first_s: {float(str(r['first'])):.3f}")
        print(f"{name}_warm_unknown_user_median_s: {float(str(r['warm'])):.3f}")
        print(f"{name}_access: {r['access']}")
    print(f"job_no_path_start_fails_after_s: {float(str(failed['no_path'])):.3f}")
    print(f"job_no_path_error: {failed['error']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
