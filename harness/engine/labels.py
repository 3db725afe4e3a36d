"""Labels on every Docker resource the harness creates, and the sweep of what dead sessions left.

Every container and network carries the session id, the pytest-xdist worker, the owning process id and the
host name. At the end of a session the owner removes its resources; after a kill, the next start sweeps
resources whose owning process is gone. Resources kept on purpose (`mailharness up`, keep=always or
keep=on-failure) are recorded in a marker folder and never swept; `mailharness down` removes them.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import docker.errors

from .docker import client

log = logging.getLogger("mailharness")

PREFIX = "io.mailharness"
SESSION = f"{PREFIX}.session"
WORKER = f"{PREFIX}.worker"
PID = f"{PREFIX}.pid"
HOST = f"{PREFIX}.host"
TOPOLOGY = f"{PREFIX}.topology"
NODE = f"{PREFIX}.node"

_session_id = uuid.uuid4().hex[:10]


def session_id() -> str:
    return _session_id


def worker_id() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def labels(**extra: str) -> dict[str, str]:
    return {
        SESSION: _session_id,
        WORKER: worker_id(),
        PID: str(os.getpid()),
        HOST: socket.gethostname(),
        **{f"{PREFIX}.{k}": v for k, v in extra.items()},
    }


def _kept_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "mailharness" / "kept"


def mark_kept(topology_id: str, description: str) -> None:
    d = _kept_dir()
    d.mkdir(parents=True, exist_ok=True)
    (d / topology_id).write_text(description)


def kept() -> dict[str, str]:
    d = _kept_dir()
    if not d.is_dir():
        return {}
    return {p.name: p.read_text() for p in d.iterdir()}


def unmark_kept(topology_id: str) -> None:
    (_kept_dir() / topology_id).unlink(missing_ok=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove(filters: dict[str, Any], timeout: float = 20.0) -> tuple[int, int]:
    """Remove containers, then networks, matching `filters` (Docker's filter syntax). Returns how many of each
    were found. Polls with a deadline until none is left: on a loaded engine a removal can still be in progress
    (409) or a network still have an endpoint when it is asked, and the next round gets them; what is still there
    at the deadline is logged as a warning (the next sweep or `mailharness down --all` tries again)."""
    # The low-level API lists without inspecting each one: another process may be removing the same resources.
    api = client().api
    seen_containers: set[str] = set()
    seen_networks: set[str] = set()
    deadline = time.monotonic() + timeout
    last: list[str] = []
    while True:
        containers = api.containers(all=True, filters=filters)
        seen_containers.update(ctr["Id"] for ctr in containers)
        if containers:  # in parallel: each removal mostly waits for the engine to kill and clean up
            with ThreadPoolExecutor(max_workers=min(len(containers), 8)) as pool:
                last += [f for f in pool.map(_remove_container, [c["Id"] for c in containers]) if f]
        networks = api.networks(filters=filters)
        for net in networks:
            seen_networks.add(net["Id"])
            try:
                api.remove_network(net["Id"])
            except (docker.errors.APIError, OSError) as exc:  # gone, or still has endpoints: as above
                last.append(f"network {net.get('Name')}: {exc}")
        if not containers and not networks:
            return len(seen_containers), len(seen_networks)
        if time.monotonic() > deadline:
            log.warning("mailharness: still there after %gs of removal: %s", timeout, "; ".join(last[-4:]))
            return len(seen_containers), len(seen_networks)
        last = []
        time.sleep(0.1)


def _remove_container(container_id: str) -> str:
    """Remove one container (force, with its anonymous volumes); what went wrong, or ""."""
    try:
        client().api.remove_container(container_id, force=True, v=True)
    except (docker.errors.APIError, OSError) as exc:  # APIError: already gone (404) or removal in progress
        # (409); OSError: requests' ConnectionError or timeout. The next round looks again.
        return f"container {container_id[:12]}: {exc}"
    return ""


def sweep_orphans() -> tuple[int, int]:
    """Remove this host's resources whose owning process is gone, except kept topologies."""
    api = client().api
    host = socket.gethostname()
    keep = set(kept())
    dead: set[str] = set()
    found = api.containers(all=True, filters={"label": [PID]}) + api.networks(filters={"label": [PID]})
    for res in found:
        lab = res.get("Labels") or {}
        if lab.get(HOST) != host or lab.get(TOPOLOGY) in keep:
            continue
        try:
            pid = int(lab.get(PID, "0"))
        except ValueError:
            continue
        if pid and not _pid_alive(pid):
            dead.add(lab.get(TOPOLOGY, ""))
    totals = [0, 0]
    for topo in sorted(dead - {""}):
        n_c, n_n = remove({"label": [f"{TOPOLOGY}={topo}"]})
        totals[0] += n_c
        totals[1] += n_n
    if totals != [0, 0]:
        log.warning("mailharness: swept %d containers and %d networks left by dead sessions", *totals)
    return totals[0], totals[1]
