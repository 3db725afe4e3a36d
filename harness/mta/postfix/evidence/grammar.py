"""The grammar of Postfix's log lines after "program[pid]: ": a queue id ("0384E176400: ", or NOQUEUE), then
key=value fields ("to=<jill@library.example>, relay=local, ..., status=sent (delivered to maildir)")."""

from __future__ import annotations

import re

from ....evidence.events import LogEvent
from ....evidence.events import parse_line as _parse_line

_QID = re.compile(r"^(?P<qid>[0-9A-F]{6,}|[0-9B-DF-HJ-NP-TV-Zb-z]{10,}|NOQUEUE): (?P<text>.*)$")
_FIELD = re.compile(r"(?:^|, |\s)(?P<k>[a-z_]+)=(?P<v><[^>]*>|[^,\s]+)")
_STATUS = re.compile(r"status=(?P<status>\w+)(?: \((?P<detail>.*)\))?$")


def grammar(rest: str) -> tuple[str | None, str, dict[str, str]]:
    """The queue id (short or long form, or NOQUEUE), the text after it, and its fields: status=WORD (DETAIL) gives
    `status` and `detail`."""
    qid = None
    q = _QID.match(rest)
    if q:
        qid, rest = q.group("qid"), q.group("text")
    fields: dict[str, str] = {f.group("k"): f.group("v") for f in _FIELD.finditer(rest)}
    s = _STATUS.search(rest)
    if s:
        fields["status"] = s.group("status")
        if s.group("detail") is not None:
            fields["detail"] = s.group("detail")
    return qid, rest, fields


def parse_line(node: str, seq: int, line: str, at: float | None = None) -> LogEvent:
    """One of Postfix's log lines as a LogEvent (as the EventLog of a Postfix node reads it)."""
    return _parse_line(node, seq, line, at, grammar=grammar, mta="postfix")
