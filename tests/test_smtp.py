"""The SMTP client against an in-process aiosmtpd server: replies are values, nothing raises."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Session
from aiosmtpd.smtp import Envelope as AEnvelope

from harness.errors import MailharnessError
from harness.mock import MockSMTP, Script, rule
from harness.smtp import STAGES, Envelope, Exchange, Recipient, Reply, UnknownStage, as_stage, stage_of, submit, xtext


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
    assert [e.stage for e in t.exchanges] == ["BANNER", "EHLO", "MAIL", "RCPT", "DATA", "END-OF-MESSAGE", "QUIT"]
    assert t.reply("eod") == t.reply("END-OF-MESSAGE") and t.failure is None
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
    assert [e.stage for e in t.exchanges] == ["CONNECT"]
    assert t.exchanges[0].reply.code == 0 and t.failure is t.exchanges[0]
    assert t.failure.reply.text == f"connect to 127.0.0.1:{port}: Connection refused"
    assert not t.accepted


class RawServer:
    """A TCP server that plays a broken SMTP server: `script` gets each accepted socket."""

    def __init__(self, script: Callable[[socket.socket], None]) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.port = int(self.sock.getsockname()[1])
        self.script = script
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        with conn:
            self.script(conn)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def raw() -> Iterator[Callable[[Callable[[socket.socket], None]], RawServer]]:
    servers: list[RawServer] = []

    def start(script: Callable[[socket.socket], None]) -> RawServer:
        servers.append(RawServer(script))
        return servers[-1]

    yield start
    for s in servers:
        s.close()


def _silent(conn: socket.socket) -> None:  # a tarpit: connected, no greeting
    conn.recv(1)


def _hang_up(conn: socket.socket) -> None:  # closes before greeting
    pass


def _gone_at_mail(conn: socket.socket) -> None:  # greets, answers EHLO, hangs up on MAIL FROM
    conn.sendall(b"220 broken.example ESMTP\r\n")
    conn.recv(1024)
    conn.sendall(b"250 broken.example\r\n")
    conn.recv(1024)


@pytest.mark.parametrize(("script", "stage", "text"), [
    (_silent, "BANNER", "conversation with 127.0.0.1:{port} timed out while receiving the initial server greeting"),
    (_hang_up, "BANNER", "lost connection with 127.0.0.1:{port} while receiving the initial server greeting"),
    (_gone_at_mail, "MAIL", "lost connection with 127.0.0.1:{port} while sending MAIL FROM"),
], ids=["no_greeting", "closed_before_greeting", "closed_at_mail"])
def test_a_session_that_ends_without_a_reply_ends_at_its_stage(raw: Any, script: Any, stage: str, text: str) -> None:
    server = raw(script)
    t = submit("127.0.0.1", Envelope.of("a@b.example", ["c@d.example"]), b"x", port=server.port, timeout=0.5)
    assert t.failure is not None and t.failure is t.exchanges[-1]
    assert (t.failure.stage, t.failure.reply.code) == (stage, 0)
    assert t.failure.reply.text.startswith(text.format(port=server.port)), t.failure.reply.text


def test_stage_names_are_one_vocabulary_read_in_any_spelling() -> None:
    assert STAGES[:2] == ("CONNECT", "BANNER") and "END-OF-MESSAGE" in STAGES
    assert [as_stage(n) for n in ("rcpt", "RCPT TO", "eod", "end of DATA", "banner", "Mail From", "end-of-message")] \
        == ["RCPT", "RCPT", "END-OF-MESSAGE", "END-OF-MESSAGE", "BANNER", "MAIL", "END-OF-MESSAGE"]
    assert stage_of("HELLO") is None
    with pytest.raises(UnknownStage, match="unknown SMTP stage 'HELLO'; the stages are CONNECT, BANNER"):
        as_stage("HELLO")
    assert issubclass(UnknownStage, ValueError) and issubclass(UnknownStage, MailharnessError)
    # An exchange written with an old or casual name gets the Stage.
    assert Exchange("eod", "", Reply(250, None, "ok"), 0.0).stage == "END-OF-MESSAGE"  # type: ignore[arg-type]


def test_recipient_params() -> None:
    assert Recipient("a@b", ("never",)).params() == ["NOTIFY=NEVER"]
    assert Recipient("a@b", (), "a+x@b").params() == ["ORCPT=rfc822;a+2Bx@b"]


class _CountingSocket(socket.socket):
    """A TCP socket that counts its writes (smtplib writes every command with sendall)."""

    writes = 0

    def sendall(self, data: Any, *args: Any) -> None:
        self.writes += 1
        super().sendall(data, *args)


def _counting(opened: list[_CountingSocket]) -> Callable[[str, int, float], socket.socket]:
    def opener(host: str, port: int, timeout: float) -> socket.socket:
        s = _CountingSocket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect((host, port))
        opened.append(s)
        return s
    return opener


def test_pipelining_sends_the_envelope_and_the_message_in_two_writes_with_the_same_transcript() -> None:
    env = Envelope.of("jack@store.example", ["jill@x.example", "nosuchuser@x.example", "jim@x.example"])
    script = Script(rules=(rule("rcpt", "550 5.1.1 no such user", match="nosuchuser@*"),))
    opened: list[_CountingSocket] = []
    with MockSMTP(script) as mock:
        step = submit("127.0.0.1", env, b"Subject: p\r\n\r\n.dot\r\n", port=mock.port, connect=_counting(opened))
        piped = submit("127.0.0.1", env, b"Subject: p\r\n\r\n.dot\r\n", port=mock.port, connect=_counting(opened),
                       pipelining=True)
        received = mock.wait_for_messages(2)
    for t in (step, piped):
        assert [e.stage for e in t.exchanges] == ["BANNER", "EHLO", "MAIL", "RCPT", "RCPT", "RCPT", "DATA",
                                                  "END-OF-MESSAGE", "QUIT"]
        assert t.accepted and t.failure is None
    assert [(e.command, e.reply.code) for e in piped.exchanges] == [(e.command, e.reply.code) for e in step.exchanges]
    assert [r.code for r in piped.rcpt_replies] == [250, 550, 250]
    # EHLO, MAIL, 3 RCPT, DATA, the message, QUIT one by one; EHLO, then MAIL+RCPTs+DATA, then the message+QUIT
    assert [s.writes for s in opened] == [8, 3]
    assert [m.recipients for m in received] == [("jill@x.example", "jim@x.example")] * 2
    assert all(m.data.endswith(b".dot\r\n") for m in received), "dot-stuffing is undone by the server"


def test_pipelining_with_every_recipient_refused_records_the_refused_data_and_sends_nothing() -> None:
    env = Envelope.of("jack@store.example", ["nosuchuser@x.example"])
    script = Script(rules=(rule("rcpt", "550 5.1.1 no such user", match="nosuchuser@*"),))
    with MockSMTP(script) as mock:
        t = submit("127.0.0.1", env, b"Subject: p\r\n\r\nx\r\n", port=mock.port, pipelining=True)
        assert not mock.messages
    assert [e.stage for e in t.exchanges] == ["BANNER", "EHLO", "MAIL", "RCPT", "DATA", "QUIT"]
    assert not t.accepted and t.rcpt_replies[0].code == 550 and t.failure is None
    data = t.reply("DATA")
    assert data is not None and data.permanent  # the server's "no valid recipients"


def test_a_transcript_says_which_extensions_the_server_offered() -> None:
    from harness.smtp import Envelope, Exchange, Reply, Transcript

    t = Transcript("10.0.0.1:25", Envelope.of("a@b.example", ["c@d.example"]))
    t.exchanges.append(Exchange("EHLO", "EHLO x", Reply.parse(250, "mx.d.example\nPIPELINING\nSIZE 10240000\n"
                                                                      "ENHANCEDSTATUSCODES\n8BITMIME"), 0.0))
    assert t.offers("pipelining") and t.offers("SIZE") and not t.offers("DSN")
    assert not t.offers("mx.d.example"), "the first line is the server's name, not an extension"
