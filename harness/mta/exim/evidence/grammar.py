"""The grammar of Exim's log lines as an Exim node's log carries them.

An Exim node writes its three logs to the container's output, each line after the name of the log it comes from
(containers/exim: "exim-main: ", "exim-reject: ", "exim-panic: "), so the syslog-like prefix gives the program.
What follows is Exim's own line (its specification, chapter "Log files"), with the node's log_selector:

    2026-12-07 04:30:00.123 [812] 1vXyZ1-00000000Ab-0Ab1 <= jack@store.example H=(mx.store.example) [10.1.2.3]
        P=esmtp S=512 id=abc@store.example T="hello" for jill@library.example

- a time stamp (with milliseconds when +millisec is logged; a zone when log_timezone is set);
- the pid in brackets (+pid);
- the message id, when the line is about a message: six base-62 characters, a dash, six (4.96) or eleven (4.97 and
  later) base-62 characters, a dash, two or four base-62 characters;
- a two-character flag for arrivals (<=), deliveries (=> -> >> *>), failures (**) and deferrals (==), then the
  address the line is about;
- then fields NAME=value, whose value is a bare word, an address in angle brackets, an IP in brackets, or a
  quoted string ("..." with backslash escapes), NAME one or a few letters ("H", "P", "S", "R", "T", "C", "QT",
  "DT", "F", "id", "for" has its own form: the recipients after it, to the end of the line).
"""

from __future__ import annotations

import re

from ....evidence.events import LogEvent
from ....evidence.events import parse_line as _parse_line

_STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d{3})?(?: [-+]\d{4})? (?:\[(?P<pid>\d+)\] )?")
MSGID = r"[0-9A-Za-z]{6}-[0-9A-Za-z]{6,11}-[0-9A-Za-z]{2,4}"
_ID = re.compile(rf"^(?P<id>{MSGID})(?: |$)")
_FLAG = re.compile(r"^(?P<flag><=|=>|->|>>|\*\*|==|\*>) (?P<addr>\S+)(?: (?P<rest>.*))?$")
# NAME=value: "quoted \" string", <address>, [ip]:port, or a bare word; at the start or after a space.
_FIELD = re.compile(r'(?:^| )(?P<k>[A-Za-z]{1,3}|id\*?|for)=(?P<v>"(?:[^"\\]|\\.)*"|<[^>]*>|\[[^\]]*\](?::\d+)?|\S+)')
_FOR = re.compile(r"(?:^| )for (?P<rcpts>[^=]+?)$")


def unquote(value: str) -> str:
    """A field's value without its quotes (and backslash escapes) or angle brackets."""
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    if value.startswith("<") and value.endswith(">"):
        return value[1:-1]
    return value


def grammar(rest: str) -> tuple[str | None, str, dict[str, str]]:
    """The message id (None when the line is about none), the text after it, and its fields: `flag` and `address`
    for a flagged line (`address` as logged: "jill@library.example" or "jill <jill@library.example>"), `pid`, the
    line's NAME=value fields with their values unquoted, and `for` (the recipients of an arrival, space-separated)."""
    fields: dict[str, str] = {}
    s = _STAMP.match(rest)
    if s:
        if s.group("pid"):
            fields["pid"] = s.group("pid")
        rest = rest[s.end():]
    qid = None
    m = _ID.match(rest)
    if m:
        qid, rest = m.group("id"), rest[m.end():]
    f = _FLAG.match(rest)
    body = rest
    if f:
        fields["flag"], fields["address"] = f.group("flag"), f.group("addr")
        body = f.group("rest") or ""
        # "=> jill <jill@library.example> R=..." : a local part, then the address it came as
        p = re.match(r"^(?P<orig><[^>]*>)(?: |$)", body)
        if p:
            fields["parent"] = p.group("orig")[1:-1]
            body = body[p.end():]
    for fm in _FIELD.finditer(body):
        fields.setdefault(fm.group("k"), unquote(fm.group("v")))
    r = _FOR.search(body)
    if r and f and f.group("flag") == "<=":
        fields["for"] = r.group("rcpts").strip()
    return qid, rest, fields


def parse_line(node: str, seq: int, line: str, at: float | None = None) -> LogEvent:
    """One of an Exim node's log lines as a LogEvent (as the EventLog of an Exim node reads it)."""
    return _parse_line(node, seq, line, at, grammar=grammar, mta="exim")
