"""The gateway: a small container through which the test process reaches a topology's nodes when it cannot route
to their addresses (a CI job container, a remote engine, Docker Desktop, Podman).

The gateway runs the forwarder (harness/access/forwarder.py, standard library only) in the mock-smtp image (ours,
built like the others; it has python3). It sits on the topology's internal network at a fixed address and on one
network the test process reaches: the process's own container network when it runs in a container of the engine,
otherwise a network of its own whose one port is published on the engine's host (a random host port: safe under
pytest-xdist). That publishing network has no masquerading, and the gateway's kernel forwards no packets
(ip_forward=0): it carries only the tunnels the test process opens, and only to the nodes it was started with.
The nodes stay on the internal network alone. Both the container and the publishing network carry the topology's
labels and are removed with it.
"""

from __future__ import annotations

import errno
import logging
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker.errors
from docker.types import EndpointConfig

from ..engine import labels as lbl
from ..engine.docker import client
from ..errors import MailharnessError
from .where import Standpoint

log = logging.getLogger("mailharness")

PORT = 2525  # the forwarder's port inside the gateway container
FORWARDER = Path(__file__).with_name("forwarder.py")


class GatewayError(MailharnessError, RuntimeError):
    """The gateway could not be started or reached; the message says what was tried."""


@dataclass(frozen=True)
class Tunnel:
    """Where the gateway's forwarder is reached from the test process."""

    host: str
    port: int

    def connect(self, ip: str, port: int, timeout: float) -> socket.socket:
        """A connection to a node's `ip:port` through the gateway. Fails as a direct connection would: refused
        (ConnectionRefusedError), timed out (TimeoutError), no route (OSError with its errno), so a transcript
        reads the same on either path. OSError with the gateway's address when the gateway itself is not there."""
        try:
            sock = socket.create_connection((self.host, self.port), timeout=min(timeout, 5.0))
        except OSError as exc:
            raise OSError(exc.errno or errno.EHOSTUNREACH,
                          f"gateway {self.host}:{self.port} not reachable: {exc.strerror or exc}") from exc
        try:
            sock.settimeout(timeout + 5.0)
            sock.sendall(f"CONNECT {ip}:{port} {timeout:g}\r\n".encode())
            status = _read_line(sock)
        except OSError:
            sock.close()
            raise
        if status == "OK":
            sock.settimeout(timeout)
            return sock
        sock.close()
        _, code, text = (status.split(" ", 2) + ["", ""])[:3]
        num = int(code) if code.isdigit() else 0
        if num == errno.ETIMEDOUT:
            raise TimeoutError(num, text)
        if num == errno.ECONNREFUSED:
            raise ConnectionRefusedError(num, text)
        raise OSError(num, text or f"gateway said {status!r}")


def _read_line(sock: socket.socket) -> str:
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = sock.recv(1)
        if not chunk:
            raise ConnectionResetError(errno.ECONNRESET, f"the gateway closed the tunnel (after {buf!r})")
        buf += chunk
    return buf.decode("ascii", "replace").strip()


class Gateway:
    """The gateway container of one topology (and its publishing network, when it publishes)."""

    def __init__(self, *, topology_id: str, network: str, ip: str, image: str, targets: list[str],
                 where: Standpoint):
        self.topology_id, self.network, self.ip, self.image = topology_id, network, ip, image
        self.targets, self.where = targets, where
        self.name = f"mailharness-{topology_id}-gateway"
        self.tunnel: Tunnel | None = None

    def start(self, timeout: float = 15.0) -> Tunnel:
        api = client().api
        tags = lbl.labels(topology=self.topology_id, node="gateway")
        outside = self.where.network
        if not outside:
            outside = f"{self.name}-publish"
            # No masquerading: the gateway cannot reach out through this network; it only takes connections in.
            api.create_network(outside, driver="bridge", labels=tags,
                               options={"com.docker.network.bridge.enable_ip_masquerade": "false"})
        # Published on a random port of the engine's host (none when the gateway joins the process's network).
        bindings: Any = None if self.where.network else {PORT: (self.where.bind, None) if self.where.bind else None}
        host_config = api.create_host_config(
            network_mode=outside, sysctls={"net.ipv4.ip_forward": "0", "net.ipv4.conf.all.forwarding": "0"},
            port_bindings=bindings)
        endpoints: Any = {outside: EndpointConfig(api.api_version)}
        ctr = api.create_container(
            self.image, name=self.name, labels=tags, entrypoint=["python3", "-c", FORWARDER.read_text()],
            command=[str(PORT), *self.targets], ports=[PORT], host_config=host_config,
            networking_config=api.create_networking_config(endpoints))
        api.connect_container_to_network(ctr["Id"], self.network, ipv4_address=self.ip)
        api.start(ctr["Id"])
        self.tunnel = self._tunnel(ctr["Id"], outside, timeout)
        return self.tunnel

    def _tunnel(self, ident: str, outside: str, timeout: float) -> Tunnel:
        """Where the forwarder is reached, once it listens (its one log line says so)."""
        api = client().api
        deadline = time.monotonic() + timeout
        while b"gateway: forwarding" not in api.logs(ident):
            attrs = api.inspect_container(ident)
            if not attrs["State"]["Running"] or time.monotonic() > deadline:
                raise GatewayError(f"the gateway container {self.name} did not start its forwarder "
                                   f"(state {attrs['State']['Status']}): {api.logs(ident).decode()[-1500:]}")
            time.sleep(0.05)
        attrs = api.inspect_container(ident)
        if self.where.network:
            return Tunnel(str(attrs["NetworkSettings"]["Networks"][outside]["IPAddress"]), PORT)
        bindings = attrs["NetworkSettings"]["Ports"].get(f"{PORT}/tcp") or []
        if not bindings:
            raise GatewayError(f"the engine published no port for {self.name}: {attrs['NetworkSettings']['Ports']}")
        return Tunnel(self.where.host, int(bindings[0]["HostPort"]))

    def probe(self, timeout: float = 3.0) -> str:
        """"" when the gateway answers through its tunnel, else what went wrong."""
        assert self.tunnel is not None
        try:
            sock = socket.create_connection((self.tunnel.host, self.tunnel.port), timeout=timeout)
            sock.close()
            return ""
        except OSError as exc:
            return f"{exc.__class__.__name__}: {exc}"

    def remove(self) -> None:
        try:
            client().api.remove_container(self.name, force=True)
        except docker.errors.APIError as exc:  # gone already: the topology's label-wide removal comes next anyway
            log.debug("mailharness: gateway %s: %s", self.name, exc)
