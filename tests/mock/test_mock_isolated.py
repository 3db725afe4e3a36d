"""``python3 -m harness.mock.server`` from a bare copy of harness/mock, as in the mock-smtp image.

The copy holds only an empty ``harness/__init__.py`` and ``harness/mock/``;
the interpreter runs with ``-I -S`` (no PYTHONPATH, no site-packages) and
sees only aiosmtpd and its two dependencies (atpublic, attrs), copied next
to it.  So an import of anything else (pytest, hypothesis, the rest of
harness) fails the test, as it would fail in the image.

To run it against Debian bookworm's own interpreter and python3-aiosmtpd
1.4.3 (unpacked with ``dpkg -x``), set ``MOCK_SMTP_TEST_PYTHON=/usr/bin/python3``
and ``MOCK_SMTP_TEST_SITE=<...>/usr/lib/python3/dist-packages``.
"""

from __future__ import annotations

import importlib
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import harness.mock
from harness.mock import Script, read_spool, rule

from .smtp_client import MESSAGE, Client


class ServerProcess:
    """The CLI in a subprocess, with its stdout lines available as events."""

    def __init__(self, argv: list[str], cwd: Path) -> None:
        self.proc = subprocess.Popen(
            argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={"PATH": "/usr/bin:/bin"}
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self._pump_thread = threading.Thread(target=self._pump, daemon=True)
        self._pump_thread.start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def expect(self, pattern: str, timeout: float = 10.0) -> re.Match[str]:
        """Wait for an output line matching ``pattern`` (blocking on the pipe, no sleeping)."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                line = self.lines.get(timeout=max(remaining, 0.001))
            except queue.Empty:
                raise AssertionError(f"no line matching {pattern!r}; output so far:\n" + "\n".join(self.seen)) from None
            self.seen.append(line)
            m = re.search(pattern, line)
            if m:
                return m

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        self._pump_thread.join(10)
        assert self.proc.stdout is not None
        self.proc.stdout.close()


def _isolated_site(tmp_path: Path) -> tuple[str, Path]:
    python = os.environ.get("MOCK_SMTP_TEST_PYTHON", sys.executable)
    given = os.environ.get("MOCK_SMTP_TEST_SITE")
    if given:
        return python, Path(given)
    site = tmp_path / "site"
    for name in ("aiosmtpd", "public", "attr"):
        module = importlib.import_module(name)
        assert module.__file__ is not None
        shutil.copytree(
            Path(module.__file__).parent,
            site / name,
            ignore=shutil.ignore_patterns("__pycache__", "tests", "docs", "qa", "testing"),
        )
    return python, site


@pytest.fixture
def isolated_server(tmp_path: Path) -> Iterator[tuple[ServerProcess, Path, Path]]:
    root = tmp_path / "image"
    (root / "harness").mkdir(parents=True)
    (root / "harness" / "__init__.py").write_text("")
    shutil.copytree(Path(harness.mock.__file__).parent, root / "harness" / "mock",
                    ignore=shutil.ignore_patterns("__pycache__"))
    python, site = _isolated_site(tmp_path)
    spool, script = tmp_path / "spool", tmp_path / "script.json"
    Script(hostname="mx.example.edu").save(script)
    boot = (
        "import sys, runpy; "
        f"sys.path[:0] = [{str(root)!r}, {str(site)!r}]; "
        "runpy.run_module('harness.mock.server', run_name='__main__', alter_sys=True)"
    )
    argv = [python, "-I", "-S", "-c", boot, "--host", "127.0.0.1", "--port", "0",
            "--spool", str(spool), "--script", str(script), "--hostname", "ignored.example"]
    server = ServerProcess(argv, cwd=tmp_path)
    try:
        yield server, spool, script
    finally:
        server.close()


def test_isolated_copy_serves_records_and_reloads_script(isolated_server: tuple[ServerProcess, Path, Path]) -> None:
    server, spool, script_path = isolated_server
    server.expect(r"mock: script .* loaded: 0 rule")
    print(server.expect(r"mock: aiosmtpd .*, Python .*").group(0))
    port = int(server.expect(r"mock: listening on 127\.0\.0\.1:(\d+)").group(1))
    c = Client(port)
    assert c.banner == (220, b"mx.example.edu ESMTP mock")  # the script's hostname wins
    assert "DSN" in c.ehlo()[1].split("\n")
    assert c.cmd("MAIL FROM:<a@s.example> RET=HDRS ENVID=QQ+2B1")[0] == 250
    assert c.cmd("RCPT TO:<b@r.example> NOTIFY=FAILURE ORCPT=rfc822;b@r.example")[0] == 250
    server.expect(r"mock: session 1 RCPT TO:<b@r\.example> NOTIFY=FAILURE ORCPT=rfc822;b@r\.example -> 250 2\.1\.5 Ok")

    # Change the script while the session is open: the next command sees it.
    Script(hostname="mx.example.edu").add(rule("rcpt", "550 5.1.1 gone now")).save(script_path)
    assert c.cmd("RCPT TO:<c@r.example>") == (550, "5.1.1 gone now")
    server.expect(r"mock: script .* loaded: 1 rule")
    assert c.cmd("DATA")[0] == 354
    assert c.data(MESSAGE)[0] == 250
    assert c.cmd("QUIT")[0] == 221
    c.close()
    server.expect(r"mock: session 1 closed \(quit\)")

    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(10) == 0
    server.expect(r"mock: stopped")

    back = read_spool(spool)
    (session,) = back.sessions
    assert session.end_reason == "quit" and session.helo == "client.example"
    assert session.reply_to("RCPT TO:<c@r.example>") == "550 5.1.1 gone now"
    (msg,) = back.messages
    assert msg.data == MESSAGE and msg.recipients == ("b@r.example",)
    assert msg.mail_params == {"RET": "HDRS", "ENVID": "QQ+2B1"} and msg.envid == "QQ+1"
    assert msg.rcpts[0].params == {"NOTIFY": "FAILURE", "ORCPT": "rfc822;b@r.example"}
    assert not any("Traceback" in line for line in server.seen)
