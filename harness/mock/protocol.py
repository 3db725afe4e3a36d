"""The scripted SMTP dialogue, as an :class:`aiosmtpd.smtp.SMTP` subclass.

One :class:`MockSMTPProtocol` serves one connection.  It overrides the
banner, HELO, EHLO, MAIL, RCPT and DATA (aiosmtpd would refuse the DSN
parameters with 555 and upper-case their xtext values), asks the shared
:class:`~harness.mock.state.ScriptState` what to answer at each stage, and
reports every client line and server reply line to a
:class:`~harness.mock.recorder.Recorder`.  Everything else (the command
loop, reading message data, NOOP, RSET, QUIT, VRFY, HELP, STARTTLS -> 454)
is aiosmtpd's.  Works with aiosmtpd 1.4.3 (Debian bookworm) and 1.4.6.

Protocol details that the script does not change:

* a reply with code 421 (scripted or not) is followed by closing the connection;
* after a banner that is not 2xx, HELO/EHLO/MAIL/RCPT/DATA get 503 (QUIT works);
* parameters of extensions that are not advertised get ``555 5.5.4``;
  malformed DSN parameters get ``501 5.5.4``; MAIL SIZE over the limit ``552 5.3.4``;
* default replies carry enhanced status codes only when ENHANCEDSTATUSCODES
  is advertised; scripted replies are sent exactly as written.
"""

from __future__ import annotations

import asyncio
import collections
import re
import time
from collections.abc import Callable, Iterable
from typing import Any, AnyStr

from aiosmtpd.smtp import SMTP, Envelope, Session

from .recorder import Recorder
from .records import MessageRecord, Params, RcptRecord, xtext_decode
from .script import KNOWN_EXTENSIONS, Reply, Script, Stage, Step
from .state import ScriptState

_MAIL_RE = re.compile(r"FROM:\s*(<[^>]*>|[^<>\s]+)(.*)", re.IGNORECASE | re.DOTALL)
_RCPT_RE = re.compile(r"TO:\s*(<[^>]*>|[^<>\s]+)(.*)", re.IGNORECASE | re.DOTALL)
_PARAM_KEY_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")
_ADDR_TYPE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")
_NOTIFY = {"SUCCESS", "FAILURE", "DELAY"}


class _Disconnected(Exception):
    """The script closed (or hung up on) the connection: stop handling the command."""


class _ParamError(Exception):
    def __init__(self, reply: Reply) -> None:
        super().__init__(str(reply))
        self.reply = reply


def _address(token: str) -> str:
    addr = token[1:-1] if token.startswith("<") and token.endswith(">") else token
    if addr.startswith("@") and ":" in addr:  # source route <@a,@b:user@c>
        addr = addr.split(":", 1)[1]
    return addr


def parse_params(text: str) -> Params:
    """``"NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a+2Bb@x SMTPUTF8"`` -> dict (keys upper-cased)."""
    params: Params = {}
    for token in text.split():
        key, eq, value = token.partition("=")
        if not _PARAM_KEY_RE.fullmatch(key) or (eq and not value):
            raise _ParamError(Reply(501, "5.5.4", f"Bad parameter syntax: {token}"))
        key = key.upper()
        if key in params:
            raise _ParamError(Reply(501, "5.5.4", f"Duplicate {key} parameter"))
        params[key] = value if eq else None
    return params


def _bad(key: str) -> _ParamError:
    return _ParamError(Reply(501, "5.5.4", f"Bad {key} parameter syntax"))


def _check_xtext(key: str, value: str | None, max_len: int) -> None:
    try:
        if value is None or len(xtext_decode(value)) > max_len:
            raise _bad(key)
    except ValueError:
        raise _bad(key) from None


