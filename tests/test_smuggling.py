"""The SMTP smuggling probe without Docker: the bytes each variant sends, how a transcript shows them, and one
session against a tiny server that ends DATA at a bare line feed (as Postfix with smtpd_forbid_bare_newline = no
does) and one that ends it at <CR><LF>.<CR><LF> only."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from harness.smuggling import VARIANTS, VariantResult, variant
from harness.smuggling.session import PACE_FACTOR, PACE_FLOOR, Pacer, run
from harness.smuggling.variants import CONTROL, control_wire, visible, wire


def test_the_published_variants_are_all_there() -> None:
    assert [v.label for v in VARIANTS if v.smuggles and v.split] == [
        "<LF>.<LF>", "<LF>.<CR><LF>", "<CR><LF>.<LF>", "<CR>.<CR>"]
    assert [v.inside for v in VARIANTS if not v.smuggles] == [b"\r", b"\n"]
    assert not variant("pipelined").split and variant("pipelined").ending == b"\n.\r\n"
    with pytest.raises(KeyError, match="no smuggling variant 'nope'; variants: lf-dot-lf, lf-dot-crlf"):
        variant("nope")


def test_an_ending_variant_smuggles_a_whole_second_transaction() -> None:
    w = wire(variant("lf-dot-crlf"), token="t1", sender="jack@store.example", rcpt="jill@library.example",
             forged="ceo@store.example")
    assert w.first.endswith(b"(lf-dot-crlf)\n.\r\nMAIL FROM:<ceo@store.example>\r\nRCPT TO:<jill@library.example>"
                            b"\r\nDATA\r\n")
    assert w.rest.startswith(b"From: <ceo@store.example>\r\n") and w.rest.endswith(b"forged.\r\n.\r\nQUIT\r\n")
    assert (w.carrier_id, w.smuggled_id) == ("<carrier-t1@store.example>", "<smuggled-t1@store.example>")
    assert b"Message-ID: <smuggled-t1@store.example>\r\n" in w.smuggled
    one = wire(variant("pipelined"), token="t2", sender="a@b.test", rcpt="c@d.test", forged="e@b.test")
    assert one.rest == b"" and one.first.endswith(b"forged.\r\n.\r\nQUIT\r\n")


def test_a_bare_character_variant_puts_it_inside_a_line_and_smuggles_nothing() -> None:
    w = wire(variant("bare-cr"), token="t", sender="a@b.test", rcpt="c@d.test", forged="e@b.test")
    assert w.first.endswith(b"\r\n\r\nline one\rline two\r\n.\r\nQUIT\r\n") and w.smuggled_id == ""


def test_the_transcript_shows_bare_line_ends_and_nothing_else() -> None:
    assert visible(b"EHLO x\r\nhello\n.\r\nab\rc\x00d") == ["EHLO x", "hello<LF>", ".", "ab<CR>",
                                                         "c<00>d  (no line end)"]


# -- one session against a tiny server -------------------------------------------------------------------------
class _Server:
    """One SMTP session at a time: ends DATA at "\\n.\\n"-like lines when `lenient` (a bare LF ends a line), only
    at "\\r\\n.\\r\\n" otherwise; takes every command it is given."""

    def __init__(self, lenient: bool) -> None:
        self.lenient = lenient
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.messages: list[bytes] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        with conn:
            buf = b""
            conn.sendall(b"220 tiny ESMTP\r\n")
            data: bytes | None = None
            while True:
                sep = b"\n" if self.lenient else b"\r\n"
                while sep not in buf:
                    more = conn.recv(4096)
                    if not more:
                        return
                    buf += more
                line, _, buf = buf.partition(sep)
                line = line.rstrip(b"\r") if self.lenient else line
                if data is not None:
                    if line == b".":
                        self.messages.append(data)
                        data = None
                        conn.sendall(f"250 2.0.0 Ok: queued as Q{len(self.messages)}\r\n".encode())
                    else:
                        data += line + b"\r\n"
                elif line.upper().startswith(b"EHLO"):
                    conn.sendall(b"250-tiny\r\n250 PIPELINING\r\n")
                elif line.upper() == b"DATA":
                    data = b""
                    conn.sendall(b"354 go ahead\r\n")
                elif line.upper() == b"QUIT":
                    conn.sendall(b"221 2.0.0 Bye\r\n")
                    return
                else:
                    conn.sendall(b"250 2.1.0 Ok\r\n")


@pytest.fixture(params=[True, False], ids=["lenient", "strict"])
def server(request: pytest.FixtureRequest) -> Iterator[_Server]:
    s = _Server(request.param)
    yield s
    s.sock.close()


def _connect(ip: str, port: int, timeout: float) -> socket.socket:
    return socket.create_connection((ip, port), timeout=timeout)


def test_a_server_that_ends_data_at_a_bare_line_feed_takes_the_smuggled_message(server: _Server) -> None:
    v = variant("lf-dot-crlf")
    w = wire(v, token="t", sender="jack@store.example", rcpt="jill@library.example", forged="ceo@store.example")
    s = run(v, w, ip="127.0.0.1", connect=lambda ip, _, t: _connect(ip, server.port, t),
            client_address=lambda sock: str(sock.getsockname()[0]), sender="jack@store.example",
            rcpt="jill@library.example", pacer=Pacer(0.5), timeout=5.0)
    result = VariantResult(v, s, ended_early=bool(s.early) or len(s.after) > 1)
    assert s.stopped == "" and s.client == "127.0.0.1"
    if server.lenient:
        assert [r.code for r in s.early] == [250, 250, 250, 354] and [r.code for r in s.after] == [250] * 3 + [
            354, 250]
        assert result.vulnerable and len(server.messages) == 2 and b"smuggled in" in server.messages[1]
        assert any(ln.early and ln.text.startswith("250 2.0.0 Ok: queued as Q1") for ln in result.transcript)
    else:
        assert s.early == [] and [r.code for r in s.after] == [250]
        assert not result.vulnerable and len(server.messages) == 1
        assert b"MAIL FROM:<ceo@store.example>" in server.messages[0]  # the smuggled commands are text to it
    assert "C: This message carries a second one (lf-dot-crlf)<LF>" in result.render()


def test_a_mailbox_is_named_after_its_owner_below_the_harness_own_folders() -> None:
    from harness.loadgen.settle import MailboxFile
    from harness.smuggling.probe import _mailbox

    assert _mailbox(MailboxFile("library", "jill", "<m>", "/var/mail/jill/new/1.x")) == "library: jill"
    assert _mailbox(MailboxFile("library", ".mh_home", "<m>", "/var/mail/.mh_home/jill/Maildir/new/1.x")) == \
        "library: jill"
    assert _mailbox(MailboxFile("library", ".mh-dovecot", "<m>", "/var/mail/.mh-dovecot/acme.test/bob/new/1")) == \
        "library: acme.test/bob"


@pytest.mark.parametrize(("name", "stored", "said"), [
    ("bare-cr", "h: v\nline one line two\n", "replaced by a space"),
    ("bare-cr", "h: v\nline one\rline two\n", "kept"),
    ("bare-lf", "h: v\nline one\nline two\n", "a line end"),  # a Maildir file: <LF> line ends
    ("bare-lf", "h: v\r\n\r\nline one\nline two\r\n", "kept"),  # a mock's spool: <CR><LF> line ends
    ("bare-lf", "h: v\r\n\r\nline one\r\nline two\r\n", "a line end"),
    ("bare-lf", "h: v\nline two\n", "changed otherwise"),
])
def test_how_the_stored_carrier_has_the_bare_character(name: str, stored: str, said: str) -> None:
    from harness.smuggling import Found
    from harness.smuggling.session import Session

    r = VariantResult(variant(name), Session("x:25"), carrier=Found("<c>", text=stored))
    assert r.stored_as == said


def test_the_pause_is_the_whole_one_until_the_server_set_the_pace_then_a_multiple_of_it_within_bounds() -> None:
    pacer = Pacer(2.0)
    assert pacer.deadline(100.0) == 102.0, "no pace yet: the whole pause"
    pacer.answered(0.01)
    assert pacer.deadline(100.0) == 100.0 + PACE_FLOOR, "a fast server: the floor"
    pacer.answered(0.2)
    assert pacer.deadline(100.0) == pytest.approx(100.0 + PACE_FACTOR * 0.2)
    pacer.answered(5.0)
    assert pacer.deadline(100.0) == 102.0, "a slow server: never more than the pause"
    assert "at most 2s" in pacer.describe() and "0." not in pacer.describe().replace(f"{PACE_FLOOR:g}s", ""), \
        "the note names the rule, not a measured figure (a report reads the same on every run)"


def test_the_pace_setter_ends_data_the_right_way_and_times_four_replies() -> None:
    w = control_wire(token="p", sender="jack@store.example", rcpt="jill@library.example")
    assert w.first.endswith(b"the right way.\r\n.\r\nMAIL FROM:<jack@store.example>\r\n"
                            b"RCPT TO:<jill@library.example>\r\nRSET\r\n") and w.rest == b"QUIT\r\n"
    server = _Server(lenient=False)
    try:
        pacer = Pacer(5.0)
        s = run(CONTROL, w, ip="127.0.0.1", connect=lambda ip, _, t: _connect(ip, server.port, t),
                client_address=lambda sock: str(sock.getsockname()[0]), sender="jack@store.example",
                rcpt="jill@library.example", pacer=pacer, timeout=5.0, control=True)
        assert s.stopped == "" and [r.code for r in s.early] == [250, 250, 250, 250], s.lines
        assert pacer.answered_in is not None and pacer.deadline(0.0) < 5.0, "the pace is set from the four replies"
        assert len(server.messages) == 1, "the RSET leaves nothing queued but the carrier"
    finally:
        server.sock.close()
