"""How the test process reaches a topology's nodes over the network: directly at their container addresses (a
Linux host with a local engine: the fast path), or through the topology's gateway (harness.access.gateway) when it
cannot route there (a CI job container, a remote DOCKER_HOST, Docker Desktop, Podman's VM).

Everything that goes over the network from the test process goes through `Access.connect`: SMTP submission, the
banner checks, DNS queries, raw connections in tests. Logs, mailboxes, spools and faults go through the engine's
API and need no path at all.

The mode: "auto" (default) probes the direct path once the DNS node is up (a TCP connection to its port 53,
`PROBE_TIMEOUT` at most) and takes the gateway when that fails; "direct" and "gateway" force one
(`--mailharness-access`, the ini option `mailharness_access`, or MAILHARNESS_ACCESS). Once a process has seen the
direct path fail on an engine, its next topologies start their gateway with their nodes instead of probing again.
When no path works, NoAccessPath says what was tried and the fix, within seconds.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import docker.errors

from ..engine.docker import engine_host
from ..errors import MailharnessError, UsageError
from .gateway import Gateway, GatewayError, Tunnel
from .where import Standpoint, standpoint

log = logging.getLogger("mailharness")

Mode = Literal["auto", "direct", "gateway"]
MODES: tuple[Mode, ...] = ("auto", "direct", "gateway")
PROBE_TIMEOUT = 1.0  # seconds a direct connection to a node may take before the direct path counts as failed
Opener = Callable[[str, int, float], socket.socket]

_lock = threading.Lock()
_direct_failed: set[str] = set()  # engines on which this process's direct probe failed


class NoAccessPath(MailharnessError, RuntimeError):
    """The test process reaches the topology's nodes neither directly nor through a gateway."""


def mode_from(value: str | None = None) -> Mode:
    """The mode asked for: `value` (command line or ini), else MAILHARNESS_ACCESS, else auto."""
    raw = (value or os.environ.get("MAILHARNESS_ACCESS", "") or "auto").strip().lower()
    for m in MODES:
        if raw == m:
            return m
    raise UsageError(f"mailharness access={raw!r}: expected one of {', '.join(MODES)}")


@dataclass(frozen=True)
class Access:
    """The path chosen for one topology: `mode` "direct" or "gateway", and in words how and why."""

    mode: Literal["direct", "gateway"]
    reason: str  # why this path, and for the gateway how it is reached (the same for every topology of a run)
    tunnel: Tunnel | None = None
    # The address the nodes see this path's connections come from: the gateway's on the topology's network; ""
    # for the direct path, where it is the connection's own local address (the network's gateway on the host).
    client_ip: str = ""

    def client_address(self, sock: socket.socket) -> str:
        """The address the node at the other end of `sock` (a connection made by `connect`) sees it come from."""
        return self.client_ip or str(sock.getsockname()[0])

    def connect(self, ip: str, port: int, timeout: float) -> socket.socket:
        """A TCP connection to a node's address; fails as a direct connection would (refused, timed out)."""
        if self.tunnel is not None:
            return self.tunnel.connect(ip, port, timeout)
        return socket.create_connection((ip, port), timeout=timeout)

    @property
    def summary(self) -> str:
        """The path and why, without this topology's own addresses (for headers and summaries)."""
        return f"{self.mode} ({self.reason})"

    def __str__(self) -> str:
        return self.summary if self.tunnel is None else \
            f"{self.mode} at {self.tunnel.host}:{self.tunnel.port} ({self.reason})"


DIRECT = Access("direct", "container addresses")


def probe_direct(ip: str, port: int, timeout: float = PROBE_TIMEOUT) -> str:
    """"" when a TCP connection to ip:port opens within `timeout`, else why not."""
    t0 = time.monotonic()
    try:
        socket.create_connection((ip, port), timeout=timeout).close()
        return ""
    except OSError as exc:
        return f"{ip}:{port}: {exc.strerror or exc.__class__.__name__ + ': ' + str(exc)} " \
               f"after {time.monotonic() - t0:.1f}s"


