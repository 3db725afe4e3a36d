"""What every node shares: a container on the topology's network with a fixed address, and its log."""

from __future__ import annotations

import base64
import logging
import shlex
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

import docker.errors
from docker.types import EndpointConfig
from docker.utils import version_lt
from testcontainers.core.container import DockerContainer

from ..access import DIRECT, Access
from ..engine import labels as lbl
from ..engine.docker import client
from ..errors import MailharnessError
from ..evidence.events import EventLog, FollowerDied, LogEvent, LogFollower, MailTimeout
from .shell import Shell, ShellLost

if TYPE_CHECKING:
    import socket

log = logging.getLogger("mailharness")
T = TypeVar("T")


def in_parallel(fns: Sequence[Callable[[], T]]) -> list[T]:
    """Call each function in its own thread (the nodes' commands mostly wait on the engine); their results in
    order. Every call runs to its end; the first exception, in order, is raised."""
    if len(fns) <= 1:
        return [f() for f in fns]
    with ThreadPoolExecutor(max_workers=len(fns)) as pool:
        futures = [pool.submit(fn) for fn in fns]
    return [f.result() for f in futures]


def write_file_command(path: str, content: bytes, mode: int | None = None) -> str:
    """A shell command that writes `content` to `path` in a node, atomically (a temporary file renamed; the
    content travels base64-encoded on the command line), with `mode` when given."""
    b64 = base64.b64encode(content).decode()
    q, tmp = shlex.quote(path), shlex.quote(path + ".mh-tmp")
    chmod = f" && chmod {mode:o} {tmp}" if mode is not None else ""
    return f"echo '{b64}' | base64 -d > {tmp}{chmod} && mv {tmp} {q}"


class NodeError(MailharnessError, RuntimeError):
    """A node could not start or answer; the message carries its log's last lines."""


class _Pausable(Protocol):
    def pause(self) -> None: ...


def pause(container: _Pausable, name: str, timeout: float = 5.0) -> None:
    """Pause a container, asking again while the runtime cannot freeze it yet. runc freezes the container's
    cgroup and gives up ("unable to freeze", thawing it again) when a process does not stop in time, which
    happens on a loaded machine: seen once in 30 soak runs under -n 4 with two CPU hogs. Asking again after a
    moment succeeds; after `timeout` seconds the engine's last answer is raised as a NodeError."""
    deadline = time.monotonic() + timeout
    tries = 0
    while True:
        tries += 1
        try:
            container.pause()
            return
        except docker.errors.APIError as exc:
            if "unable to freeze" not in str(exc):
                raise
            if time.monotonic() >= deadline:
                raise NodeError(f"{name}: the engine could not pause the container in {tries} tries over "
                                f"{timeout:g} s; its last answer: {exc}") from exc
        time.sleep(0.05)  # a moment for the process that held the freeze up (this waits for no mail)


@dataclass(frozen=True)
class Placement:
    """Where a node runs: its topology, the topology's network and subnet, its fixed address, the DNS server it
    asks (None: the DNS node itself), and the event log its mail log goes to."""

    topology_id: str
    network: str
    subnet: str
    ip: str
    dns_ip: str | None
    events: EventLog


# The engine's option that carries per-interface sysctls of one network endpoint (Docker 27, API 1.46, and later).
ENDPOINT_SYSCTLS = "com.docker.network.endpoint.sysctls"


