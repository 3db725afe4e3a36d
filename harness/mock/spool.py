"""The spool directory: how a containerised mock hands its records to the harness.

Layout (every file written atomically: temporary ``.tmp-*`` file, then rename)::

    <spool>/sessions/000003.json        one per session, rewritten at each command, reply and note
    <spool>/messages/000003-001.eml     raw message data as received
    <spool>/messages/000003-001.json    envelope, parameters and replies

A message's ``.json`` is written after its ``.eml``, so a message is
complete once its ``.json`` exists.  :func:`read_spool` reads a spool back
into the same :class:`~harness.mock.records.SessionRecord` and
:class:`~harness.mock.records.MessageRecord` objects the in-process server
gives, from a directory or from tar bytes (e.g. ``docker cp mock:/var/spool/mock -``;
any leading path inside the archive is ignored, gzip is detected)::

    spool = read_spool(tar_bytes)
    assert spool.messages[0].recipients == ("bob@example.com",)
"""

from __future__ import annotations

import io
import json
import os
import re
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .records import MessageRecord, SessionRecord
from .script import atomic_write

_SESSION_RE = re.compile(r"(\d+)\.json")
_MESSAGE_RE = re.compile(r"(\d+)-(\d+)\.(json|eml)")


def _message_stem(message_id: str) -> str:
    sid, _, n = message_id.partition("-")
    return f"{int(sid):06d}-{int(n):03d}"


class SpoolWriter:
    """A :class:`~harness.mock.recorder.RecordSink` writing the spool layout above."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.sessions_dir = self.directory / "sessions"
        self.messages_dir = self.directory / "messages"
        self.sessions_dir.mkdir(parents=True, exist_ok=True)
        self.messages_dir.mkdir(parents=True, exist_ok=True)

    def next_session_id(self) -> int:
        """1 + the highest session number already in the spool (so a restart does not overwrite)."""
        ids = [int(m.group(1)) for p in self.sessions_dir.iterdir() if (m := _SESSION_RE.fullmatch(p.name))]
        return max(ids, default=0) + 1

    def session_changed(self, session: SessionRecord) -> None:
        body = json.dumps(session.to_dict(), indent=1).encode()
        atomic_write(self.sessions_dir / f"{session.id:06d}.json", body)

    def message_received(self, message: MessageRecord) -> None:
        stem = _message_stem(message.id)
        atomic_write(self.messages_dir / f"{stem}.eml", message.data)
        body = json.dumps(message.to_dict(), indent=1).encode()
        atomic_write(self.messages_dir / f"{stem}.json", body)


@dataclass(frozen=True)
class Spool:
    """Records read back from a spool, sorted by session and message number."""

    sessions: tuple[SessionRecord, ...]
    messages: tuple[MessageRecord, ...]

    def session(self, session_id: int) -> SessionRecord:
        for s in self.sessions:
            if s.id == session_id:
                return s
        raise KeyError(f"no session {session_id} in spool")

    def message(self, message_id: str) -> MessageRecord:
        for m in self.messages:
            if m.id == message_id:
                return m
        raise KeyError(f"no message {message_id!r} in spool")


def _files_from_dir(root: Path) -> Iterable[tuple[str, str, bytes]]:
    for kind in ("sessions", "messages"):
        folder = root / kind
        if folder.is_dir():
            for p in folder.iterdir():
                if p.is_file() and not p.name.startswith("."):
                    yield kind, p.name, p.read_bytes()


def _files_from_tar(data: bytes) -> Iterable[tuple[str, str, bytes]]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
        for member in tar.getmembers():
            if not member.isfile():
                continue
            parts = [p for p in member.name.split("/") if p not in ("", ".")]
            if len(parts) < 2 or parts[-2] not in ("sessions", "messages") or parts[-1].startswith("."):
                continue
            f = tar.extractfile(member)
            if f is not None:
                yield parts[-2], parts[-1], f.read()


def read_spool(source: str | os.PathLike[str] | bytes) -> Spool:
    """Read a spool from a directory, a tar file path, or tar bytes.

    Messages whose ``.json`` is missing (still being written) are skipped.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        files = list(_files_from_tar(bytes(source)))
    else:
        path = Path(source)
        if path.is_dir():
            files = list(_files_from_dir(path))
        elif path.is_file():
            files = list(_files_from_tar(path.read_bytes()))
        else:
            raise FileNotFoundError(f"no spool at {path}")
    sessions: list[SessionRecord] = []
    meta: dict[str, bytes] = {}
    bodies: dict[str, bytes] = {}
    for kind, name, content in files:
        if kind == "sessions" and _SESSION_RE.fullmatch(name):
            sessions.append(SessionRecord.from_dict(json.loads(content)))
        elif kind == "messages" and (m := _MESSAGE_RE.fullmatch(name)):
            stem = f"{m.group(1)}-{m.group(2)}"
            (meta if m.group(3) == "json" else bodies)[stem] = content
    messages = []
    for stem, raw in meta.items():
        if stem in bodies:
            messages.append(MessageRecord.from_dict(json.loads(raw), bodies[stem]))
    sessions.sort(key=lambda s: s.id)
    messages.sort(key=lambda m: tuple(int(x) for x in m.id.split("-")))
    return Spool(tuple(sessions), tuple(messages))


__all__ = ["Spool", "SpoolWriter", "read_spool"]
