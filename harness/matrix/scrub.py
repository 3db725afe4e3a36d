"""What differs from one run of the same check to the next, taken out of the text the matrix shows, so that a fresh
run reproduces the committed file byte for byte: the topology's subnet (random per run), queue ids, times and
dates, process ids, client ports, the harness's random tokens (message ids, topology and container ids), temporary
paths, where the bundled examples are on this machine, and the folder a stock configuration's recipe made (DIR).
Each rule says what it stands for in its place.

    scrub(text, subnets=["10.75.127.0/24"], examples="/work/repo/examples", queue_ids=["C88AB2ED3DD"])

The queue ids the nodes logged are replaced as they are (a Postfix queue id may be all digits, which no pattern
tells from a number); RULES catch the others by their shape.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# (pattern, replacement): applied in order, after the subnets and the examples' folder.
RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # dates: RFC 5322 (Date: headers), ISO 8601 (logs), syslog's
    (re.compile(r"\b(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?\d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
                r" \d{4} \d\d:\d\d:\d\d(?: [+-]\d{4})?"), "<date>"),
    (re.compile(r"\b\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?"), "<time>"),
    (re.compile(r"\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d \d\d:\d\d:\d\d\b"), "<time>"),
    (re.compile(r"\b\d\d:\d\d:\d\d(?:\.\d+)?\b"), "<time>"),
    # Exim's message ids (4.97 and later: 6-11-4 characters; before: 6-6-2)
    (re.compile(r"\b(?=[0-9A-Za-z]{0,5}\d)[0-9A-Za-z]{6}-(?:[0-9A-Za-z]{6}-[0-9A-Za-z]{2}|[0-9A-Za-z]{11}-"
                r"[0-9A-Za-z]{4})\b"), "<queue id>"),
    # Postfix's short queue ids (hexadecimal, upper case, with a digit and a letter)
    (re.compile(r"\b(?=[0-9A-F]*[A-F])(?=[0-9A-F]*[0-9])[0-9A-F]{8,12}\b"), "<queue id>"),
    # Message-IDs as the stdlib makes them (email.utils.make_msgid: time, process id, random number)
    (re.compile(r"(?<=<)\d+\.\d+\.\d+(?=@)"), "<message id>"),
    # the harness's random tokens (uuid4's hexadecimal, whatever its digits): a probe's token before its "-N"
    (re.compile(r"\b[0-9a-f]{8,12}(?=-\d+\b)"), "<token>"),
    # ... and the others, topology and container ids (hexadecimal, lower case, with a digit and a letter)
    (re.compile(r"\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{8,64}\b"), "<token>"),
    (re.compile(r"\b\d{9,}\b"), "<n>"),  # epoch seconds, counters of a run
    (re.compile(r"\[\d+\]:"), "[<pid>]:"),  # a program's process id in a log line: smtpd[1234]:
    (re.compile(r"(\b[\dXY]+\.[\dXY]+\.[\dXY]+\.\d+\]?:)(?:[1-9]\d{3,4})\b"), r"\1<port>"),  # a client's port
    (re.compile(r"\b\d+\.\d+ ?s\b"), "<n>s"),  # a duration measured (0.61s; a setting is a whole number: 2s)
    (re.compile(r"/tmp/[^\s'\")\]]+"), "<tmp>"),
    # whether a smuggled message had reached a mailbox when the probe looked is a race (harness.smuggling)
    (re.compile(r"; (?:in no mailbox yet|delivered to [^)]*)\)"), ")"),
)


def scrub(text: str, subnets: Iterable[str] = (), examples: str = "", queue_ids: Iterable[str] = (),
          folder: str = "") -> str:
    """`text` without what changes from run to run: each subnet's prefix becomes 10.X.Y. (the nodes' own host
    numbers stay: they are the harness's, the same in every run), `examples` (the bundled examples' folder)
    becomes examples, `folder` (the one a stock configuration's recipe made) DIR, each of `queue_ids` <queue id>,
    then RULES."""
    for subnet in subnets:
        prefix = subnet.split("/")[0].rsplit(".", 1)[0] + "."
        if prefix.count(".") == 3:
            text = re.sub(re.escape(prefix) + r"(?=\d)", "10.X.Y.", text)
    if folder:
        text = text.replace(folder.rstrip("/"), "DIR")
    if examples:
        text = text.replace(examples.rstrip("/"), "examples")
    for qid in sorted({q for q in queue_ids if q}, key=len, reverse=True):
        text = re.sub(r"(?<![\w-])" + re.escape(qid) + r"(?![\w-])", "<queue id>", text)
    for pattern, replacement in RULES:
        text = pattern.sub(replacement, text)
    return text
