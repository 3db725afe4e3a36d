"""The scripted SMTP dialogue, as an :class:`aiosmtpd.smtp.SMTP` subclass.

One :class:`MockSMTPProtocol` serves one connection.  It overrides the
banner, HELO, EHLO, MAIL, RCPT and DATA (aiosmtpd would refuse the DSN
parameters with 555 and upper-case their xtext values), asks the shared
:class:`~harness.mock.state.ScriptState` what to answer at each stage, and
reports every client line and server reply line to a
:class:`~harness.mock.recorder.Recorder`.  Everything else (the command
loop, reading message data, NOOP, RSET, QUIT, VRFY, HELP, and STARTTLS and AUTH
as the script allows them: see Script.logins)
is aiosmtpd's.  Works with aiosmtpd 1.4.3 (Debian bookworm) and 1.4.6.
This module is the dialogue (what each command may do, and its default
reply); the connection under it (its life cycle, the transcript, sending the
replies, running the script for one command) is
:class:`~harness.mock.connection.ScriptedConnection`.

Protocol details that the script does not change:

* a reply with code 421 (scripted or not) is followed by closing the connection;
* after a banner that is not 2xx, HELO/EHLO/MAIL/RCPT/DATA get 503 (QUIT works);
* parameters of extensions that are not advertised get ``555 5.5.4``;
  malformed DSN parameters get ``501 5.5.4``; MAIL SIZE over the limit ``552 5.3.4``;
* default replies carry enhanced status codes only when ENHANCEDSTATUSCODES
  is advertised; scripted replies are sent exactly as written.
"""

from __future__ import annotations

import time

from aiosmtpd.smtp import Envelope

from .connection import ScriptedConnection, _Disconnected
from .params import MAIL_RE, RCPT_RE, Refusal, address_of, check_mail_params, check_rcpt_params, parse_params
from .records import MessageRecord, Params, RcptRecord
from .script import KNOWN_EXTENSIONS, ScriptedReply, Stage


class _Transaction:
    def __init__(self, mail_from: str, params: Params, reply: str) -> None:
        self.mail_from = mail_from
        self.params = params
        self.mail_reply = reply
        self.rcpts: list[RcptRecord] = []
        self.data_reply = ""

    def accepted(self) -> list[str]:
        return [r.address for r in self.rcpts if r.accepted]


