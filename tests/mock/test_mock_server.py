"""The in-process mock SMTP server, driven with smtplib."""

from __future__ import annotations

import smtplib
import socket
import time
from collections.abc import Callable

import pytest

from harness.mock import MockSMTP, MockTimeout, Script, ScriptedReply, rule, step

from .smtp_client import MESSAGE, Client, send

StartMock = Callable[..., MockSMTP]


# -- banner, EHLO, HELO -------------------------------------------------------------


def test_default_dialogue_records_everything(start_mock: StartMock) -> None:
    mock = start_mock(hostname="mx.example.edu")
    replies = send(mock, "a@sender.example", "b@rcpt.example")
    assert [code for code, _ in replies] == [250, 250, 354, 250]
    (msg,) = mock.wait_for_messages(1)
    assert msg.mail_from == "a@sender.example" and msg.recipients == ("b@rcpt.example",)
    assert msg.data == MESSAGE  # dot-unstuffed, CRLF kept
    assert msg.email()["Subject"] == "hello"
    assert msg.eod_reply == f"250 2.0.0 Ok: queued as {msg.id}" and msg.accepted
    (session,) = mock.wait_for_sessions(1)
    assert session.replies[0] == "220 mx.example.edu ESMTP mock"
    assert session.helo == "client.example" and session.esmtp
    assert session.end_reason == "quit" and session.message_ids == (msg.id,)
    assert session.commands == (
        "EHLO client.example",
        "MAIL FROM:<a@sender.example>",
        "RCPT TO:<b@rcpt.example>",
        "DATA",
        ".",
        "QUIT",
    )
    times = [t.time for t in session.transcript]
    assert times == sorted(times) and session.started <= times[0]


def test_banner_554_then_503_until_quit(start_mock: StartMock) -> None:
    mock = start_mock(Script().add(rule("banner", "554 5.7.1 no service for you")))
    c = Client(mock)
    assert c.banner == (554, b"5.7.1 no service for you")
    assert c.ehlo()[0] == 503
    assert c.cmd("MAIL FROM:<a@b.example>")[0] == 503
    assert c.cmd("QUIT")[0] == 221
    c.close()
    assert mock.wait_for_sessions(1)[0].end_reason == "quit"


def test_banner_421_closes_the_connection(start_mock: StartMock) -> None:
    mock = start_mock(Script().add(rule("banner", "421 4.3.2 shutting down")))
    c = Client(mock)
    assert c.banner[0] == 421
    with pytest.raises(smtplib.SMTPServerDisconnected):
        c.ehlo()
    assert mock.wait_for_sessions(1)[0].end_reason == "mock disconnected"


def test_ehlo_failure_then_helo_fallback(start_mock: StartMock) -> None:
    mock = start_mock(Script().add(rule("ehlo", "502 5.5.2 EHLO not here")))
    c = Client(mock)
    assert c.ehlo() == (502, "5.5.2 EHLO not here")
    assert c.cmd("HELO client.example") == (250, "mock.test")
    assert c.cmd("MAIL FROM:<a@b.example> RET=FULL")[0] == 555  # no ESMTP parameters after HELO
    assert c.cmd("MAIL FROM:<a@b.example>")[0] == 250
    c.close()
    session = mock.wait_for_sessions(1)[0]
    assert session.helo == "client.example" and not session.esmtp
    assert session.end_reason == "client closed"


def test_ehlo_by_client_name_pattern_with_multiline_reply(start_mock: StartMock) -> None:
    mock = start_mock(Script().add(rule("ehlo", ScriptedReply(550, "5.7.1", "go away\nreally"), match="*.bad.example")))
    bad, good = Client(mock), Client(mock)
    assert bad.ehlo("host.bad.example") == (550, "5.7.1 go away\n5.7.1 really")
    assert good.ehlo("host.good.example")[0] == 250
    bad.close()
    good.close()


# -- MAIL, RCPT, DATA, end of data ------------------------------------------------------


def test_mail_by_sender_pattern_and_null_sender(start_mock: StartMock) -> None:
    mock = start_mock(
        Script(
            rules=(
                rule("mail", "550 5.7.1 spammer", match="*@spam.example"),
                rule("mail", "553 5.1.8 no bounces", match="<>"),
            )
        )
    )
    c = Client(mock)
    c.ehlo()
    assert c.cmd("MAIL FROM:<joe@SPAM.example>") == (550, "5.7.1 spammer")
    assert c.cmd("MAIL FROM:<>") == (553, "5.1.8 no bounces")
    assert c.cmd("MAIL FROM:<joe@ham.example>") == (250, "2.1.0 Ok")
    assert c.cmd("MAIL FROM:<joe@ham.example>")[0] == 503  # nested
    c.close()


