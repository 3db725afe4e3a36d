"""The places a user runs the harness from, for the end-to-end access tests: the package installed outside the
repository, a clean interpreter on the host, an engine reached over TCP, and a CI job container with the engine's
socket mounted. Not a test module: tests/e2e/test_access_e2e.py uses it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from harness.engine import images
from harness.engine import labels as lbl
from harness.engine.docker import client

ROOT = Path(__file__).resolve().parents[2]
LOOPBACK_TCP = os.environ.get("MAILHARNESS_DOCKERD_TCP", "127.0.0.1:2375")  # ci/ensure-docker.sh's listener


def install(target: Path, wheel: Path | None = None) -> Path:
    """The package as a user installs it, with its dependencies, by pip into `target` (outside the repository,
    not editable), importable with only PYTHONPATH=target: the built wheel when given (what the tests use: the
    image definitions and scenarios must come from the wheel itself), else built from this checkout."""
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    "--no-warn-script-location", "--target", str(target), str(wheel or ROOT)], check=True,
                   capture_output=True, timeout=600)
    return target


def clean_python() -> list[str]:
    """The interpreter without any site-packages (no virtual environment, no editable install): with
    PYTHONPATH=<install>, it imports only what `install` put there."""
    return [getattr(sys, "_base_executable", sys.executable), "-S"]


def local_socket() -> str:
    host = os.environ.get("DOCKER_HOST", "")
    return host[len("unix://"):] if host.startswith("unix://") else "/var/run/docker.sock"


def _pings(address: str) -> bool:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=1) as s:
            s.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            return b"200 OK" in s.recv(200)
    except OSError:
        return False


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


@contextmanager
def tcp_engine() -> Iterator[str]:
    """DOCKER_HOST for the engine over TCP on loopback: the dockerd's own listener when ci/ensure-docker.sh started
    it with one, else a TCP-to-socket proxy on 127.0.0.1 (a free port) for the time of the block."""
    if _pings(LOOPBACK_TCP):
        yield f"tcp://{LOOPBACK_TCP}"
        return
    listener = socket.create_server(("127.0.0.1", 0))
    path = local_socket()
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(path)
            for a, b in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=_pump, args=(a, b), daemon=True).start()

    threading.Thread(target=serve, daemon=True, name="mailharness-test-tcp-engine").start()
    try:
        yield f"tcp://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        listener.close()


def run_in_job_container(command: list[str], *, site: Path, workdir: Path, env: dict[str, str],
                         timeout: int = 480) -> tuple[int, str]:
    """Run `command` as a CI job would: in a container from our mock-smtp image (the base image plus the mock's
    files: Debian's python3, nothing of ours on its path once PYTHONPATH is /opt/site; the base image's own tag
    need not be present once its children are built), on a bridge network of its own, with the engine's socket
    mounted, the installed package at /opt/site and `workdir` at /job. Returns (exit status, output). The
    container and its network are labelled and removed."""
    api = client().api
    job = f"job-{uuid.uuid4().hex[:8]}"
    tags = lbl.labels(topology=job)
    net = f"mailharness-{job}"
    # A job network like a CI runner's, minus the way out: nothing in the job needs one.
    api.create_network(net, driver="bridge", labels=tags,
                       options={"com.docker.network.bridge.enable_ip_masquerade": "false"})
    try:
        host_config = api.create_host_config(
            network_mode=net, binds={local_socket(): {"bind": "/var/run/docker.sock", "mode": "rw"},
                                     str(site): {"bind": "/opt/site", "mode": "ro"},
                                     str(workdir): {"bind": "/job", "mode": "rw"}})
        ctr = api.create_container(images.ensure(("mock-smtp",))["mock-smtp"], entrypoint=command[:1],
                                   command=command[1:], working_dir="/job", labels=tags,
                                   host_config=host_config, hostname=job,
                                   environment={"PYTHONPATH": "/opt/site", "PYTHONDONTWRITEBYTECODE": "1",
                                                **env})
        api.start(ctr["Id"])
        status = api.wait(ctr["Id"], timeout=timeout)
        out = api.logs(ctr["Id"]).decode("utf-8", "replace")
        return int(status["StatusCode"]), out
    finally:
        lbl.remove({"label": [f"{lbl.TOPOLOGY}={job}"]})