class MockSMTPProtocol(ScriptedConnection):
    """One scripted SMTP connection (see the module docstring)."""

    _refused = False  # the banner was not 2xx: only QUIT works (set per connection by the banner)
    _txn: _Transaction | None = None  # the mail transaction under way, from MAIL to the end of data

    def _refuse(self, code: int, enhanced: str, text: str) -> Refusal:
        return Refusal(ScriptedReply(code, enhanced, text))

    def _check_ready(self) -> None:
        if self._refused:
            raise self._refuse(503, "5.5.1", "Error: no SMTP service here, send QUIT")
        if not self.session or not self.session.host_name:
            raise self._refuse(503, "5.5.1", "Error: send HELO/EHLO first")

    def _params(self, text: str) -> Params:
        params = parse_params(text)
        if params and not (self.session and self.session.extended_smtp):
            raise self._refuse(555, "5.5.4", "Unsupported option (no EHLO)")
        return params

    def reset_transaction(self) -> None:
        self._txn = None
        self.envelope = Envelope()

    # -- banner, HELO, EHLO --------------------------------------------------------
    async def _banner(self) -> None:
        async def banner() -> ScriptedReply:
            greeting = ScriptedReply(220, None, f"{self.hostname_now()} ESMTP mock")
            reply = await self._answer("banner", [self._peer_ip], greeting)
            self._refused = not 200 <= reply.code < 300
            return reply

        await self._run(banner())

    def _ehlo_reply(self) -> ScriptedReply:
        script = self.script
        # RFC 3207 s4.2: not offered again once TLS is on; nor while a fault took it away
        offered = script.extensions - ({"STARTTLS"} if self.tls_version or self.faults.starttls_off() else set())
        keywords = [k for k in KNOWN_EXTENSIONS if k in offered]
        keywords += sorted(offered - set(KNOWN_EXTENSIONS))
        lines = [f"SIZE {script.size_limit}" if k == "SIZE" and script.size_limit else k for k in keywords]
        if script.logins and (self.tls_version or script.auth_in_clear):  # AUTH only over TLS, unless scripted
            lines.append("AUTH PLAIN LOGIN")
        return ScriptedReply(250, None, "\n".join([self.hostname_now(), *lines]))

    async def _greet(self, stage: Stage, name: str | None, esmtp: bool) -> ScriptedReply:
        if self._refused:
            self._check_ready()
        if not name:
            raise self._refuse(501, "5.5.4", f"Syntax: {stage.upper()} hostname")
        self.reset_transaction()
        default = self._ehlo_reply() if esmtp else ScriptedReply(250, None, self.hostname_now())
        reply = await self._answer(stage, [name], default)
        if 200 <= reply.code < 300:
            assert self.session is not None
            self.session.host_name = name
            self.session.extended_smtp = esmtp
            self.recorder.set_helo(self.sid, name, esmtp)
        return reply

    async def smtp_EHLO(self, hostname: str) -> None:
        await self._run(self._greet("ehlo", hostname, True))

    async def smtp_HELO(self, hostname: str) -> None:
        await self._run(self._greet("helo", hostname, False))

    # -- MAIL, RCPT --------------------------------------------------------------
    async def _mail(self, arg: str | None) -> ScriptedReply:
        self._check_ready()
        if self._txn is not None:
            raise self._refuse(503, "5.5.1", "Error: nested MAIL command")
        m = MAIL_RE.fullmatch(arg or "")
        if m is None:
            raise self._refuse(501, "5.5.4", "Syntax: MAIL FROM:<address>")
        if self.script.logins and not self.login:
            raise self._refuse(530, "5.7.0", "Authentication required")
        address, params = address_of(m.group(1)), self._params(m.group(2))
        check_mail_params(params, self.script)
        reply = await self._answer("mail", [address], self.default_reply(250, "2.1.0", "Ok"))
        if 200 <= reply.code < 300:
            self._txn = _Transaction(address, params, str(reply))
            self.envelope = Envelope()
            self.envelope.mail_from = address
            self.envelope.mail_options = m.group(2).split()
        return reply

    async def _rcpt(self, arg: str | None) -> ScriptedReply:
        self._check_ready()
        txn = self._txn
        if txn is None:
            raise self._refuse(503, "5.5.1", "Error: need MAIL command")
        m = RCPT_RE.fullmatch(arg or "")
        address = address_of(m.group(1)) if m else ""
        if m is None or not address:
            raise self._refuse(501, "5.1.3", "Bad recipient address syntax")
        params = self._params(m.group(2))
        check_rcpt_params(params, self.script)
        reply = await self._answer("rcpt", [address], self.default_reply(250, "2.1.5", "Ok"))
        record = RcptRecord(address, params, str(reply))
        txn.rcpts.append(record)
        if record.accepted:
            assert self.envelope is not None
            self.envelope.rcpt_tos.append(address)
            self.envelope.rcpt_options.extend(m.group(2).split())
        return reply

    # -- STARTTLS, AUTH (aiosmtpd's, as the script allows) ------------------------------
    async def smtp_STARTTLS(self, arg: str) -> None:
        if self.tls_version:
            await self.push("503 5.5.1 Error: TLS already active")
            return
        if not self.script.advertises("STARTTLS") or self.faults.starttls_off():
            await self.push("502 5.5.1 Error: command not implemented")
            return
        kind = self.faults.certificate() or self.script.certificate
        self.tls_context = self.certificates.context(kind)
        self.note(f"STARTTLS with the {kind} certificate" if self.tls_context is not None
                  else f"STARTTLS refused: no {kind} certificate ({self.certificates.describe()})")
        await super().smtp_STARTTLS(arg)  # 454 TLS not available without a context

    async def smtp_AUTH(self, arg: str) -> None:
        if not self.script.logins:
            await self.push("502 5.5.1 Error: authentication not enabled")
            return
        if not self.tls_version:
            self.note("AUTH before TLS" + (": the script offers it in clear" if self.script.auth_in_clear else ""))
        self._auth_require_tls = not self.script.auth_in_clear  # aiosmtpd's 538 5.7.11 before STARTTLS
        await super().smtp_AUTH(arg)

    async def smtp_MAIL(self, arg: str | None) -> None:
        await self._run(self._mail(arg))

    async def smtp_RCPT(self, arg: str | None) -> None:
        await self._run(self._rcpt(arg))

    # -- DATA and end of data -------------------------------------------------------
    async def _data(self, arg: str | None) -> ScriptedReply:
        self._check_ready()
        txn = self._txn
        if txn is None:
            raise self._refuse(503, "5.5.1", "Error: need RCPT command")
        if arg:
            raise self._refuse(501, "5.5.4", "Syntax: DATA")
        if not txn.accepted():
            raise self._refuse(554, "5.5.1", "Error: no valid recipients")
        default = ScriptedReply(354, None, "End data with <CR><LF>.<CR><LF>")
        reply = await self._answer("data", txn.accepted(), default)
        txn.data_reply = str(reply)
        return reply

    async def smtp_DATA(self, arg: str | None) -> None:
        reply = await self._attempt(self._data(arg))
        if reply is None:
            return
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
                    tls=self.tls_version,
                    login=self.login,
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


__all__ = ["MockSMTPProtocol"]