def test_rcpt_by_recipient_pattern(start_mock: StartMock) -> None:
    mock = start_mock(Script().add(rule("rcpt", "550 5.1.1 no such user", match="nobody@*")))
    replies = send(mock, "a@sender.example", "nobody@rcpt.example", "somebody@rcpt.example")
    assert [c for c, _ in replies] == [250, 550, 250, 354, 250]
    (msg,) = mock.wait_for_messages(1)
    assert msg.recipients == ("somebody@rcpt.example",)
    assert [(r.address, r.reply, r.accepted) for r in msg.rcpts] == [
        ("nobody@rcpt.example", "550 5.1.1 no such user", False),
        ("somebody@rcpt.example", "250 2.1.5 Ok", True),
    ]


def test_data_stage_rejection_records_no_message(start_mock: StartMock) -> None:
    mock = start_mock(Script().add(rule("data", "554 5.7.1 no data today")))
    replies = send(mock, "a@sender.example", "b@rcpt.example")
    assert replies[-1] == (554, "5.7.1 no data today")
    session = mock.wait_for_sessions(1)[0]
    assert session.reply_to("DATA") == "554 5.7.1 no data today"
    assert mock.messages == ()


def test_data_without_accepted_recipient(start_mock: StartMock) -> None:
    mock = start_mock(Script().add(rule("rcpt", "550 5.1.1 no")))
    replies = send(mock, "a@sender.example", "b@rcpt.example")
    assert [c for c, _ in replies] == [250, 550, 554]


def test_end_of_data_rejection_is_recorded_with_its_reply(start_mock: StartMock) -> None:
    mock = start_mock(Script().add(rule("eod", "552 5.3.4 too fat", match="b@*")))
    replies = send(mock, "a@sender.example", "a@rcpt.example", "b@rcpt.example")
    assert replies[-1] == (552, "5.3.4 too fat")
    (msg,) = mock.wait_for_messages(1)
    assert msg.eod_reply == "552 5.3.4 too fat" and not msg.accepted
    assert msg.data_reply == "354 End data with <CR><LF>.<CR><LF>"


def test_scripted_354_text(start_mock: StartMock) -> None:
    mock = start_mock(Script().add(rule("data", "354 go ahead, make my day")))
    replies = send(mock, "a@s.example", "b@r.example")
    assert replies[-2:] == [(354, "go ahead, make my day"), (250, "2.0.0 Ok: queued as 1-1")]


def test_scripted_multiline_3xx_data_reply(start_mock: StartMock) -> None:
    mock = start_mock(Script().add(rule("data", ScriptedReply(354, None, "go\nahead"))))
    assert send(mock, "a@s.example", "b@r.example")[-2:] == [(354, "go\nahead"), (250, "2.0.0 Ok: queued as 1-1")]
    assert mock.wait_for_messages(1)[0].data == MESSAGE


def test_count_451_twice_then_250_across_connections(start_mock: StartMock) -> None:
    greylist = rule("rcpt", step("451 4.3.2 try later", times=2), "250 2.1.5 welcome", match="*@grey.example")
    mock = start_mock(Script().add(greylist))
    first = send(mock, "a@s.example", "x@grey.example")
    second = send(mock, "a@s.example", "x@grey.example", "y@grey.example")
    assert [c for c, _ in first] == [250, 451, 554]
    assert [c for c, _ in second] == [250, 451, 250, 354, 250]
    assert second[2] == (250, "2.1.5 welcome")
    assert mock.hits(greylist) == 3
    assert mock.wait_for_messages(1)[0].recipients == ("y@grey.example",)


def test_421_reply_closes_connection(start_mock: StartMock) -> None:
    mock = start_mock(Script().add(rule("rcpt", "421 4.7.0 too busy")))
    c = Client(mock)
    c.ehlo()
    c.cmd("MAIL FROM:<a@s.example>")
    assert c.cmd("RCPT TO:<b@r.example>") == (421, "4.7.0 too busy")
    with pytest.raises(smtplib.SMTPServerDisconnected):
        c.cmd("NOOP")
    assert mock.wait_for_sessions(1)[0].end_reason == "mock disconnected"


# -- delays, disconnects, hangs -----------------------------------------------------------


