"""The shell commands that carry out the MTA-neutral changes on any MTA node (harness.faults.changes): a file
written (a .forward, a mailbox filled to its limit), and the mailbox file system filled or freed. Every MTA image
keeps its mailboxes on /var/mail, a small tmpfs (harness.nodes), so DiskFull means the same on each."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Protocol

from ..nodes.base import write_file_command
from . import FaultError
from .changes import File

# /var/mail is a small tmpfs: filled to the last block (dd stops at ENOSPC), or freed.
FILL = ("dd if=/dev/zero of=/var/mail/.mh-fill bs=64k 2>/dev/null || true; "
        "dd if=/dev/zero of=/var/mail/.mh-fill2 bs=1 2>/dev/null || true")
UNFILL = "rm -f /var/mail/.mh-fill /var/mail/.mh-fill2"
MAIL_FS = "/var/mail/"


def file_command(f: File) -> str:
    """Write `f` on its node: its directory first (mode 1777) when it names one, then its text, or `fill` bytes of
    "x", owned by its owner when it names one."""
    q = shlex.quote(f.path)
    steps = [f"mkdir -p {shlex.quote(f.directory)} && chmod 1777 {shlex.quote(f.directory)}"] if f.directory else []
    if f.fill:
        steps.append(f"head -c {f.fill} /dev/zero | tr '\\0' x > {q}")
    else:
        steps.append(write_file_command(f.path, f.text.encode()))
    if f.owner:
        steps.append(f"chown {shlex.quote(f.owner)}: {q}")
    return " && ".join(steps)


def remove_command(f: File, keep: dict[str, File]) -> str:
    """Remove `f`, and the directory made for it (`f.directory`, with the parents `mkdir -p` made) where nothing
    else is left in it and no file still wanted names it: an undo leaves no folder behind (an empty Maildir++
    folder is still a folder to an IMAP client)."""
    q = shlex.quote(f.path)
    if not f.directory or any(k.directory == f.directory for k in keep.values()):
        return f"rm -f {q}"
    d = shlex.quote(f.directory)
    return f"rm -f {q} && {{ [ ! -d {d} ] || rmdir -p --ignore-fail-on-non-empty {d}; }}"


def files_script(done_files: dict[str, File], want_files: dict[str, File], *, filled: bool,
                 fill: bool) -> list[str]:
    """The commands that bring the files and the mailbox file system from what was written (`done_files`, the
    disk `filled` or not) to what is wanted (`want_files`, `fill`). A file to write on a full mailbox file system (a
    .forward while DiskFull holds) frees it first, writes, and fills it again, as the admin who wrote that file
    before the disk filled up would have."""
    files: list[str] = []
    for path in sorted(set(done_files) | set(want_files)):
        f = want_files.get(path)
        if f is None:
            files.append(remove_command(done_files[path], want_files))
        elif done_files.get(path) != f:
            files.append(file_command(f))
    refill = filled and fill and any(f.path.startswith(MAIL_FS) for p, f in want_files.items()
                                     if done_files.get(p) != f)
    script: list[str] = []
    if refill or filled and not fill:
        script.append(UNFILL)
    script += files
    if refill or fill and not filled:
        script.append(FILL)
    return script


@dataclass
class Written:
    """What an MTA node's configuration writer has written beyond the node's baseline: its parameters (whatever
    that MTA calls them), tables, services turned off, files, and whether the mailbox file system is full."""

    params: dict[str, str] = field(default_factory=dict)
    tables: dict[str, str | None] = field(default_factory=dict)  # None: unknown (the node restarted)
    services_off: frozenset[str] = frozenset()
    files: dict[str, File] = field(default_factory=dict)
    disk_filled: bool = False

    @property
    def empty(self) -> bool:
        return not (self.params or self.tables or self.services_off or self.files or self.disk_filled)


class Listening(Protocol):
    name: str
    ip: str

    def exec(self, cmd: list[str], *, check: bool = True) -> bytes: ...


def await_listener(node: Listening, listening: bool) -> None:
    """After its SMTP service was turned off (or on) an MTA may still take one more connection on the old socket:
    poll, with a deadline (5 s), until a connection to port 25 is refused (or answered)."""
    connect = f"timeout 1 bash -c 'exec 3<>/dev/tcp/{node.ip}/25' 2>/dev/null"
    want = connect if listening else f"! {connect}"
    out = node.exec(["bash", "-c", f"for i in $(seq 100); do {want} && echo ok && exit 0; sleep 0.05; done"],
                    check=False)
    if out.strip() != b"ok":
        raise FaultError(f"{node.name}: port 25 still {'refuses' if listening else 'answers'} connections "
                         f"5 s after the SMTP service was turned {'on' if listening else 'off'}")
