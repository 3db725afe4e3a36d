"""Keeping evidence: every DSN a test saw, saved as an .eml file named after the test, for `mailharness dsn-lint`.

    kept = keep_dsns(world, world.stories, "reports/dsns", "tests/test_mail.py::test_bounce",
                     handed=world.dsns_seen)
    kept.files                     # [Path("reports/dsns/tests_test_mail.py_test_bounce-1.eml"), ...]
    kept.by_message_id             # Message-ID -> file, for the report's links
    kept.problems                  # what could not be kept, and why (said in the terminal summary)

What a test saw: the DSNs of its messages' stories (each one a node emitted and a mailbox received, read from that
mailbox), and those `Mailbox.wait_for_dsn` handed to it; each once. A file holds the message as delivered, byte
for byte (its Return-Path says the DSN's envelope sender: lint it with `--delivered`). Files are never
overwritten: the counter goes on past the files already there (an earlier run, another pytest-xdist worker).
`--mailharness-keep-dsns=DIR` (harness.plugin.keepdsns) calls this at the end of each test, while its topologies
still run.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from ..ports import Mailboxes
from ..verdict import Story

log = logging.getLogger("mailharness")

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
MAX_STEM = 120  # characters of a file name's stem, before the counter (file systems allow 255 bytes)


def file_stem(nodeid: str) -> str:
    """The start of the file names of one test's DSNs: its node id with every run of characters other than
    letters, digits, ".", "_" and "-" made one "_" ("tests/test_mail.py::test_x[a b]" ->
    "tests_test_mail.py_test_x_a_b"); a long one is cut and ends in a hash of the whole id, so that two tests never
    share a stem."""
    stem = _UNSAFE.sub("_", nodeid).strip("._") or "test"
    if len(stem) > MAX_STEM:
        digest = hashlib.sha256(nodeid.encode()).hexdigest()[:10]
        stem = f"{stem[:MAX_STEM - 11]}_{digest}"
    return stem


def write_new(directory: Path, stem: str, data: bytes, start: int = 1) -> Path:
    """Write `data` to DIRECTORY/STEM-N.eml for the first N from `start` whose file does not exist yet (created
    exclusively: a file is never overwritten, even by another process writing at the same time)."""
    directory.mkdir(parents=True, exist_ok=True)
    n = start
    while True:
        path = directory / f"{stem}-{n}.eml"
        try:
            with open(path, "xb") as fh:
                fh.write(data)
            return path
        except FileExistsError:
            n += 1


@dataclass
class Kept:
    """What keep_dsns saved, and what it could not."""

    files: list[Path] = field(default_factory=list)
    """The files written, in the order the DSNs were seen."""
    by_message_id: dict[str, Path] = field(default_factory=dict)
    """Each kept DSN's Message-ID -> its file (the report links a DSN to its file)."""
    problems: list[str] = field(default_factory=list)
    """Each DSN that was seen and could not be kept, with the reason."""


def keep_dsns(mailboxes: Mailboxes, stories: Sequence[Story], directory: str | os.PathLike[str], nodeid: str, *,
              handed: Iterable[tuple[str, str, EmailMessage]] = ()) -> Kept:
    """Save every DSN the stories show delivered, and every one `handed` (mailbox address, Message-ID, message:
    `MailTopology.dsns_seen`), once each, as DIRECTORY/STEM-N.eml (see file_stem and write_new). The bytes are
    read again from the recipient's mailbox in `mailboxes` (the topology), as delivered; a handed DSN that is no
    longer there is written as the test got it."""
    wanted: dict[str, tuple[str, EmailMessage | None]] = {}  # Message-ID -> mailbox address, and the test's copy
    for story in stories:
        for d in story.dsns:
            if d.delivered_at and d.message_id:
                wanted.setdefault(d.message_id, (d.to, None))
    for i, (box, mid, got) in enumerate(handed):
        key = mid or f"(no Message-ID, the {i + 1}. handed to the test)"
        if wanted.get(key, ("", None))[1] is None:
            wanted[key] = (wanted[key][0] if key in wanted else box, got)
    kept = Kept()
    boxes = _Boxes(mailboxes)
    directory = Path(directory)
    stem = file_stem(nodeid)
    for mid, (address, message) in wanted.items():
        data, why = boxes.delivered(address, mid)
        if data is None and message is not None:
            data = message.as_bytes()  # no longer in its mailbox: the copy the test got
        if data is None:
            kept.problems.append(f"DSN {mid} to {address}: {why}")
            continue
        try:
            path = write_new(directory, stem, data)
        except OSError as exc:
            kept.problems.append(f"DSN {mid} to {address}: could not be written to {directory}: {exc}")
            continue
        kept.files.append(path)
        kept.by_message_id[mid] = path
    return kept


class _Boxes:
    """The mailboxes read so far (each once), by address: Message-ID -> the message as delivered."""

    def __init__(self, mailboxes: Mailboxes) -> None:
        self.mailboxes = mailboxes
        self.read: dict[str, dict[str, bytes]] = {}
        self.errors: dict[str, str] = {}

    def delivered(self, address: str, mid: str) -> tuple[bytes | None, str]:
        """The DSN `mid` as delivered to `address`, or None and why not."""
        from ..mail import parse_message

        if address not in self.read and address not in self.errors:
            try:
                datas = self.mailboxes.mailbox(address).raw_messages()
                self.read[address] = {str(parse_message(d)["Message-ID"] or "").strip(): d for d in datas}
            except Exception as exc:  # a node halted by a fault, a container gone, a mailbox the harness cannot
                # read (docker errors, NodeError, NotFound...): the DSN is not kept, and the summary says why
                log.debug("could not read %s's mailbox", address, exc_info=True)
                self.errors[address] = f"its mailbox could not be read: {type(exc).__name__}: {exc}"
        if address in self.errors:
            return None, self.errors[address]
        data = self.read[address].get(mid)
        return data, "" if data is not None else \
            f"not in the mailbox (Message-IDs there: {', '.join(self.read[address]) or 'none'})"