def _interface_sysctls(api_version: str, settings: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """Sysctls of the node's network interface, named with IFNAME ("net.ipv4.neigh.IFNAME.retrans_time_ms"), in
    the form the engine takes: (the endpoint's driver options, the container's sysctls). From API 1.46 on as the
    endpoint's option (from 1.48 the engine refuses an interface's sysctl among the container's); before, among
    the container's sysctls for its one interface, eth0."""
    if not settings:
        return {}, {}
    if not version_lt(api_version, "1.46"):
        return {ENDPOINT_SYSCTLS: ",".join(f"{k}={v}" for k, v in settings.items())}, {}
    return {}, {k.replace(".IFNAME.", ".eth0."): v for k, v in settings.items()}


class Node:
    """A running container. Subclasses say which image, environment and files it gets, and when it is ready."""

    kind = "node"
    # Whether the node's SMTP server gives enhanced status codes (RFC 2034: it advertises ENHANCEDSTATUSCODES and
    # prefixes every reply with one); a server that does not may refuse with a bare "550 Unrouteable address".
    enhanced_status_codes = True

    def __init__(self, name: str, hostname: str, image: str, placement: Placement, *, domain: str = "",
                 interface_sysctls: Mapping[str, str] | None = None):
        self.name, self.hostname, self.image, self.domain = name, hostname, image, domain
        self.placement = placement
        self.ip, self.network, self.topology_id = placement.ip, placement.network, placement.topology_id
        self.events = placement.events
        self.container = DockerContainer(image)
        api = client().api
        endpoint_opts, sysctls = _interface_sysctls(api.api_version, interface_sysctls or {})
        self.container.with_kwargs(
            hostname=hostname,
            labels=lbl.labels(topology=placement.topology_id, node=name),
            network=placement.network,
            networking_config={placement.network: EndpointConfig(api.api_version, aliases=[hostname],
                                                                 ipv4_address=placement.ip,
                                                                 driver_opt=endpoint_opts or None)},
            **({"dns": [placement.dns_ip]} if placement.dns_ip else {}),
            **({"sysctls": sysctls} if sysctls else {}),
        )
        # The container's own sysctls name eth0 (engines before API 1.46): it cannot start without that interface.
        self._sysctls_need_eth0 = bool(sysctls)
        self._endpoint_opts = endpoint_opts  # from API 1.46: given again when the node is connected again
        self.follower: LogFollower | None = None
        self.started_at = 0.0
        # The container's state as the availability faults left it (harness.faults.ledger reads and drives these).
        self.halted = False
        self.frozen = False
        self.connected = True
        self._shell: Shell | None = None  # a shell kept open in the container (harness.nodes.shell)
        self._shell_lock = threading.Lock()  # the threads that run commands in parallel open one shell
        self.access: Access = DIRECT  # how the test process reaches it (harness.access; the topology decides)
        self._staged: list[Path] = []  # folders of add_files, on this host until the container is created

    def add_files(self, files: Mapping[str, bytes]) -> None:
        """Files (path -> content) the container has before its first process starts (the node's TLS files). The
        files of one folder go in as one archive when the container is created (the engine takes each archive in
        a round trip of its own: seven files one by one cost a busy engine a second)."""
        folders: dict[str, dict[str, bytes]] = {}
        for path, content in files.items():
            folder, _, name = path.rpartition("/")
            folders.setdefault(folder, {})[name] = content
        for folder, contents in folders.items():
            staged = Path(tempfile.mkdtemp(prefix="mailharness-files-")) / folder.rsplit("/", 1)[-1]
            staged.mkdir()
            for name, content in contents.items():
                (staged / name).write_bytes(content)
            self._staged.append(staged.parent)
            self.container.with_copy_into_container(staged, folder.rsplit("/", 1)[0] or "/")

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> None:
        self.started_at = time.monotonic()
        try:
            self.container.start()
        finally:
            for staged in self._staged:  # in the container now (or never: the start failed)
                shutil.rmtree(staged, ignore_errors=True)
            self._staged = []
        self._follow(None)

    def _follow(self, since: float | None) -> None:
        kw = {"since": since} if since is not None else {}
        stream = client().api.logs(self.id, stream=True, follow=True, **kw)  # type: ignore[call-overload]
        self.follower = LogFollower(self.name, stream, self.events, self.on_event)
        self.follower.start()

    def on_event(self, ev: LogEvent) -> None:
        """Each event of this node's log, as it arrives (on the follower's thread: never block here)."""

    def wait_ready(self, timeout: float, since: int) -> None:
        """Wait until the node serves (its start logged, and for SMTP nodes its banner read)."""
        self.wait_started(timeout, since)

    def wait_started(self, timeout: float, since: int) -> None:
        """Wait until the node's log says it started (needs no network path to it)."""
        raise NotImplementedError

    # -- availability faults (harness.faults.ledger decides when) ---------------------------------------------------
    def halt(self) -> None:
        """Stop the container: connections to its address time out, as for a host that is gone."""
        if self.frozen:
            self.thaw()
        if self.follower is not None:
            self.follower.stop()  # its stream ends on purpose: not a follower that died
        if self._shell is not None:
            self._shell.close()
            self._shell = None
        self.container.get_wrapped_container().stop(timeout=0)
        self.halted = True

    def resume(self) -> None:
        """Start a halted container again, with the same address, and wait until it serves (or, while it is cut
        from the network or about to be, until it logs its start)."""
        if not self.halted:
            return
        since = time.time()
        mark = self.events.mark()
        if not self.connected and self._sysctls_need_eth0:
            # Started on the network (its services are not up yet: nothing can reach them) and cut again at once:
            # without eth0 the engine refuses to start a container whose sysctls name it.
            self.reconnect()
            self.container.get_wrapped_container().start()
            self.disconnect()
        else:
            self.container.get_wrapped_container().start()
        self._follow(since)
        self.halted = False
        if self.connected:
            self.wait_ready(30, mark)
        else:
            self.wait_started(30, mark)

    def freeze(self) -> None:
        """Pause every process: the kernel still completes TCP handshakes, but nothing ever answers."""
        pause(self.container.get_wrapped_container(), self.name)
        self.frozen = True

    def thaw(self) -> None:
        self.container.get_wrapped_container().unpause()
        self.frozen = False

    @property
    def alive(self) -> bool:
        """Running and not frozen: it can run commands and write its log."""
        return not self.halted and not self.frozen

    def disconnect(self) -> None:
        """Cut the node from the topology's network: connections to it time out."""
        client().networks.get(self.network).disconnect(self.id, force=True)
        self.connected = False

    def reconnect(self) -> None:
        client().networks.get(self.network).connect(self.id, ipv4_address=self.ip, aliases=[self.hostname],
                                                    driver_opt=self._endpoint_opts or None)
        self.connected = True

    def reset(self) -> None:
        """Back to the state right after start (between tests). Nodes with state override this."""

    def stop(self) -> None:
        try:
            self.container.stop()
        except docker.errors.APIError as exc:  # NotFound or 409 "removal in progress": removed already (Ctrl-C
            # cleanup, the sweep, or the topology's label-wide removal): nothing left to do
            log.debug("mailharness: %s was already removed or being removed: %s", self.name, exc)

    # -- access --------------------------------------------------------------------------------------
    @property
    def id(self) -> str:
        return str(self.container.get_wrapped_container().id)

    def exec(self, cmd: list[str] | str, *, check: bool = True) -> bytes:
        """Run a command in the node and return its stdout then its stderr; with check, a non-zero exit raises
        NodeError with that output. Goes through the node's kept shell (a round trip on an open socket);
        `docker exec` when that shell is unusable."""
        code, out, err = self._run(cmd)
        if check and code != 0:
            raise NodeError(f"{self.name}: {cmd!r} exited {code}: {(out + err).decode('utf-8', 'replace')[-2000:]}")
        return out + err

    def run(self, cmd: list[str] | str) -> tuple[int, bytes, bytes]:
        """Run a command in the node: its exit status, stdout and stderr (never raises for a non-zero exit)."""
        return self._run(cmd)

    def read(self, cmd: list[str], ok: tuple[int, ...] = (0,)) -> bytes:
        """Run a command whose stdout is data (a tar of a mailbox): stdout alone; an exit status outside `ok`
        raises NodeError with its stderr."""
        code, out, err = self._run(cmd)
        if code not in ok:
            raise NodeError(f"{self.name}: {cmd!r} exited {code}: {err.decode('utf-8', 'replace')[-2000:]}")
        return out

    def _run(self, cmd: list[str] | str) -> tuple[int, bytes, bytes]:
        if self.alive:
            with self._shell_lock:
                if self._shell is None:
                    self._shell = Shell(client().api, self.id)
                shell = self._shell
            try:
                return shell.run(cmd)
            except ShellLost as exc:
                log.debug("mailharness: %s: %s; using docker exec", self.name, exc)
        res = client().api.exec_create(self.id, cmd, stdout=True, stderr=True)
        out, err = client().api.exec_start(res["Id"], demux=True)
        code = client().api.exec_inspect(res["Id"])["ExitCode"]
        return int(code), bytes(out or b""), bytes(err or b"")

    def put_file(self, path: str, content: bytes, mode: int = 0o644) -> None:
        """Write a file in the node (through exec, so it also works on tmpfs mounts)."""
        self.exec(["sh", "-c", write_file_command(path, content, mode)])

    def log_lines(self, since: int = 0) -> list[str]:
        return [e.line for e in self.events.since(since, node=self.name)]

    def wait_log(self, needle: str, timeout: float, since: int, what: str) -> None:
        try:
            self.events.wait(lambda e: e.node == self.name and needle in e.line, timeout=timeout, since=since,
                             what=f"{self.name} to log {needle!r} ({what})")
        except FollowerDied:
            raise  # the harness's own failure, not the node's: say it as it is
        except MailTimeout as exc:
            state = self.container.get_wrapped_container()
            state.reload()
            raise NodeError(f"{self.name} ({self.kind}, {self.image}) did not become ready: container "
                            f"{state.status}.\n{exc}") from None

    def connect(self, port: int = 25, timeout: float = 5.0) -> socket.socket:
        """A TCP connection from the test process to this node's port, on the topology's access path."""
        return self.access.connect(self.ip, port, timeout)

    def wait_banner(self, timeout: float, port: int = 25) -> str:
        """Read the SMTP banner: the node answers. Polls connect with a deadline (refused is instant)."""
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            try:
                with self.connect(port, timeout=2) as s:
                    banner = s.recv(512).decode("ascii", "replace").strip()
                    s.sendall(b"QUIT\r\n")
                    if banner.startswith("220"):
                        return banner
                    last = banner
            except OSError as exc:
                last = str(exc)
            time.sleep(0.02)
        raise NodeError(f"{self.name}: no 220 banner from {self.ip}:{port} within {timeout:g}s, access "
                        f"{self.access} (last: {last})")

    def describe(self) -> dict[str, str]:
        return {"name": self.name, "kind": self.kind, "hostname": self.hostname, "ip": self.ip}
