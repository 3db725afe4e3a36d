"""An Exim node's queue, as `exim -bp` lists it, with the messages a process is delivering right now.

`exim -bp` lists each message (its age, size, id, sender, "*** frozen ***" when frozen) and its recipients, the
delivered ones flagged "D" (or "+D": every address its alias expanded to was delivered). It gives no state beyond
frozen and no reasons: a message that is locked (a delivery process holds its -D spool file: /proc/locks) is
"active", a frozen one "frozen", any other "deferred" (waiting for its next try); the reasons are "" (the log says
why: harness.mta.exim.evidence).
"""

from __future__ import annotations

import re

from ...evidence import QueueEntry
from .evidence.grammar import MSGID

SPOOL = "/var/spool/exim4"
_MARK = "--mailharness-spool--"
# One round trip: the listing, then each spool data file's inode and name, then the kernel's file locks.
COMMAND = ["sh", "-c", f"exim -bp 2>&1; echo {_MARK}; find {SPOOL}/input -name '*-D' -printf '%i %f\\n'; "
           f"echo {_MARK}; cat /proc/locks"]
_HEAD = re.compile(rf"^\s*\d+[smhdw]\s+[\d.]+[KMG]?\s+(?P<id>{MSGID})\s+<(?P<sender>[^>]*)>(?P<rest>.*)$")
_RCPT = re.compile(r"^\s+(?P<flag>\+?D\s+)?(?P<address>\S+)(?:\s.*)?$")


def parse(text: str, node: str = "") -> list[QueueEntry]:
    """COMMAND's output as entries. A line that is none of the listing's (Exim's error instead of a listing) raises
    ValueError with its words: an empty list must mean an empty queue."""
    listing, _, rest = text.partition(_MARK + "\n")
    files, _, locks = rest.partition(_MARK + "\n")
    locked_inodes = {f[5].rsplit(":", 1)[-1] for f in (ln.split() for ln in locks.splitlines()) if len(f) > 5}
    active = {name.removesuffix("-D") for ino, _, name in (ln.partition(" ") for ln in files.splitlines())
              if ino in locked_inodes}
    out: list[QueueEntry] = []
    head: re.Match[str] | None = None
    rcpts: list[str] = []

    def flush() -> None:
        if head is not None:
            qid = head.group("id")
            state = "frozen" if "*** frozen ***" in head.group("rest") else "active" if qid in active else "deferred"
            out.append(QueueEntry(node, qid, state, head.group("sender"), tuple(rcpts), ("",) * len(rcpts)))

    for line in listing.splitlines():
        if not line.strip():
            continue
        m = _HEAD.match(line)
        if m:
            flush()
            head, rcpts = m, []
            continue
        r = _RCPT.match(line)
        if head is not None and r:
            if not r.group("flag"):
                rcpts.append(r.group("address"))
            continue
        raise ValueError(f"exim -bp on {node or 'the node'}: {line.strip()}")
    flush()
    return out
