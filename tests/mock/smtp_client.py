"""A thin smtplib wrapper for the tests: 4xx/5xx are values, never exceptions."""

from __future__ import annotations

import smtplib

from harness.mock import MockSMTP


class Client:
    """Low-level SMTP client: every method returns ``(code, text)``."""

    def __init__(self, target: MockSMTP | int, timeout: float = 5.0) -> None:
        self.smtp = smtplib.SMTP(timeout=timeout)
        port = target if isinstance(target, int) else target.port
        self.banner = self.smtp.connect("127.0.0.1", port)

    def cmd(self, line: str) -> tuple[int, str]:
        code, text = self.smtp.docmd(line)
        return code, text.decode("utf-8", "replace")

    def ehlo(self, name: str = "client.example") -> tuple[int, str]:
        return self.cmd(f"EHLO {name}")

    def data(self, body: bytes) -> tuple[int, str]:
        """Send ``body`` (CRLF-terminated lines) and the final dot after a 354; return the reply."""
        assert body.endswith(b"\r\n")
        self.smtp.send(body.replace(b"\r\n.", b"\r\n..") + b".\r\n")
        code, text = self.smtp.getreply()
        return code, text.decode("utf-8", "replace")

    def settimeout(self, seconds: float) -> None:
        assert self.smtp.sock is not None
        self.smtp.sock.settimeout(seconds)

    def close(self) -> None:
        self.smtp.close()


MESSAGE = b"From: a@sender.example\r\nTo: b@rcpt.example\r\nSubject: hello\r\n\r\nbody line\r\n.leading dot\r\n"


def send(mock: MockSMTP, sender: str, *rcpts: str, body: bytes = MESSAGE) -> list[tuple[int, str]]:
    """One complete transaction; returns the replies to MAIL, each RCPT, DATA and end of data."""
    c = Client(mock)
    try:
        c.ehlo()
        replies = [c.cmd(f"MAIL FROM:<{sender}>")]
        replies += [c.cmd(f"RCPT TO:<{r}>") for r in rcpts]
        replies.append(c.cmd("DATA"))
        if replies[-1][0] == 354:
            replies.append(c.data(body))
        c.cmd("QUIT")
    finally:
        c.close()
    return replies
