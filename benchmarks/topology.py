"""Figures for the foundation: topology start (cold, and a bare `docker run` of as many containers as the
topology has), reset + unknown-user scenario to a validated DSN (warm), image builds.

    python benchmarks/topology.py [--runs N] [--warm N] [--build]

Prints one `name: value` line per figure. --build also removes the images and the base image and times a
build from nothing (about a minute, offline here).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from harness import MailTopology, assert_dsn, default_topology
from harness.engine import images


def bare_docker_run(postfix: str, dns: str, n_postfix: int) -> float:
    """Baseline: `docker run` of as many containers as the topology has (its Postfix nodes and a DNS server), in
    parallel, until each one logs that it started."""
    def one(i: int) -> None:
        name = f"mailharness-bench-{i}-{time.monotonic_ns()}"
        if i < n_postfix:
            args = ["-e", "MH_HOSTNAME=mx.b.example", "-e", "MH_DOMAIN=b.example", "-e", "MH_USERS=x", postfix]
            ready = "daemon started"
        else:
            args = [dns, '{"a": {}, "mx": {}, "ptr": {}, "servfail": []}']
            ready = "started, version"
        subprocess.run(["docker", "run", "-d", "--rm", "--name", name, "--label", "io.mailharness.bench=1", *args],
                       check=True, capture_output=True)
        deadline = time.monotonic() + 30
        last = ""
        while time.monotonic() < deadline:
            r = subprocess.run(["docker", "logs", name], capture_output=True, text=True)
            last = r.stdout + r.stderr
            if ready in last:
                return
            time.sleep(0.01)
        raise RuntimeError(f"{name} did not log {ready!r} within 30 s; it logged: {last[-500:]}")

    t0 = time.monotonic()
    with ThreadPoolExecutor(n_postfix + 1) as pool:
        list(pool.map(one, range(n_postfix + 1)))
    took = time.monotonic() - t0
    subprocess.run("docker rm -f $(docker ps -aq --filter label=io.mailharness.bench=1) >/dev/null 2>&1", shell=True)
    return took


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--warm", type=int, default=20)
    ap.add_argument("--build", action="store_true")
    a = ap.parse_args()

    if a.build:
        images.remove(current=True)
        t0 = time.monotonic()
        images.ensure(progress=lambda m: None)
        print(f"image_build_from_nothing_s: {time.monotonic() - t0:.1f}")
    t0 = time.monotonic()
    images.ensure()
    print(f"image_build_unchanged_s: {time.monotonic() - t0:.3f}")
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "harness.cli", "images", "build"], capture_output=True)
    print(f"image_build_unchanged_cli_s: {time.monotonic() - t0:.3f}")
    assert r.returncode == 0, r.stderr

    n_postfix = sum(1 for n in default_topology().nodes if n.kind == "postfix")
    bare = statistics.median(bare_docker_run(images.tag("postfix"), images.tag("dns"), n_postfix)
                             for _ in range(a.runs))
    print(f"bare_docker_run_{n_postfix}_postfix_and_dns_median_s: {bare:.3f}")

    colds, phases = [], []
    for _ in range(a.runs):
        t = MailTopology()
        t0 = time.monotonic()
        t.start()
        colds.append(time.monotonic() - t0)
        phases.append(t.timings)
        if _ < a.runs - 1:
            t.stop()
    print(f"cold_start_median_s: {statistics.median(colds):.3f}")
    print(f"cold_start_over_bare_docker_run: {statistics.median(colds) / bare:.2f}")
    print(f"cold_start_min_s: {min(colds):.3f}")
    print(f"cold_start_phases_median_s: network+checks={statistics.median(p.network for p in phases):.3f} "
          f"containers={statistics.median(p.containers for p in phases):.3f} "
          f"ready={statistics.median(p.ready for p in phases):.3f}")

    warm, resets = [], []
    try:
        for _ in range(a.warm):
            t0 = time.monotonic()
            t.reset()
            t1 = time.monotonic()
            sent = t.send("jack@store.example", "nosuchuser@library.example")
            assert sent.accepted
            dsn = t.mailbox("jack@store.example").wait_for_dsn(timeout=10)
            assert_dsn(dsn, action="failed", status="5.1.1", reporting_mta="mx.store.example",
                       remote_mta="mx.library.example", envelope=sent.original_envelope(), profile="postfix")
            warm.append(time.monotonic() - t0)
            resets.append(t1 - t0)
    finally:
        t.stop()
    print(f"warm_reset_unknown_user_dsn_median_s: {statistics.median(warm):.3f}")
    print(f"warm_reset_only_median_s: {statistics.median(resets):.3f}")
    without = statistics.median(w - r for w, r in zip(warm, resets, strict=True))
    print(f"warm_scenario_without_reset_median_s: {without:.3f}")


if __name__ == "__main__":
    main()