def test_tarpit_delay_then_reply(start_mock: StartMock) -> None:
    mock = start_mock(Script().add(rule("mail", step(delay=0.3))))
    c = Client(mock)
    c.ehlo()
    t0 = time.monotonic()
    assert c.cmd("MAIL FROM:<a@s.example>") == (250, "2.1.0 Ok")
    assert time.monotonic() - t0 >= 0.3
    c.close()
    notes = mock.wait_for_sessions(1)[0].notes
    assert any("after 0.3s" in n for n in notes)


def test_client_timeout_shorter_than_tarpit(start_mock: StartMock) -> None:
    mock = start_mock(Script().add(rule("rcpt", step("250 2.1.5 slowly", delay=0.5))))
    c = Client(mock)
    c.ehlo()
    c.cmd("MAIL FROM:<a@s.example>")
    c.settimeout(0.1)
    t0 = time.monotonic()
    with pytest.raises(smtplib.SMTPServerDisconnected, match="timed out"):
        c.cmd("RCPT TO:<b@r.example>")
    assert time.monotonic() - t0 < 0.45
    session = mock.wait_for_sessions(1)[0]
    assert session.end_reason == "client closed"
    assert "250 2.1.5 slowly" not in session.replies  # the client was gone when the delay ended


def test_disconnect_at_rcpt(start_mock: StartMock) -> None:
    mock = start_mock(Script().add(rule("rcpt", step(action="disconnect"), match="b@*")))
    c = Client(mock)
    c.ehlo()
    c.cmd("MAIL FROM:<a@s.example>")
    assert c.cmd("RCPT TO:<a@r.example>")[0] == 250
    with pytest.raises(smtplib.SMTPServerDisconnected):
        c.cmd("RCPT TO:<b@r.example>")
    session = mock.wait_for_sessions(1)[0]
    assert session.end_reason == "mock disconnected"
    assert session.commands[-1] == "RCPT TO:<b@r.example>"
    assert session.replies[-1] == "250 2.1.5 Ok"  # nothing answered the last RCPT


def test_disconnect_after_data_still_records_the_message(start_mock: StartMock) -> None:
    mock = start_mock(Script().add(rule("eod", step(action="disconnect", times=1))))
    with pytest.raises(smtplib.SMTPServerDisconnected):
        send(mock, "a@s.example", "b@r.example")
    (msg,) = mock.wait_for_messages(1)
    assert msg.eod_reply is None and not msg.accepted and msg.data == MESSAGE
    # The step was used once: the retry is accepted.
    assert send(mock, "a@s.example", "b@r.example")[-1][0] == 250
    assert [m.accepted for m in mock.wait_for_messages(2)] == [False, True]


def test_hang_until_client_gives_up(start_mock: StartMock) -> None:
    mock = start_mock(Script().add(rule("data", step(action="hang"))))
    c = Client(mock)
    c.ehlo()
    c.cmd("MAIL FROM:<a@s.example>")
    c.cmd("RCPT TO:<b@r.example>")
    c.settimeout(0.3)
    with pytest.raises(smtplib.SMTPServerDisconnected, match="timed out"):
        c.cmd("DATA")
    session = mock.wait_for_sessions(1)[0]
    assert session.end_reason == "client closed"
    assert session.notes[-2].startswith("hanging")


# -- extensions and parameters -------------------------------------------------------------


def test_default_ehlo_advertises_defaults(start_mock: StartMock) -> None:
    mock = start_mock(Script(size_limit=5000))
    c = Client(mock)
    code, text = c.ehlo()
    c.close()
    assert code == 250
    assert text.split("\n") == [
        "mock.test", "PIPELINING", "SIZE 5000", "ENHANCEDSTATUSCODES", "8BITMIME", "DSN", "SMTPUTF8"
    ]


def test_hidden_extensions_are_not_advertised_and_their_params_refused(start_mock: StartMock) -> None:
    mock = start_mock(Script().hide("DSN", "SMTPUTF8", "ENHANCEDSTATUSCODES").advertise("STARTTLS"))
    c = Client(mock)
    code, text = c.ehlo()
    lines = text.split("\n")
    assert code == 250 and "DSN" not in lines and "SMTPUTF8" not in lines and "STARTTLS" in lines
    assert c.cmd("MAIL FROM:<a@s.example> RET=HDRS") == (555, "Unsupported option: RET")
    assert c.cmd("MAIL FROM:<a@s.example> SMTPUTF8")[0] == 555
    assert c.cmd("MAIL FROM:<a@s.example>") == (250, "Ok")  # no enhanced code when not advertised
    assert c.cmd("RCPT TO:<b@r.example> NOTIFY=NEVER")[0] == 555
    assert c.cmd("STARTTLS")[0] == 454  # advertised only: no TLS
    c.close()