def check_mail_params(params: Params, script: Script) -> None:
    """Refuse MAIL parameters the script's extensions do not allow."""
    for key, value in params.items():
        needs = {"SIZE": "SIZE", "BODY": "8BITMIME", "SMTPUTF8": "SMTPUTF8", "ENVID": "DSN", "RET": "DSN"}
        if key not in needs or not script.advertises(needs[key]):
            raise _ParamError(Reply(555, "5.5.4", f"Unsupported option: {key}"))
        if key == "SIZE":
            if value is None or not value.isdigit():
                raise _bad(key)
            if script.size_limit and int(value) > script.size_limit:
                raise _ParamError(Reply(552, "5.3.4", "Message size exceeds fixed limit"))
        elif key == "BODY" and (value or "").upper() not in ("7BIT", "8BITMIME"):
            raise _bad(key)
        elif key == "SMTPUTF8" and value is not None:
            raise _bad(key)
        elif key == "ENVID":
            _check_xtext(key, value, 100)
        elif key == "RET" and (value or "").upper() not in ("FULL", "HDRS"):
            raise _bad(key)


def check_rcpt_params(params: Params, script: Script) -> None:
    """Refuse RCPT parameters the script's extensions do not allow."""
    for key, value in params.items():
        if key not in ("NOTIFY", "ORCPT") or not script.advertises("DSN"):
            raise _ParamError(Reply(555, "5.5.4", f"Unsupported option: {key}"))
        if key == "NOTIFY":
            words = (value or "").upper().split(",")
            if len(set(words)) != len(words) or not (words == ["NEVER"] or set(words) <= _NOTIFY):
                raise _bad(key)
        else:
            addr_type, sep, rest = (value or "").partition(";")
            if not sep or not _ADDR_TYPE_RE.fullmatch(addr_type):
                raise _bad(key)
            _check_xtext(key, rest, 500)


class _Hooks:
    """aiosmtpd handler: the few hooks we use instead of overriding commands."""

    def __init__(self) -> None:
        self.protocol: MockSMTPProtocol | None = None

    def _proto(self) -> MockSMTPProtocol:
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


class _RecordingReader:
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


class _Transaction:
    def __init__(self, mail_from: str, params: Params, reply: str) -> None:
        self.mail_from = mail_from
        self.params = params
        self.mail_reply = reply
        self.rcpts: list[RcptRecord] = []
        self.data_reply = ""

    def accepted(self) -> list[str]:
        return [r.address for r in self.rcpts if r.accepted]


