"""A shell kept open in a node, so that running a command costs a round trip on an open socket instead of a
`docker exec` (three API calls and a runc exec: 30-80 ms each here, the most of a warm reset).

One `sh` per container, started with `docker exec -i` and driven over the attached socket. Each command runs in
a subshell with stdin from /dev/null (so it cannot eat the next command), its stdout and stderr come back as
they were written, and a marker with a fresh token on stderr carries its exit status. The engine frames the
two streams (8-byte headers: stream, size), so binary output (a tar of a mailbox) passes untouched.

When the shell cannot be used (the container was stopped, the socket closed) the caller falls back to a plain
`docker exec`, which says what is wrong in the engine's words; the shell is opened again on the next command.
"""

from __future__ import annotations

import re
import shlex
import struct
import threading
import uuid
from typing import Any

import docker.errors
import requests

from ..errors import MailharnessError


class ShellLost(MailharnessError, OSError):
    """The kept shell is gone (container stopped or restarted, socket closed): use `docker exec` this time."""


class Shell:
    def __init__(self, api: Any, container_id: str, *, timeout: float = 120.0):
        self._api = api
        self._container_id = container_id
        self._timeout = timeout
        self._lock = threading.Lock()
        self._sock: Any = None
        self._pending = b""

    def close(self) -> None:
        with self._lock:
            self._drop()

    def run(self, cmd: list[str] | str) -> tuple[int, bytes, bytes]:
        """Run `cmd` (an argv list, or a shell command line), return (exit status, stdout, stderr)."""
        line = cmd if isinstance(cmd, str) else shlex.join(cmd)
        token = uuid.uuid4().hex
        script = (f"( {line}\n) </dev/null; printf '\\n__mh_{token} %d\\n' $?; "
                  f"printf '\\n__mh_{token}\\n' >&2\n").encode()
        with self._lock:
            if self._sock is None:
                self._open()
            try:
                self._sock.sendall(script)
                return self._read_until(token)
            except (OSError, ValueError) as exc:
                self._drop()
                raise ShellLost(f"the kept shell of {self._container_id[:12]} is gone: {exc}") from exc

    # -- the socket -------------------------------------------------------------------------------------------
    def _open(self) -> None:
        try:
            ex = self._api.exec_create(self._container_id, ["sh"], stdin=True, stdout=True, stderr=True)
            sock = self._api.exec_start(ex["Id"], socket=True)
        except (docker.errors.APIError, requests.exceptions.RequestException) as exc:  # not running, or gone
            raise ShellLost(f"cannot open a shell in {self._container_id[:12]}: {exc}") from exc
        self._sock = getattr(sock, "_sock", sock)  # docker-py returns a SocketIO around the socket on Unix
        self._sock.settimeout(self._timeout)
        self._pending = b""

    def _drop(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:  # closing a socket the engine already closed: nothing left to release
                pass
        self._sock = None

    def _recv(self, n: int) -> bytes:
        while len(self._pending) < n:
            try:
                chunk = self._sock.recv(65536)
            except TimeoutError as exc:
                raise OSError(f"no answer within {self._timeout:g}s") from exc
            if not chunk:
                raise OSError("the shell's stream ended")
            self._pending += chunk
        out, self._pending = self._pending[:n], self._pending[n:]
        return out

    def _read_until(self, token: str) -> tuple[int, bytes, bytes]:
        """Read frames until the marker has come on both streams (the engine copies each stream on its own, so
        one can run ahead of the other): stdout's carries the exit status."""
        done_out = re.compile(rb"\n__mh_" + token.encode() + rb" (\d+)\n")
        done_err = re.compile(rb"\n__mh_" + token.encode() + rb"\n")
        streams = {1: bytearray(), 2: bytearray()}
        m_out: re.Match[bytes] | None = None
        m_err: re.Match[bytes] | None = None
        while m_out is None or m_err is None:
            stream, size = struct.unpack(">BxxxL", self._recv(8))
            buf = streams[2 if stream == 2 else 1]
            buf += self._recv(size)
            if stream == 2:
                m_err = m_err or done_err.search(buf)
            else:
                m_out = m_out or done_out.search(buf)
        return int(m_out.group(1)), bytes(streams[1][:m_out.start()]), bytes(streams[2][:m_err.start()])