def test_size_limit(start_mock: StartMock) -> None:
    mock = start_mock(Script(size_limit=60))
    c = Client(mock)
    c.ehlo()
    assert c.cmd("MAIL FROM:<a@s.example> SIZE=61") == (552, "5.3.4 Message size exceeds fixed limit")
    assert c.cmd("MAIL FROM:<a@s.example> SIZE=60 BODY=8BITMIME")[0] == 250
    c.cmd("RCPT TO:<b@r.example>")
    assert c.cmd("DATA")[0] == 354
    assert c.data(b"Subject: x\r\n\r\n" + b"y" * 100 + b"\r\n")[0] == 552
    c.close()
    assert mock.messages == ()


def test_dsn_parameters_are_accepted_and_recorded_verbatim(start_mock: StartMock) -> None:
    mock = start_mock()
    c = Client(mock)
    c.ehlo()
    assert c.cmd("MAIL FROM:<a@s.example> RET=HDRS ENVID=QQ+2B314159 SIZE=200")[0] == 250
    assert c.cmd("RCPT TO:<b@r.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;Bob+2BSmith@R.example")[0] == 250
    assert c.cmd("RCPT TO:<c@r.example> NOTIFY=NEVER")[0] == 250
    assert c.cmd("DATA")[0] == 354
    assert c.data(MESSAGE)[0] == 250
    c.close()
    (msg,) = mock.wait_for_messages(1)
    assert msg.mail_params == {"RET": "HDRS", "ENVID": "QQ+2B314159", "SIZE": "200"}
    assert msg.envid == "QQ+314159" and msg.ret == "HDRS"
    bob, carol = msg.rcpts
    assert bob.params == {"NOTIFY": "SUCCESS,FAILURE", "ORCPT": "rfc822;Bob+2BSmith@R.example"}
    assert bob.notify == ("SUCCESS", "FAILURE") and bob.orcpt == "rfc822;Bob+Smith@R.example"
    assert carol.params == {"NOTIFY": "NEVER"} and carol.orcpt is None


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ("MAIL FROM:<a@s.example> RET=MAYBE", 501),
        ("MAIL FROM:<a@s.example> ENVID=bad+zz", 501),
        ("MAIL FROM:<a@s.example> RET=FULL RET=HDRS", 501),
        ("MAIL FROM:<a@s.example> FOO=1", 555),
        ("MAIL FROM:<a@s.example> BODY=BINARYMIME", 501),
    ],
)
def test_bad_mail_parameters(start_mock: StartMock, line: str, code: int) -> None:
    c = Client(start_mock())
    c.ehlo()
    assert c.cmd(line)[0] == code
    c.close()


@pytest.mark.parametrize(
    "params", ["NOTIFY=NEVER,FAILURE", "NOTIFY=SOMETIMES", "ORCPT=rfc822", "ORCPT=;x@y", "NOTIFY=DELAY,DELAY"]
)
def test_bad_rcpt_parameters(start_mock: StartMock, params: str) -> None:
    c = Client(start_mock())
    c.ehlo()
    c.cmd("MAIL FROM:<a@s.example>")
    assert c.cmd(f"RCPT TO:<b@r.example> {params}")[0] == 501
    c.close()


