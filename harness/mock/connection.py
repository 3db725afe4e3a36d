"""One mock SMTP connection under its dialogue: its life, its transcript, and how the script's replies go out.

:class:`ScriptedConnection` is the part of :class:`~harness.mock.protocol.MockSMTPProtocol` (an
:class:`aiosmtpd.smtp.SMTP`) that is not the SMTP dialogue itself:

* the connection's life cycle: a session opened and closed in the :class:`~harness.mock.recorder.Recorder`, with
  the reason it ended (quit, client closed, idle timeout, server stopped, mock disconnected);
* the transcript: every client line (message data counted, not kept) and every server reply line recorded;
* sending: the scripted banner instead of aiosmtpd's, the script's reply to DATA instead of aiosmtpd's 354, and
  closing the connection after any 421;
* running the script for one command: ask the shared :class:`~harness.mock.state.ScriptState` what to answer,
  wait its delay, then reply, disconnect or hang; a :class:`~harness.mock.params.Refusal` becomes its reply.

The commands (banner, HELO, EHLO, MAIL, RCPT, DATA, end of data) are harness.mock.protocol's.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable, Coroutine, Iterable
from typing import Any, AnyStr, Self

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from .aio import Hooks, RecordingReader
from .params import Refusal
from .recorder import Recorder
from .script import Script, ScriptedReply, Stage, Step
from .state import ScriptState
from .tls import Certificates, FaultFiles


class _Disconnected(Exception):
    """The script closed (or hung up on) the connection: stop handling the command."""


class ScriptedConnection(SMTP):
    """One scripted SMTP connection without its commands (see the module docstring): MockSMTPProtocol adds them."""

    def __init__(
        self,
        state: ScriptState,
        recorder: Recorder,
        *,
        hostname: str,
        idle_timeout: float = 3600.0,
        loop: asyncio.AbstractEventLoop | None = None,
        refresh: Callable[[], object] | None = None,
        connections: set[Self] | None = None,
        certificates: Certificates | None = None,
        faults: FaultFiles | None = None,
    ) -> None:
        hooks = Hooks()
        self.certificates = certificates or Certificates()  # the contexts STARTTLS may use, by kind
        self.faults = faults or FaultFiles()  # what the harness's TLS faults say (harness.mock.tls)
        super().__init__(
            hooks,
            data_size_limit=None,
            enable_SMTPUTF8=True,  # decode UTF-8 commands; SMTPUTF8 itself is scripted
            decode_data=False,
            hostname=hostname,
            ident="ESMTP mock",
            timeout=idle_timeout,
            loop=loop,
            tls_context=self.certificates.context("valid"),  # the one used is chosen at STARTTLS
            authenticator=self._check_login,
            auth_require_tls=True,  # AUTH before STARTTLS: 538 5.7.11 (a password never travels in clear)
        )
        hooks.protocol = self
        # MAIL/RCPT with DSN parameters exceed aiosmtpd's 512-byte command limit.
        self.command_size_limits = collections.defaultdict(lambda: 1000)
        self.state = state
        self.recorder = recorder
        self.default_hostname = hostname
        self._refresh = refresh
        self._connections = connections
        self.sid = 0
        self.quit_seen = False
        self._peer_ip = ""
        self._banner_pending = True
        self._dropped = False
        self._end_reason: str | None = None
        self._in_data = False
        self._data_bytes = 0
        self._data_lines = 0
        self._data_reply: list[str] | None = None
        self.tls_version = ""  # the TLS protocol once STARTTLS completed
        self.login = ""  # the user a successful AUTH named

    def _check_login(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                     auth_data: object) -> AuthResult:
        """aiosmtpd's authenticator: the script's logins (user, password) are the accepted ones."""
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user, password = auth_data.login.decode("utf-8", "replace"), auth_data.password.decode("utf-8", "replace")
        ok = (user, password) in self.script.logins
        self.note(f"AUTH {mechanism} as {user}: " + ("accepted" if ok else "refused (not one of the script's logins)"))
        if ok:
            self.login = user
        return AuthResult(success=ok, handled=False)

    # -- connection life cycle ------------------------------------------------
    def connection_made(self: Self, transport: asyncio.BaseTransport) -> None:
        if self._original_transport is not None:  # aiosmtpd calls it again once STARTTLS's handshake is done
            super().connection_made(transport)
            self.tls_version = str(transport.get_extra_info("ssl_object").version() or "TLS")
            self.note(f"TLS started ({self.tls_version})")
            return
        super().connection_made(transport)
        # The command loop task exists but has not run yet: wrap its reader now.
        self._reader = RecordingReader(self._reader, self._saw_line)  # type: ignore[assignment]
        peer = transport.get_extra_info("peername") or ("", 0)
        self._peer_ip = str(peer[0])
        if self._connections is not None:
            self._connections.add(self)
        if self._refresh is not None:
            self._refresh()
        self.sid = self.recorder.open_session(self._peer_ip, int(peer[1]))

    def connection_lost(self, error: Exception | None) -> None:
        reason = self._end_reason or ("quit" if self.quit_seen else "client closed")
        self.recorder.close_session(self.sid, reason)
        if self._connections is not None:
            self._connections.discard(self)
        super().connection_lost(error)

    def _timeout_cb(self) -> None:
        self._end_reason = self._end_reason or "idle timeout"
        super()._timeout_cb()

    def shutdown(self) -> None:
        """Close the connection because the server is stopping."""
        self._end_reason = self._end_reason or "server stopped"
        self._drop()

    def _drop(self) -> None:
        self._dropped = True
        self._end_reason = self._end_reason or "mock disconnected"
        if self.transport is not None:
            self.transport.close()

    # -- recording ----------------------------------------------------------------
    def note(self, text: str) -> None:
        self.recorder.note(self.sid, text)

    def _saw_line(self, line: bytes) -> None:
        if self._in_data:
            if line == b".\r\n":
                self._in_data = False
                self.note(f"message data: {self._data_bytes} bytes in {self._data_lines} lines")
                self.recorder.client_line(self.sid, ".")
            else:
                self._data_bytes += len(line)
                self._data_lines += 1
            return
        self.recorder.client_line(self.sid, line.rstrip(b"\r\n").decode("utf-8", "replace"))
        if self._refresh is not None:
            self._refresh()

    async def push(self, status: AnyStr) -> None:
        if self._banner_pending:  # aiosmtpd's first push is its banner: script it instead
            self._banner_pending = False
            try:
                await self._banner()
            except Exception as e:  # any bug in the scripted banner (a script action, the state, the recorder):
                # aiosmtpd would not catch it and the client would wait for ever. Not silent: the note goes to the
                # session's transcript and the mock's log, and the client gets a 421.
                self.note(f"internal error: {type(e).__name__}: {e}")
                await self.push(f"421 4.3.0 Error: mock internal error ({type(e).__name__})")
            return
        if self._dropped:
            return
        text = status if isinstance(status, str) else status.decode("utf-8", "replace")
        self._in_data = starts_data = False
        if self._data_reply is not None and text.startswith("354"):  # aiosmtpd's 354: send the script's
            lines, self._data_reply = self._data_reply, None
            for line in lines[:-1]:
                await self.push(line)
            text, starts_data = lines[-1], True
        self.recorder.server_line(self.sid, text)
        if starts_data:
            self._in_data, self._data_bytes, self._data_lines = True, 0, 0
        await super().push(text)
        if text[:3] == "421" and text[3:4] in ("", " "):
            self._drop()

    # -- scripting helpers ---------------------------------------------------------
    @property
    def script(self) -> Script:
        return self.state.script

    def hostname_now(self) -> str:
        return self.script.hostname or self.default_hostname

    def default(self, code: int, enhanced: str | None, text: str) -> str:
        return str(self.default_reply(code, enhanced, text))

    def default_reply(self, code: int, enhanced: str | None, text: str) -> ScriptedReply:
        """A built-in reply; its enhanced code only if ENHANCEDSTATUSCODES is advertised."""
        return ScriptedReply(code, enhanced if self.script.advertises("ENHANCEDSTATUSCODES") else None, text)

    async def _answer(
        self,
        stage: Stage,
        addresses: Iterable[str],
        default: ScriptedReply,
        before_silence: Callable[[], None] | None = None,
    ) -> ScriptedReply:
        """Run the script for one command: the reply to send, or raise _Disconnected."""
        decision = self.state.decide(stage, addresses)
        if decision is None:
            return default
        self.note(decision.describe())
        step: Step = decision.step
        if step.delay:
            await asyncio.sleep(step.delay)
        if step.action != "reply":
            if before_silence is not None:
                before_silence()
            if step.action == "disconnect":
                self.note("disconnecting (script)")
                self._drop()
            else:
                self.note("hanging (script): no reply until the client closes")
                await asyncio.get_running_loop().create_future()  # cancelled at close
            raise _Disconnected
        return default if step.reply is None else step.reply

    async def _send(self, reply: ScriptedReply) -> None:
        for line in reply.lines():
            await self.push(line)

    async def _attempt(self, command: Coroutine[Any, Any, ScriptedReply]) -> ScriptedReply | None:
        """Run one command handler: its reply, its refusal, or None if the script hung up."""
        try:
            return await command
        except Refusal as e:
            return self.default_reply(e.reply.code, e.reply.enhanced, e.reply.text)
        except _Disconnected:
            return None

    async def _run(self, command: Coroutine[Any, Any, ScriptedReply]) -> None:
        reply = await self._attempt(command)
        if reply is not None:
            await self._send(reply)

    # -- what the dialogue (harness.mock.protocol) provides -----------------------------
    async def _banner(self) -> None:
        """Send the greeting: the first thing aiosmtpd pushes."""
        raise NotImplementedError

    def reset_transaction(self) -> None:
        raise NotImplementedError

    async def end_of_data(self, envelope: Envelope) -> str:
        """The DATA hook: the reply to the final dot."""
        raise NotImplementedError