class MockSMTPProtocol(SMTP):
    """One scripted SMTP connection (see the module docstring)."""

    def __init__(
        self,
        state: ScriptState,
        recorder: Recorder,
        *,
        hostname: str,
        idle_timeout: float = 3600.0,
        loop: asyncio.AbstractEventLoop | None = None,
        refresh: Callable[[], object] | None = None,
        connections: set[MockSMTPProtocol] | None = None,
    ) -> None:
        hooks = _Hooks()
        super().__init__(
            hooks,
            data_size_limit=None,
            enable_SMTPUTF8=True,  # decode UTF-8 commands; SMTPUTF8 itself is scripted
            decode_data=False,
            hostname=hostname,
            ident="ESMTP mock",
            timeout=idle_timeout,
            loop=loop,
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
        self._refused = False
        self._dropped = False
        self._end_reason: str | None = None
        self._in_data = False
        self._data_bytes = 0
        self._data_lines = 0
        self._data_reply: list[str] | None = None
        self._txn: _Transaction | None = None

    # -- connection life cycle ------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        # The command loop task exists but has not run yet: wrap its reader now.
        self._reader = _RecordingReader(self._reader, self._saw_line)  # type: ignore[assignment]
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
            await self._banner()
            return
        if self._dropped:
            return
        text = status if isinstance(status, str) else status.decode("utf-8", "replace")
        self._in_data = False
        if self._data_reply is not None and text.startswith("354"):
            lines, self._data_reply = self._data_reply, None
            for line in lines[:-1]:
                await self.push(line)
            text = lines[-1]
        self.recorder.server_line(self.sid, text)
        if text.startswith("354"):
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

    def default_reply(self, code: int, enhanced: str | None, text: str) -> Reply:
        """A built-in reply; its enhanced code only if ENHANCEDSTATUSCODES is advertised."""
        return Reply(code, enhanced if self.script.advertises("ENHANCEDSTATUSCODES") else None, text)

    async def _answer(
        self,
        stage: Stage,
        addresses: Iterable[str],
        default: Reply,
        before_silence: Callable[[], None] | None = None,
    ) -> Reply:
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

    async def _send(self, reply: Reply) -> None:
        for line in reply.lines():
            await self.push(line)

    async def _refuse_if_needed(self) -> bool:
        if self._refused:
            await self._send(self.default_reply(503, "5.5.1", "Error: no SMTP service here, send QUIT"))
        elif not self.session or not self.session.host_name:
            await self._send(self.default_reply(503, "5.5.1", "Error: send HELO/EHLO first"))
        else:
            return False
        return True

    def reset_transaction(self) -> None:
        self._txn = None
        self.envelope = Envelope()

    # -- banner, HELO, EHLO --------------------------------------------------------
    async def _banner(self) -> None:
        default = Reply(220, None, f"{self.hostname_now()} ESMTP mock")
        try:
            reply = await self._answer("banner", [self._peer_ip], default)
        except _Disconnected:
            return
        self._refused = not 200 <= reply.code < 300
        await self._send(reply)

    def _ehlo_reply(self) -> Reply:
        script = self.script
        keywords = [k for k in KNOWN_EXTENSIONS if k in script.extensions]
        keywords += sorted(script.extensions - set(KNOWN_EXTENSIONS))
        lines = [f"SIZE {script.size_limit}" if k == "SIZE" and script.size_limit else k for k in keywords]
        return Reply(250, None, "\n".join([self.hostname_now(), *lines]))

    async def _greet(self, stage: Stage, name: str | None, esmtp: bool) -> None:
        if self._refused:
            await self._refuse_if_needed()
            return
        if not name:
            await self._send(self.default_reply(501, "5.5.4", f"Syntax: {stage.upper()} hostname"))
            return
        self.reset_transaction()
        default = self._ehlo_reply() if esmtp else Reply(250, None, self.hostname_now())
        try:
            reply = await self._answer(stage, [name], default)
        except _Disconnected:
            return
        if 200 <= reply.code < 300:
            assert self.session is not None
            self.session.host_name = name
            self.session.extended_smtp = esmtp
            self.recorder.set_helo(self.sid, name, esmtp)
        await self._send(reply)

    async def smtp_EHLO(self, hostname: str) -> None:
        await self._greet("ehlo", hostname, True)

    async def smtp_HELO(self, hostname: str) -> None:
        await self._greet("helo", hostname, False)

    # -- MAIL, RCPT --------------------------------------------------------------
    async def smtp_MAIL(self, arg: str | None) -> None:
        if await self._refuse_if_needed():
            return
        if self._txn is not None:
            await self._send(self.default_reply(503, "5.5.1", "Error: nested MAIL command"))
            return
        m = _MAIL_RE.fullmatch(arg or "")
        if m is None:
            await self._send(self.default_reply(501, "5.5.4", "Syntax: MAIL FROM:<address>"))
            return
        address = _address(m.group(1))
        try:
            params = parse_params(m.group(2))
            if params and not (self.session and self.session.extended_smtp):
                raise _ParamError(self.default_reply(555, "5.5.4", "Unsupported option (no EHLO)"))
            check_mail_params(params, self.script)
        except _ParamError as e:
            await self._send(self.default_reply(e.reply.code, e.reply.enhanced, e.reply.text))
            return
        try:
            reply = await self._answer("mail", [address], self.default_reply(250, "2.1.0", "Ok"))
        except _Disconnected:
            return
        if 200 <= reply.code < 300:
            self._txn = _Transaction(address, params, str(reply))
            self.envelope = Envelope()
            self.envelope.mail_from = address
            self.envelope.mail_options = m.group(2).split()
        await self._send(reply)

    async def smtp_RCPT(self, arg: str | None) -> None:
        if await self._refuse_if_needed():
            return
        txn = self._txn
        if txn is None:
            await self._send(self.default_reply(503, "5.5.1", "Error: need MAIL command"))
            return
        m = _RCPT_RE.fullmatch(arg or "")
        address = _address(m.group(1)) if m else ""
        if m is None or not address:
            await self._send(self.default_reply(501, "5.1.3", "Bad recipient address syntax"))
            return
        try:
            params = parse_params(m.group(2))
            if params and not (self.session and self.session.extended_smtp):
                raise _ParamError(self.default_reply(555, "5.5.4", "Unsupported option (no EHLO)"))
            check_rcpt_params(params, self.script)
        except _ParamError as e:
            await self._send(self.default_reply(e.reply.code, e.reply.enhanced, e.reply.text))
            return
        try:
            reply = await self._answer("rcpt", [address], self.default_reply(250, "2.1.5", "Ok"))
        except _Disconnected:
            return
        record = RcptRecord(address, params, str(reply))
        txn.rcpts.append(record)
        if record.accepted:
            assert self.envelope is not None
            self.envelope.rcpt_tos.append(address)
            self.envelope.rcpt_options.extend(m.group(2).split())
        await self._send(reply)

    # -- DATA and end of data -------------------------------------------------------
    async def smtp_DATA(self, arg: str | None) -> None:
        if await self._refuse_if_needed():
            return
        txn = self._txn
        if txn is None:
            await self._send(self.default_reply(503, "5.5.1", "Error: need RCPT command"))
            return
        if arg:
            await self._send(self.default_reply(501, "5.5.4", "Syntax: DATA"))
            return
        if not txn.accepted():
            await self._send(self.default_reply(554, "5.5.1", "Error: no valid recipients"))
            return
        default = Reply(354, None, "End data with <CR><LF>.<CR><LF>")
        try:
            reply = await self._answer("data", txn.accepted(), default)
        except _Disconnected:
            return
        txn.data_reply = str(reply)
        if not 300 <= reply.code < 400:
            await self._send(reply)
            return
        self._data_reply = reply.lines()  # push() sends these instead of aiosmtpd's 354
        self.data_size_limit = self.script.size_limit or None
        await super().smtp_DATA(arg)

    async def end_of_data(self, envelope: Envelope) -> str:
        """The DATA hook: script the reply to the final dot and record the message."""
        txn = self._txn
        assert txn is not None
        self._txn = None
        data = envelope.original_content or b""
        mid = self.recorder.new_message_id(self.sid)

        def record(eod_reply: str | None) -> None:
            assert self.session is not None
            self.recorder.add_message(
                MessageRecord(
                    id=mid,
                    session_id=self.sid,
                    peer=self._peer_ip,
                    helo=self.session.host_name,
                    mail_from=txn.mail_from,
                    mail_params=txn.params,
                    mail_reply=txn.mail_reply,
                    rcpts=tuple(txn.rcpts),
                    data_reply=txn.data_reply,
                    eod_reply=eod_reply,
                    received=time.time(),
                    data=data,
                )
            )

        default = self.default_reply(250, "2.0.0", f"Ok: queued as {mid}")
        try:
            reply = await self._answer("eod", txn.accepted(), default, lambda: record(None))
        except _Disconnected:
            return ""  # push() drops it: the connection is closed
        record(str(reply))
        lines = reply.lines()
        for line in lines[:-1]:
            await self.push(line)
        return lines[-1]


async def close_server(server: asyncio.AbstractServer, connections: set[MockSMTPProtocol]) -> None:
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


__all__ = ["MockSMTPProtocol", "check_mail_params", "check_rcpt_params", "close_server", "parse_params"]
