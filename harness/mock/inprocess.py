"""The mock SMTP server in-process, for tests without Docker.

:class:`MockSMTP` runs the same protocol and interpreter as the container
(``python3 -m harness.mock.server``) on an asyncio loop in a background
thread.  Port 0 (the default) binds a free port, so parallel test workers
never clash::

    from harness.mock import MockSMTP, Script, rule, step

    with MockSMTP(Script(rules=(rule("rcpt", step("451 4.3.2 busy", times=2)),))) as mock:
        send_mail_to(("127.0.0.1", mock.port))          # the code under test
        msg = mock.wait_for_messages(1, timeout=10)[0]  # blocks on a Condition
        assert mock.sessions[0].reply_to("RCPT").startswith("451")
        mock.script = mock.script.hide("DSN")           # takes effect at the next command
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
import threading
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

from .aio import close_server
from .protocol import MockSMTPProtocol
from .recorder import Recorder, RecordSink
from .records import MessageRecord, SessionRecord
from .script import Rule, Script
from .spool import SpoolWriter
from .state import ScriptState
from .tls import Certificates, FaultFiles

_logger = logging.getLogger("harness.mock")


def _log_info(text: str) -> None:
    _logger.info("mock: %s", text)


def _log_loop_error(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    _logger.error("mock loop: %s", context.get("message"), exc_info=context.get("exception"))


class MockSMTP:
    """A scripted SMTP server on ``host:port`` in a background thread.

    ``spool``: also write the container spool layout there (see
    :mod:`harness.mock.spool`).  ``log``: called with one line per event
    (default: the ``harness.mock`` logger at INFO level; the container
    prints them to stdout with a ``mock:`` prefix).  ``idle_timeout``:
    seconds without a command before the server closes a connection (long by
    default, so that ``action="hang"`` lasts until the client gives up).
    """

    def __init__(
        self,
        script: Script | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        hostname: str = "mock.test",
        spool: str | os.PathLike[str] | None = None,
        idle_timeout: float = 3600.0,
        log: Callable[[str], None] | None = None,
        tls_context: ssl.SSLContext | None = None,
        certificates: Mapping[str, ssl.SSLContext] | None = None,
        faults_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self.host = host
        self.tls_context = tls_context  # STARTTLS works (when the script advertises it) with this context
        # The certificates by kind (harness.mock.tls: Script.certificate chooses); tls_context is the valid one.
        self.certificates = Certificates(contexts={**({"valid": tls_context} if tls_context else {}),
                                                   **(certificates or {})})
        # Where the harness's TLS faults write their files (harness.mock.tls.FaultFiles); None: no faults.
        self.faults = FaultFiles(os.fspath(faults_dir) if faults_dir is not None else None)
        self.hostname = hostname
        self.idle_timeout = idle_timeout
        self.state = ScriptState(script)
        sinks: list[RecordSink] = []
        first = 1
        if spool is not None:
            writer = SpoolWriter(spool)
            sinks.append(writer)
            first = writer.next_session_id()
        self.recorder = Recorder(sinks=sinks, log=log or _log_info, first_session_id=first)
        self._requested_port = port
        self._port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.AbstractServer | None = None
        self._connections: set[MockSMTPProtocol] = set()

    # -- life cycle -----------------------------------------------------------------
    def start(self) -> MockSMTP:
        if self._loop is not None:
            raise RuntimeError("MockSMTP already started")
        loop = asyncio.new_event_loop()
        loop.set_exception_handler(_log_loop_error)
        self._loop = loop
        self._thread = threading.Thread(target=self._run, args=(loop,), name="mock-smtp", daemon=True)
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self._open(loop), loop).result(timeout=10)
        except BaseException:
            self._shutdown_loop()
            raise
        return self

    @staticmethod
    def _run(loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        loop.run_forever()

    async def _open(self, loop: asyncio.AbstractEventLoop) -> None:
        def factory() -> MockSMTPProtocol:
            return MockSMTPProtocol(
                self.state,
                self.recorder,
                hostname=self.hostname,
                idle_timeout=self.idle_timeout,
                loop=loop,
                connections=self._connections,
                certificates=self.certificates,
                faults=self.faults,
            )

        self._server = await loop.create_server(factory, self.host, self._requested_port)
        self._port = int(self._server.sockets[0].getsockname()[1])

    def stop(self, timeout: float = 10.0) -> None:
        """Close all connections (recorded as ``"server stopped"``) and the listener."""
        loop, server = self._loop, self._server
        if loop is None:
            return
        if server is not None and loop.is_running():
            asyncio.run_coroutine_threadsafe(close_server(server, self._connections), loop).result(timeout)
        self._shutdown_loop(timeout)

    def _shutdown_loop(self, timeout: float = 10.0) -> None:
        loop, thread = self._loop, self._thread
        if loop is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(timeout)
        if not loop.is_running():
            loop.close()
        self._loop = self._thread = self._server = None

    def __enter__(self) -> MockSMTP:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- where ------------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("MockSMTP is not started")
        return self._port

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    # -- the script -------------------------------------------------------------------
    @property
    def script(self) -> Script:
        return self.state.script

    @script.setter
    def script(self, script: Script) -> None:
        """Replace the script; the next command of any session uses it."""
        self.state.script = script

    def reset_counters(self) -> None:
        self.state.reset_counters()

    def hits(self, rule: Rule) -> int:
        return self.state.hits(rule)

    # -- what was seen ----------------------------------------------------------------
    @property
    def sessions(self) -> tuple[SessionRecord, ...]:
        return self.recorder.sessions

    @property
    def messages(self) -> tuple[MessageRecord, ...]:
        return self.recorder.messages

    def wait_for_messages(self, count: int = 1, timeout: float = 10.0) -> tuple[MessageRecord, ...]:
        """Block until ``count`` messages arrived; raise :class:`MockTimeout` saying what was seen."""
        return self.recorder.wait_for_messages(count, timeout)

    def wait_for_sessions(
        self, count: int = 1, timeout: float = 10.0, *, ended: bool = True
    ) -> tuple[SessionRecord, ...]:
        """Block until ``count`` sessions (closed ones, unless ``ended=False``) exist."""
        return self.recorder.wait_for_sessions(count, timeout, ended=ended)

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
        """Block until ``predicate()`` (re-evaluated at every recorded event) is true."""
        self.recorder.wait_until(predicate, timeout, what)

    def clear(self) -> None:
        """Forget finished sessions and all messages (rule counters are kept)."""
        self.recorder.clear()


__all__ = ["MockSMTP"]
