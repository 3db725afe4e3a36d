"""The SMTP client against an in-process aiosmtpd server: replies are values, nothing raises."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Session
from aiosmtpd.smtp import Envelope as AEnvelope

from harness.smtp import Envelope, Recipient, Reply, submit, xtext


class Handler:
    def __init__(self) -> None:
        self.mail_options: list[str] = []
        self.rcpt_options: list[list[str]] = []
        self.data: list[bytes] = []

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: AEnvelope, address: str,
                          mail_options: list[str]) -> str:
        self.mail_options = list(mail_options)
        envelope.mail_from = address
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: AEnvelope, address: str,
                          rcpt_options: list[str]) -> str:
        if address.startswith("nosuchuser"):
            return f"550 5.1.1 <{address}>: User unknown"
        if address.startswith("later"):
            return "451 4.3.2 try again later"
        self.rcpt_options.append(list(rcpt_options))
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: AEnvelope) -> str:
        self.data.append(bytes(envelope.original_content or b""))
        return "250 2.0.0 Ok: queued as ABC123"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server() -> Iterator[tuple[Any, int]]:
    h = Handler()
    port = _free_port()
    c = Controller(h, hostname="127.0.0.1", port=port, decode_data=False, enable_SMTPUTF8=True)
    c.start()
    try:
        yield h, port
    finally:
        c.stop()


def test_reply_parsing() -> None:
    r = Reply.parse(550, b"5.1.1 <x@y>: User unknown")
    assert (r.code, r.enhanced, r.permanent, r.transient, r.ok) == (550, "5.1.1", True, False, False)
    assert Reply.parse(250, "Ok").enhanced is None
    assert str(Reply(0, None, "refused")) == "(no reply: refused)"


def test_xtext_encodes_plus_equals_and_outside_33_126() -> None:
    assert xtext("a+b=c d") == "a+2Bb+3Dc+20d"
    assert xtext("ok@example") == "ok@example"


def test_accepted_message_and_its_transcript(server: tuple[Handler, int]) -> None:
    h, port = server
    t = submit("127.0.0.1", Envelope.of("jack@store.example", ["jill@x.example"]), b"Subject: hi\r\n\r\n.leading\r\n",
               port=port)
    assert t.accepted and t.queue_id == "ABC123"
    assert [e.stage for e in t.exchanges] == ["banner", "EHLO", "MAIL", "RCPT", "DATA", "EOD", "QUIT"]
    assert h.data[0].endswith(b".leading\r\n"), "dot-stuffing is undone by the server"
    assert "C: RCPT TO:<jill@x.example>" in t.render()


def test_permanent_and_temporary_rcpt_failures_are_values(server: tuple[Handler, int]) -> None:
    _, port = server
    t = submit("127.0.0.1", Envelope.of("jack@store.example", ["nosuchuser@x.example", "later@x.example"]), b"x",
               port=port)
    codes = [(r.code, r.enhanced) for r in t.rcpt_replies]
    assert codes == [(550, "5.1.1"), (451, "4.3.2")]
    assert not t.accepted and t.reply("DATA") is None, "no DATA without an accepted recipient"


def test_dsn_parameters_are_sent_when_the_server_advertises_dsn(server: tuple[Handler, int]) -> None:
    h, port = server
    env = Envelope("jack@store.example", (Recipient("jill@x.example", ("SUCCESS", "FAILURE"), "jill@x.example"),),
                   ret="HDRS", envid="id+1")
    t = submit("127.0.0.1", env, b"Subject: x\r\n\r\nbody\r\n", port=port)
    mail = t.exchanges[2].command
    if "DSN" in (t.reply("EHLO") or Reply(0, None, "")).text.upper():
        assert mail.endswith("RET=HDRS ENVID=id+2B1")
    else:  # aiosmtpd does not advertise DSN: the client must not send the parameters
        assert mail == "MAIL FROM:<jack@store.example>"
        assert h.rcpt_options == [[]]


def test_connection_refused_is_a_value_not_an_exception() -> None:
    port = _free_port()
    t = submit("127.0.0.1", Envelope.of("a@b.example", ["c@d.example"]), b"x", port=port, timeout=2)
    assert [e.stage for e in t.exchanges] == ["connect"]
    assert t.exchanges[0].reply.code == 0 and "Refused" in t.exchanges[0].reply.text
    assert not t.accepted


def test_recipient_params() -> None:
    assert Recipient("a@b", ("never",)).params() == ["NOTIFY=NEVER"]
    assert Recipient("a@b", (), "a+x@b").params() == ["ORCPT=rfc822;a+2Bx@b"]
