"""aiosmtpd plumbing for :class:`~harness.mock.protocol.MockSMTPProtocol`.

* :class:`Hooks` is the aiosmtpd "handler": the DATA hook (end of data),
  RSET/NOOP/QUIT replies and internal errors go back to the protocol.
* :class:`RecordingReader` wraps aiosmtpd's StreamReader so the protocol
  sees every line the client sends, before aiosmtpd parses it.
* :func:`close_server` stops a server and its open connections cleanly.

Only the public parts of aiosmtpd's handler API are used, and the reader's
``readuntil``/``readline``, which aiosmtpd 1.4.3 and 1.4.6 both call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from typing import Any, Protocol

from aiosmtpd.smtp import SMTP, Envelope, Session


class Callbacks(Protocol):
    """What the plumbing calls back in the mock's protocol (harness.mock.protocol implements it); a Protocol, so
    that this module does not import the one that imports it."""

    quit_seen: bool

    async def end_of_data(self, envelope: Envelope) -> str: ...

    def reset_transaction(self) -> None: ...

    def default(self, code: int, enhanced: str | None, text: str) -> str: ...

    def note(self, text: str) -> None: ...

    def shutdown(self) -> None: ...


class Hooks:
    """aiosmtpd handler: the few hooks we use instead of overriding commands."""

    def __init__(self) -> None:
        self.protocol: Callbacks | None = None

    def _proto(self) -> Callbacks:
        assert self.protocol is not None
        return self.protocol

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        return await self._proto().end_of_data(envelope)

    async def handle_RSET(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        p = self._proto()
        p.reset_transaction()
        return p.default(250, "2.0.0", "Ok")

    async def handle_NOOP(self, server: SMTP, session: Session, envelope: Envelope, arg: str) -> str:
        return self._proto().default(250, "2.0.0", "Ok")

    async def handle_QUIT(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        p = self._proto()
        p.quit_seen = True
        return p.default(221, "2.0.0", "Bye")

    async def handle_exception(self, error: Exception) -> str:
        p = self._proto()
        p.note(f"internal error: {type(error).__name__}: {error}")
        return f"451 4.3.0 Error: mock internal error ({type(error).__name__})"


class RecordingReader:
    """Wraps aiosmtpd's StreamReader so that every line the client sends is seen."""

    def __init__(self, inner: asyncio.StreamReader, on_line: Callable[[bytes], None]) -> None:
        self._inner = inner
        self._on_line = on_line

    async def readuntil(self, separator: bytes = b"\n") -> bytes:
        line = await self._inner.readuntil(separator)
        self._on_line(line)
        return line

    async def readline(self) -> bytes:
        line = await self._inner.readline()
        self._on_line(line)
        return line

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __setattr__(self, name: str, value: Any) -> None:
        # aiosmtpd sets the reader's transport after STARTTLS: that is the inner reader's
        if name in ("_inner", "_on_line"):
            object.__setattr__(self, name, value)
        else:
            setattr(self._inner, name, value)


async def close_server(server: asyncio.AbstractServer, connections: AbstractSet[Callbacks]) -> None:
    """Stop listening, close every open connection and let their sessions be recorded as closed."""
    server.close()
    for proto in list(connections):
        proto.shutdown()
    await server.wait_closed()
    for _ in range(1000):  # connection_lost() runs a loop iteration or two after close()
        if not connections:
            break
        await asyncio.sleep(0)
    current = asyncio.current_task()
    tasks = [t for t in asyncio.all_tasks() if t is not current]
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


__all__ = ["Hooks", "RecordingReader", "close_server"]
