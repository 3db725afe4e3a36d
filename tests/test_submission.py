"""Mail submitted inside a node (harness.submission): the transcript says what the node's sendmail or the SMTP
client inside the node saw, and the message file never stays behind."""

from __future__ import annotations

import json

from harness.smtp import Envelope, Recipient
from harness.submission import submit_inside


class FakeNode:
    name = "library"

    def __init__(self, result: tuple[int, bytes, bytes]) -> None:
        self.result = result
        self.files: dict[str, bytes] = {}
        self.ran: list[list[str] | str] = []

    def put_file(self, path: str, content: bytes, mode: int = 0o644) -> None:
        self.files[path] = content

    def run(self, cmd: list[str] | str) -> tuple[int, bytes, bytes]:
        self.ran.append(cmd)
        if isinstance(cmd, list) and cmd[:2] == ["rm", "-f"]:
            self.files.pop(cmd[2], None)
            return 0, b"", b""
        return self.result

    def submit_command(self, sender: str, recipients: list[str], path: str) -> list[str]:
        return ["sendmail", "-f", sender, "--", *recipients, "<", path]


ENV = Envelope("app", (Recipient("customer@example.net"),), None, None)


def test_sendmail_exit_0_is_a_250_and_the_file_is_removed() -> None:
    node = FakeNode((0, b"", b""))
    t = submit_inside(node, ENV, b"Subject: x\n\nhi\n")
    assert t.accepted and t.reply("END-OF-MESSAGE") is not None
    assert node.files == {} and node.ran[0][:3] == ["sendmail", "-f", "app"]


def test_sendmail_failure_says_its_exit_and_output() -> None:
    node = FakeNode((75, b"", b"sendmail: fatal: no such user\n"))
    t = submit_inside(node, ENV, b"x")
    eod = t.reply("END-OF-MESSAGE")
    assert not t.accepted and eod is not None and eod.code == 554
    assert "exited 75" in eod.text and "no such user" in eod.text and node.files == {}


def test_smtp_from_inside_the_node_is_a_real_transcript() -> None:
    said = [["BANNER", "", 220, "web1 ESMTP"], ["EHLO", "EHLO localhost", 250, "web1\nPIPELINING"],
            ["MAIL", "MAIL FROM:<app@shop.test>", 250, "2.1.0 Ok"],
            ["RCPT", "RCPT TO:<customer@example.net>", 554, "5.7.1 <customer@example.net>: Relay access denied"]]
    node = FakeNode((0, json.dumps(said).encode(), b""))
    t = submit_inside(node, ENV, b"x", over="smtp")
    [rcpt] = t.rcpt_replies
    assert (rcpt.code, rcpt.enhanced) == (554, "5.7.1") and not t.accepted
    assert node.ran[0][0] == "python3" and node.files == {}


def test_an_smtp_client_that_printed_nothing_is_a_failed_connection() -> None:
    node = FakeNode((1, b"", b"Traceback: ...\nNameError\n"))
    t = submit_inside(node, ENV, b"x", over="smtp")
    assert t.failure is not None and t.failure.stage == "CONNECT" and "NameError" in t.failure.reply.text
