"""PID 1 of an Exim node: runs Exim's daemon and copies its logs to the container's output as they grow.

    mh-run.py exim -bdf -q1s

Exim writes its logs to files (log_file_path = /var/log/exim4/%slog); the harness reads the container's output.
This process follows the files (inotify on their folder; a poll every 50 ms where inotify is not available) and
writes each new line to its stdout, which is the container's, after the log's name:

    mainlog    "exim-main: "     the main log
    rejectlog  "exim-reject: "   the reject log (a rejection after DATA adds the message's headers, a line each)
    paniclog   "exim-panic: "    the panic log
    stderr     "exim-stderr: "   what the daemon and its children print (a copy of each panic line, as Exim does)

Lines of one log keep their order and are never held back: the file is read as soon as the kernel says it grew,
and every complete line is written at once (an unfinished line waits for its newline). The log barrier
(harness.mta.base.MtaNode.sync_command) appends a token to mh-sync; a round reads mh-sync first, then the logs,
and writes the tokens ("mailharness-sync: TOKEN") after the lines read, so every line Exim wrote before the token
is out before it.

Being PID 1 it also reaps the processes reparented to it (Exim's delivery processes outlive the SMTP session that
started them), passes SIGHUP (Exim re-reads its configuration) and SIGTERM/SIGINT to the daemon, and when the daemon
ends it copies what the logs still hold, then exits with the daemon's status: a panic line on the way out (a broken
configuration after SIGHUP) reaches the container's output. Standard library only.
"""

from __future__ import annotations

import ctypes
import errno
import os
import select
import signal
import sys

LOGS = "/var/log/exim4"
FILES = (("mainlog", b"exim-main: "), ("rejectlog", b"exim-reject: "), ("paniclog", b"exim-panic: "),
         ("stderr", b"exim-stderr: "))
SYNC = "mh-sync"
SYNC_PREFIX = b"mailharness-sync: "
PIPE_BUF = 4096  # a write of at most this much to a pipe is never interleaved with another process's
IN_MODIFY, IN_CREATE, IN_MOVED_TO = 0x2, 0x100, 0x80


class Followed:
    """One file, read from where the last read ended; the unfinished last line kept until its newline comes."""

    def __init__(self, name: str, prefix: bytes):
        self.path = os.path.join(LOGS, name)
        self.prefix = prefix
        self.fd = -1
        self.ino = 0
        self.rest = b""

    def _open(self) -> bool:
        try:
            self.fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return False
        self.ino = os.fstat(self.fd).st_ino
        return True

    def lines(self) -> list[bytes]:
        """The complete lines added since the last call (a file replaced under its name: the old one's rest, then
        the new one from its start; a file truncated: from its start)."""
        if self.fd < 0 and not self._open():
            return []
        out = self._drain()
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return out
        if st.st_ino != self.ino:
            os.close(self.fd)
            self.fd, self.rest = -1, b""
            if self._open():
                out += self._drain()
        elif st.st_size < os.lseek(self.fd, 0, os.SEEK_CUR):
            os.lseek(self.fd, 0, os.SEEK_SET)
            self.rest = b""
            out += self._drain()
        return out

    def _drain(self) -> list[bytes]:
        chunks = [self.rest]
        while True:
            b = os.read(self.fd, 65536)
            if not b:
                break
            chunks.append(b)
        data = b"".join(chunks)
        *done, self.rest = data.split(b"\n")
        return done


def pump(followed: list[Followed], sync: Followed) -> list[bytes]:
    """One round: the tokens asked for so far, then every log's new lines, as the lines to write, the tokens last.
    A token was written after every line Exim wrote before it; those lines are read here after the token was, so
    they come out before it."""
    tokens = [t for t in sync.lines() if t]
    return [f.prefix + line for f in followed for line in f.lines()] + [SYNC_PREFIX + t for t in tokens]


def write_out(lines: list[bytes]) -> None:
    """Write lines to stdout in writes of at most PIPE_BUF bytes that end at a line's end (a longer line alone)."""
    buf = b""
    for line in lines:
        if buf and len(buf) + len(line) + 1 > PIPE_BUF:
            _write(buf)
            buf = b""
        buf += line + b"\n"
    if buf:
        _write(buf)


def _write(data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            n = os.write(1, view)
        except InterruptedError:
            continue
        view = view[n:]


def inotify() -> int:
    """An inotify descriptor watching LOGS (-1 where there is none: the poll is the fallback)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        if libc.inotify_add_watch(fd, LOGS.encode(), IN_MODIFY | IN_CREATE | IN_MOVED_TO) < 0:
            err = ctypes.get_errno()
            os.close(fd)
            raise OSError(err, "inotify_add_watch")
        return fd
    except (OSError, AttributeError) as exc:
        print(f"mailharness: mh-run.py: no inotify ({exc}); the logs are polled every 50 ms", flush=True)
        return -1


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    followed = [Followed(name, prefix) for name, prefix in FILES]
    sync = Followed(SYNC, b"")
    r, w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(w)
    seen: list[int] = []
    for sig in (signal.SIGCHLD, signal.SIGHUP, signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda s, _f: seen.append(s))
    notify = inotify()
    err = os.open(os.path.join(LOGS, "stderr"), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    null = os.open(os.devnull, os.O_RDONLY)
    daemon = os.posix_spawn(argv[0], argv, dict(os.environ), file_actions=[
        (os.POSIX_SPAWN_DUP2, null, 0), (os.POSIX_SPAWN_DUP2, err, 1), (os.POSIX_SPAWN_DUP2, err, 2)],
        setsigdef=[signal.SIGPIPE, signal.SIGCHLD, signal.SIGHUP, signal.SIGTERM, signal.SIGINT])
    os.close(err)
    os.close(null)
    poller = select.poll()
    poller.register(r, select.POLLIN)
    if notify >= 0:
        poller.register(notify, select.POLLIN)
    status: int | None = None
    while True:
        poller.poll(1000 if notify >= 0 else 50)  # inotify wakes it at once; the second is a safety net
        for fd in (r, notify):
            if fd < 0:
                continue
            try:
                while os.read(fd, 4096):
                    pass
            except BlockingIOError:
                pass
        while seen:
            sig = seen.pop(0)
            if sig in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT) and status is None:
                try:
                    os.kill(daemon, sig)
                except ProcessLookupError:
                    pass
        while True:  # reap: the daemon, and whatever was reparented to PID 1
            try:
                pid, st = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            if pid == daemon:
                status = os.waitstatus_to_exitcode(st)
        write_out(pump(followed, sync))
        if status is not None:
            return status if status >= 0 else 128 - status


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except OSError as exc:
        if exc.errno != errno.EPIPE:
            raise
        sys.exit(1)
