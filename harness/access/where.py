"""Where the test process stands relative to the Docker engine, for the gateway: the address the process reaches
the engine's host at (its published ports), or the network the process shares with the engine's containers.

- `MAILHARNESS_ACCESS_HOST` set: that address, ports published on all of the host's addresses (the user knows
  where the engine's host is reached from here; it may be behind NAT).
- The process runs in a container of this very engine (a CI job container with the socket mounted, a
  devcontainer): its own container is found from /proc/self/mountinfo (the engine bind-mounts
  /etc/hostname from .../containers/<id>/) or from its host name; the gateway then joins the process's own
  network and is reached at its address there. Published ports would not do: a connection from one bridge
  network to a port published for another is dropped by the engine's own isolation rules.
- `DOCKER_HOST=tcp://H:P` or `ssh://user@H`: the engine's host is H (GitLab's docker:dind service, a remote
  engine); ports are published on H's addresses (only on loopback when H is a loopback address).
- Otherwise (the local socket: a Linux host, Docker Desktop, Podman): 127.0.0.1, ports published on loopback only.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import docker.errors

from ..engine.docker import client

_CONTAINER_ID = re.compile(r"/containers/([0-9a-f]{64})/(?:hostname|hosts|resolv\.conf)\b")


@dataclass(frozen=True)
class Standpoint:
    """How the gateway is reached. `network`: the network the gateway joins to be reached at its own address
    there (the process's container's network), or "" to publish its port on the engine's host at `host`, bound to
    `bind` ("" for all the host's addresses). `why` says how this was found."""

    host: str
    bind: str
    network: str
    why: str


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def own_container_id() -> str:
    """This process's container id if it runs in a container (of any engine), else ""."""
    try:
        text = Path("/proc/self/mountinfo").read_text()
    except OSError:
        return ""
    m = _CONTAINER_ID.search(text)
    return m.group(1) if m else ""


def _own_network() -> tuple[str, str] | None:
    """(network name, our address there) when this process runs in a container of the engine we talk to, on a
    network other than the host's; None otherwise."""
    api = client().api
    for ident in filter(None, (own_container_id(), socket.gethostname())):
        try:
            attrs = api.inspect_container(ident)
        except docker.errors.NotFound:
            continue
        except docker.errors.APIError:
            continue
        if not str(attrs.get("Id", "")).startswith(ident):
            continue  # a container named like our host name, not us
        if str(attrs.get("HostConfig", {}).get("NetworkMode", "")) == "host":
            return None
        for name, net in (attrs.get("NetworkSettings", {}).get("Networks") or {}).items():
            if net.get("IPAddress"):
                return name, str(net["IPAddress"])
    return None


def standpoint() -> Standpoint:
    forced = os.environ.get("MAILHARNESS_ACCESS_HOST", "").strip()
    if forced:
        return Standpoint(forced, "127.0.0.1" if _is_loopback(forced) else "", "",
                          f"at MAILHARNESS_ACCESS_HOST={forced}")
    own = _own_network()
    if own is not None:
        return Standpoint("", "", own[0], f"on network {own[0]}, which this process's own container (at {own[1]}) "
                                          "is on")
    docker_host = os.environ.get("DOCKER_HOST", "")
    if docker_host and not docker_host.startswith(("unix://", "npipe://")):
        host = urlsplit(docker_host).hostname or "127.0.0.1"
        return Standpoint(host, "127.0.0.1" if _is_loopback(host) else "", "",
                          f"at the host of DOCKER_HOST={docker_host}")
    return Standpoint("127.0.0.1", "127.0.0.1", "", "at the local engine's host, on loopback")