def gateway_first(mode: Mode) -> bool:
    """Whether to start the gateway together with the nodes (forced, or the direct path already failed here)."""
    with _lock:
        return mode == "gateway" or (mode == "auto" and engine_host() in _direct_failed)


class Chooser:
    """Decides one topology's path once its DNS node is up; owns the gateway it may start."""

    def __init__(self, mode: Mode, *, topology_id: str, network: str, gateway_ip: str, image: str) -> None:
        self.mode, self.topology_id, self.network, self.gateway_ip, self.image = (mode, topology_id, network,
                                                                                  gateway_ip, image)
        self.gateway: Gateway | None = None
        self.where: Standpoint | None = None
        self.tried: list[str] = []
        self.failed: BaseException | None = None  # why the gateway could not be started, if it could not

    def start_gateway(self, targets: list[str]) -> None:
        """Start the gateway (in parallel with the nodes, or once the direct probe failed). A failure is kept for
        `choose`, which says it among what was tried."""
        self.where = standpoint()
        self.gateway = Gateway(topology_id=self.topology_id, network=self.network, ip=self.gateway_ip,
                               image=self.image, targets=targets, where=self.where)
        try:
            self.gateway.start()
        except (GatewayError, docker.errors.APIError, OSError) as exc:  # said by choose(), with the fix
            self.failed = exc

    def choose(self, probe: tuple[str, int], targets: list[str]) -> Access:
        """The path to use, given a node address that answers once reachable (`probe`) and every node address the
        gateway may forward to (`targets`, ip:port)."""
        ip, port = probe
        if self.mode in ("auto", "direct") and self.gateway is None:
            why = probe_direct(ip, port)
            if not why:
                return Access("direct", ("forced; " if self.mode == "direct" else "")
                              + "this process routes to the container addresses")
            self.tried.append(f"direct: no connection to {why}")
            if self.mode == "direct":
                raise self._none()
            with _lock:
                _direct_failed.add(engine_host())
        try:
            if self.gateway is None:
                self.start_gateway(targets)
            if self.failed is not None:
                raise GatewayError(f"could not start it: {self.failed}")
            assert self.gateway is not None and self.gateway.tunnel is not None and self.where is not None
            tunnel = self.gateway.tunnel
            tunnel.connect(ip, port, 3.0).close()
        except (OSError, GatewayError) as exc:
            where = f" at {self.gateway.tunnel.host}:{self.gateway.tunnel.port}" if self.gateway and \
                self.gateway.tunnel else ""
            self.tried.append(f"gateway{where} ({'reached ' + self.where.why if self.where else 'not started'}): "
                              f"{exc.__class__.__name__}: {exc}")
            raise self._none() from None
        how = "forced" if self.mode == "gateway" else "no direct route to the containers"
        return Access("gateway", f"{how}; reached {self.where.why}", tunnel, client_ip=self.gateway_ip)

    def _none(self) -> NoAccessPath:
        tried = "\n".join(f"  - {t}" for t in self.tried)
        return NoAccessPath(
            f"the test process cannot reach the topology's nodes (access={self.mode}, engine {engine_host()}).\n"
            f"tried:\n{tried}\nfix: with access=direct, run where the container addresses route (a Linux host with "
            "a local engine) or use --mailharness-access=auto|gateway; for the gateway, the test process must reach "
            "the engine's host at a published port: set MAILHARNESS_ACCESS_HOST to the address the engine's host "
            "has from here (and open the port range the engine publishes on), or run in a container of that engine "
            "(the gateway then joins your container's network). `mailharness doctor` says where the gateway is looked "
            "for from here.")


__all__ = ["Access", "Chooser", "DIRECT", "MODES", "Mode", "NoAccessPath", "Opener", "gateway_first", "mode_from",
           "probe_direct"]
