"""The programmable mock SMTP server (harness.mock) in its own container.

    node = world.node("edu")                       # a NodeSpec with kind="mock"
    node.script = Script().add(rule("rcpt", "550 5.1.1 no such user"))
    ...
    [msg] = node.wait_for_messages(1)              # follows the container log, then reads the spool
    msg.rcpts[0].params["NOTIFY"]
"""

from __future__ import annotations

import re
import time

from ..faults import FaultError
from ..faults.changes import File, NodeWant
from ..mock import MessageRecord, Script, SessionRecord, Spool, read_spool
from ..mock.tls import FAULTS_DIR
from ..topology import NodeSpec
from .base import Node, NodeError, Placement

_MESSAGE = re.compile(r"^session \d+ message \d+-\d+ from ")
SCRIPT_PATH = "/etc/mock/script.json"


class MockNode(Node):
    kind = "mock"

    def __init__(self, spec: NodeSpec, image: str, placement: Placement):
        super().__init__(spec.name, spec.hostname, image, placement, domain=spec.domain)
        self.spec = spec
        self.container.with_command(["--hostname", spec.hostname, *(f"--port={p}" for p in spec.ports)])
        self._script = Script()
        # The script a reset returns to (None: the mock's default): a stand-in's standing behaviour, such as a
        # relayhost's STARTTLS and logins, which a test's script changes for the test only.
        self.baseline: Script | None = None
        self._mark = 0  # the event log's position at the last reset
        self._fault_files: dict[str, File] = {}  # the files the applied faults have written (harness.mock.tls)

    def wait_started(self, timeout: float, since: int) -> None:
        self.wait_log("mock: listening on", timeout, since, "mock SMTP server listening")

    # -- the script --------------------------------------------------------------------------------------
    @property
    def script(self) -> Script:
        return self._script

    @script.setter
    def script(self, script: Script) -> None:
        """Replace the script; the server re-reads it before its next command."""
        self.put_file(SCRIPT_PATH, script.to_json().encode())
        self._script = script

    # -- what it saw --------------------------------------------------------------------------------------
    def spool(self) -> Spool:
        # The mock writes each spool file whole (a temporary file, then a rename) while we read: GNU tar's exit 1
        # ("file changed as we read it", a file renamed into place meanwhile) leaves the files it read whole.
        return read_spool(self.read(["tar", "-C", "/var/spool/mock", "--warning=no-file-changed",
                                     "--ignore-failed-read", "-cf", "-", "."], ok=(0, 1)))

    @property
    def messages(self) -> tuple[MessageRecord, ...]:
        return self.spool().messages

    @property
    def sessions(self) -> tuple[SessionRecord, ...]:
        return self.spool().sessions

    def wait_for_messages(self, n: int = 1, timeout: float = 15.0, since: int | None = None) -> tuple[
            MessageRecord, ...]:
        """Wait until the mock has received `n` messages (since `since`, default: the last reset), then read
        them from the spool. Waits on the container's log, never sleeps."""
        start = self._mark if since is None else since
        deadline = time.monotonic() + timeout
        pos, seen = start, 0
        while seen < n:
            ev = self.events.wait(
                lambda e: e.node == self.name and e.program == "mock" and bool(_MESSAGE.match(e.text)),
                timeout=max(0.0, deadline - time.monotonic()), since=pos,
                what=f"{n} message(s) at the mock {self.name} ({seen} so far)")
            pos, seen = ev.seq + 1, seen + 1
        messages = self.messages
        if len(messages) < n:  # the mock writes its spool before it logs the message (harness.mock.recorder)
            raise NodeError(f"the mock {self.name} logged {n} message(s) since the mark, but its spool holds "
                            f"{len(messages)}: {[m.id for m in messages]}")
        return messages[-n:]

    # -- faults (harness.faults.ledger) --------------------------------------------------------------------
    def converge(self, want: NodeWant) -> None:
        """Bring the faults' files (TLS: harness.mock.tls) to what the applied faults imply; the mock reads them at
        its next EHLO or STARTTLS. A mock node takes no other change."""
        other = [k for k, v in (("parameters", want.params), ("tables", want.tables), ("services", want.services_off),
                                ("a full disk", want.disk_filled)) if v]
        if other:
            raise FaultError(f"{self.name} is a mock node: the faults applied ask for {', '.join(other)}, which "
                             "only an MTA node has")
        from ..faults.commands import files_script  # (harness.faults.commands imports harness.nodes)

        script = files_script(self._fault_files, dict(want.files), filled=False, fill=False)
        if script:
            self.exec(["sh", "-c", "set -e\n" + "\n".join(script)])
        self._fault_files = dict(want.files)

    def reset(self) -> None:
        self._mark = self.events.mark()
        # Files only: the server keeps its spool folders open. A removed script also zeroes the counters.
        self.exec(["sh", "-c", f"find /var/spool/mock -type f -delete; rm -f {SCRIPT_PATH} {FAULTS_DIR}/*"])
        self._fault_files = {}
        self._script = Script()
        if self.baseline is not None:
            self.script = self.baseline