def test_smtputf8_address(start_mock: StartMock) -> None:
    mock = start_mock()
    c = Client(mock)
    c.smtp.command_encoding = "utf-8"
    c.ehlo()
    assert c.cmd("MAIL FROM:<jörg@s.example> SMTPUTF8")[0] == 250
    assert c.cmd("RCPT TO:<zoë@r.example>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    assert c.data(MESSAGE)[0] == 250
    c.close()
    (msg,) = mock.wait_for_messages(1)
    assert msg.mail_from == "jörg@s.example" and msg.mail_params == {"SMTPUTF8": None}
    assert msg.recipients == ("zoë@r.example",)


def test_pipelined_commands_are_answered_in_order(start_mock: StartMock) -> None:
    mock = start_mock(Script().add(rule("rcpt", "550 5.1.1 nope", match="x@*")))
    with socket.create_connection(("127.0.0.1", mock.port), timeout=5) as s:
        f = s.makefile("rb")
        f.readline()
        s.sendall(b"EHLO c.example\r\nMAIL FROM:<a@s.example>\r\nRCPT TO:<x@r.example>\r\nRCPT TO:<y@r.example>\r\n"
                  b"DATA\r\n")
        replies: list[str] = []
        while len(replies) < 5:
            line = f.readline().decode()
            if line[3] == " ":
                replies.append(line[:3])
        assert replies == ["250", "250", "550", "250", "354"]
        s.sendall(b"Subject: p\r\n\r\nx\r\n.\r\nQUIT\r\n")
        assert f.readline().startswith(b"250 2.0.0")
        assert f.readline().startswith(b"221")
    assert mock.wait_for_messages(1)[0].recipients == ("y@r.example",)


# -- changing the script, waiting ---------------------------------------------------------------


def test_script_change_takes_effect_at_next_command(start_mock: StartMock) -> None:
    mock = start_mock()
    c = Client(mock)
    c.ehlo()
    c.cmd("MAIL FROM:<a@s.example>")
    assert c.cmd("RCPT TO:<b@r.example>")[0] == 250
    mock.script = mock.script.add(rule("rcpt", "450 4.2.0 mailbox busy"))
    assert c.cmd("RCPT TO:<b@r.example>") == (450, "4.2.0 mailbox busy")
    mock.script = Script()
    assert c.cmd("RCPT TO:<b@r.example>")[0] == 250
    c.close()


def test_wait_for_messages_timeout_says_what_was_seen(start_mock: StartMock) -> None:
    mock = start_mock(Script().add(rule("rcpt", "550 5.1.1 unknown")))
    send(mock, "a@s.example", "b@r.example")
    t0 = time.monotonic()
    with pytest.raises(MockTimeout) as err:
        mock.wait_for_messages(1, timeout=0.3)
    assert 0.3 <= time.monotonic() - t0 < 3
    text = str(err.value)
    assert "0 message(s)" in text and "1 session(s)" in text
    assert "S: 550 5.1.1 unknown" in text and "C: RCPT TO:<b@r.example>" in text


def test_wait_returns_as_soon_as_mail_arrives(start_mock: StartMock) -> None:
    mock = start_mock()
    import threading

    sender = threading.Thread(target=send, args=(mock, "a@s.example", "b@r.example"))
    t0 = time.monotonic()
    sender.start()
    assert len(mock.wait_for_messages(1, timeout=10)) == 1
    assert time.monotonic() - t0 < 5
    sender.join()


def test_stop_closes_open_sessions(start_mock: StartMock) -> None:
    mock = start_mock()
    c = Client(mock)
    c.ehlo()
    mock.wait_for_sessions(1, ended=False)
    mock.stop()
    assert mock.sessions[0].end_reason == "server stopped"
    with pytest.raises(smtplib.SMTPServerDisconnected):
        c.cmd("NOOP")


def test_open_session_is_visible_while_the_mock_hangs(start_mock: StartMock) -> None:
    mock = start_mock(Script().add(rule("data", step(action="hang"))))
    with socket.create_connection(("127.0.0.1", mock.port), timeout=5) as s:
        s.sendall(b"EHLO c.example\r\nMAIL FROM:<a@s.example>\r\nRCPT TO:<b@r.example>\r\nDATA\r\n")
        def hanging() -> bool:
            return any(n.startswith("hanging") for sess in mock.sessions for n in sess.notes)

        mock.wait_until(hanging, 5, "the hang")
        (session,) = mock.sessions
        assert session.ended is None and session.commands[-1] == "DATA"
        assert session.replies[-1] == "250 2.1.5 Ok"
    assert mock.wait_for_sessions(1)[0].end_reason == "client closed"


def test_idle_timeout_closes_the_connection(start_mock: StartMock) -> None:
    mock = start_mock(idle_timeout=0.2)
    c = Client(mock)
    c.ehlo()
    assert mock.wait_for_sessions(1, timeout=5)[0].end_reason == "idle timeout"
    with pytest.raises(smtplib.SMTPServerDisconnected):
        c.cmd("NOOP")


def test_internal_error_is_a_451_and_a_note(start_mock: StartMock, monkeypatch: pytest.MonkeyPatch) -> None:
    mock = start_mock()

    def broken(*args: object) -> None:
        raise RuntimeError("boom")

    c = Client(mock)
    c.ehlo()
    monkeypatch.setattr(mock.state, "decide", broken)
    assert c.cmd("MAIL FROM:<a@s.example>") == (451, "4.3.0 Error: mock internal error (RuntimeError)")
    c.close()
    assert "internal error: RuntimeError: boom" in mock.wait_for_sessions(1)[0].notes
    # At the banner, aiosmtpd has no error handling: the mock says 421 and closes.
    c = Client(mock)
    assert c.banner == (421, b"4.3.0 Error: mock internal error (RuntimeError)")
    c.close()
    assert mock.wait_for_sessions(2)[1].end_reason == "mock disconnected"
