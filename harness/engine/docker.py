"""The Docker engine: one client per process, and a clear error when no engine answers.

The plugin never installs anything: without an engine it stops with one message that names the fix.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass

import docker
from docker import DockerClient

from ..errors import MailharnessError

# testcontainers starts a Ryuk reaper from a registry image on the first container start; without a
# registry that start fails and so does ours. We label every resource and clean up ourselves instead.
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")

log = logging.getLogger("mailharness")

ENGINE_FIX = (
    "Start a Docker engine: on Debian, as root, `bash ci/ensure-docker.sh` (installs docker.io and starts "
    "dockerd), or `systemctl start docker`; or point DOCKER_HOST at a running engine. "
    "`mailharness doctor` tells what is missing."
)


class EngineUnavailable(MailharnessError, RuntimeError):
    """No Docker engine answers. The message says where we looked and how to fix it."""


@dataclass(frozen=True)
class EngineInfo:
    host: str
    version: str
    storage_driver: str
    os: str


_lock = threading.Lock()
_client: DockerClient | None = None


def engine_host() -> str:
    return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock (default)"


def client() -> DockerClient:
    """The process's Docker client; raises EngineUnavailable (with the fix) when no engine answers."""
    global _client
    with _lock:
        if _client is not None:
            return _client
        try:
            c = docker.from_env(timeout=120)
            c.ping()
        except Exception as exc:  # DockerException (bad DOCKER_HOST, TLS), requests' ConnectionError and timeouts,
            # FileNotFoundError (no socket)...: whatever it is, no engine answers, and the error below says which
            # exception it was and how to fix it (not swallowed: re-raised as EngineUnavailable).
            log.debug("no Docker engine at %s", engine_host(), exc_info=True)
            raise EngineUnavailable(
                f"no Docker engine answers at {engine_host()}: {exc.__class__.__name__}: {exc}\n{ENGINE_FIX}"
            ) from None
        _client = c
        return c


def info() -> EngineInfo:
    c = client()
    data = c.info()
    return EngineInfo(
        host=engine_host(),
        version=str(data.get("ServerVersion", "?")),
        storage_driver=str(data.get("Driver", "?")),
        os=str(data.get("OperatingSystem", "?")),
    )


def is_local() -> bool:
    """Whether the engine is reached on a local socket (this machine's engine, or one whose socket is mounted here),
    not over the network (tcp://, ssh://)."""
    host = os.environ.get("DOCKER_HOST", "")
    return host == "" or host.startswith(("unix://", "npipe://"))
