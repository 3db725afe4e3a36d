"""The verdicts of every column as one matrix: a row per requirement (the inbound ones first, then the outbound
ones, each in the order the suite lists them; a requirement added to suites/conformance/ is a row more), a cell
per column, each N/A and NOT JUDGED reason and
each FAIL's evidence scrubbed of what changes from run to run (harness.matrix.scrub).

    result = column_result(column, records, examples="/path/to/examples")   # records: harness.matrix.collect.read
    matrix = Matrix.of([result, ...])
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .columns import Column
from .scrub import scrub

_HAPPENED_LINES = 15  # of the failure message: its first paragraph, at most these lines
_EXCERPT_LINES = 50  # of a transcript
_LOG_LINES = 15  # of the server's mail log, where the failure shows no transcript
_LINE = 220  # characters a line of evidence keeps
OUTBOUND = "outbound_"  # how the suite names the requirements of a server that sends (suites/conformance/)
_TRANSCRIPT = re.compile(r"^\s*(?:[SC]: |\()")  # a transcript's lines: S: and C:, and its notes in parentheses


@dataclass(frozen=True)
class Requirement:
    """A row: a requirement of the conformance suite."""

    name: str  # the test's name without test_: "rejects_unknown_recipients_at_rcpt"
    ref: str  # its RFC reference (@requirement's ref)
    doc: str  # what it checks (the test's docstring, on one line)


@dataclass(frozen=True)
class Evidence:
    """Why a requirement FAILed: what happened (the failure's first lines), and an excerpt of the SMTP transcript
    (or, where the failure shows none, of the server's mail log)."""

    happened: str
    excerpt: str = ""
    excerpt_of: str = ""  # "transcript" or "mail log"


@dataclass(frozen=True)
class Cell:
    """One requirement in one column: PASS, FAIL, N/A, NOT JUDGED (or ERROR: the harness could not set it up),
    the reason (N/A, NOT JUDGED, ERROR) and, for FAIL, the evidence."""

    verdict: str
    reason: str = ""
    evidence: Evidence | None = None


@dataclass(frozen=True)
class ColumnResult:
    """What one column's check gave: a cell per requirement, by name, and the release its server ran."""

    column: Column
    cells: dict[str, Cell]
    requirements: tuple[Requirement, ...]  # in the suite's order
    release: str = ""  # what the server under test ran, as its node said it ("Postfix 3.7")
    nodes: str = ""  # what every node ran (MailTopology.releases: "store, edu: Postfix 3.10; library: Exim 4.98")


@dataclass(frozen=True)
class Matrix:
    """Every column's result, and the rows: every requirement any column ran, the inbound ones first (a reader
    looks for rejections and bounces first), then the outbound ones (named outbound_...), each in the suite's
    order."""

    columns: tuple[ColumnResult, ...]
    requirements: tuple[Requirement, ...] = field(default=())

    @staticmethod
    def of(results: Sequence[ColumnResult]) -> Matrix:
        rows: dict[str, Requirement] = {}
        for r in results:
            for req in r.requirements:
                rows.setdefault(req.name, req)
        ordered = sorted(rows.values(), key=lambda req: req.name.startswith(OUTBOUND))  # stable: the suite's order
        return Matrix(tuple(results), tuple(ordered))


def column_result(column: Column, records: Sequence[dict[str, Any]], examples: str = "",
                  folder: str = "") -> ColumnResult:
    """A column's records (harness.matrix.collect) as cells, scrubbed (`examples`: where the bundled examples are
    on this machine, shown as examples/; `folder`: the one its configuration's recipe made, shown as DIR)."""
    cells: dict[str, Cell] = {}
    reqs: list[Requirement] = []
    release = nodes = ""
    for rec in records:
        subnets = [str(s) for s in rec.get("subnets", [])]
        qids = [str(q) for q in rec.get("queue_ids", [])]
        name = str(rec["name"])
        reqs.append(Requirement(name, str(rec.get("ref", "")), str(rec.get("doc", ""))))
        release = release or str(rec.get("release", ""))
        nodes = nodes or str(rec.get("nodes", ""))
        verdict = str(rec["verdict"])
        evidence = None
        if verdict in ("FAIL", "ERROR"):
            evidence = failure_evidence(rec, subnets, examples, qids, folder)
        reason = scrub(str(rec.get("reason", "")), subnets, examples, qids, folder).strip()
        if verdict == "ERROR" and evidence is not None:  # the harness's own failure: its first line is the reason
            reason, evidence = evidence.happened.splitlines()[0] if evidence.happened else "no message", None
        cells[name] = Cell(verdict, reason, evidence)
    return ColumnResult(column, cells, tuple(reqs), release, nodes)


def failure_evidence(rec: dict[str, Any], subnets: Sequence[str], examples: str,
                     queue_ids: Sequence[str] = (), folder: str = "") -> Evidence:
    """What happened (the failure message's first paragraph, without "AssertionError: "), and the first
    transcript the message shows; else the last transcript of the test; else the tail of the server's log."""
    lines = str(rec.get("message", "")).splitlines()
    first = re.sub(r"^(?:[\w.]+\.)?(\w+(?:Error|Exception)): ", lambda m: "" if m.group(1) == "AssertionError"
                   else m.group(1) + ": ", lines[0]) if lines else ""
    happened = [first]
    for line in lines[1:]:
        if not line.strip() or len(happened) >= _HAPPENED_LINES:
            break
        happened.append(line)
    excerpt, of = transcript_excerpt(lines[len(happened):]), "transcript"
    if not excerpt:
        blocks = [b for b in str(rec.get("transcripts", "")).split("\n\n") if b.strip()]
        excerpt = transcript_excerpt(blocks[-1].splitlines()) if blocks else ""
    if not excerpt:
        excerpt, of = "\n".join(str(rec.get("log", "")).splitlines()[-_LOG_LINES:]), "mail log"

    def tidy(text: str) -> str:
        return "\n".join(_cut(ln.rstrip()) for ln in scrub(text, subnets, examples, queue_ids, folder).splitlines())

    return Evidence(tidy(textwrap.dedent("\n".join(happened))).strip("\n"), tidy(excerpt).strip("\n"),
                    of if excerpt else "")


def transcript_excerpt(lines: Sequence[str]) -> str:
    """The first run of transcript lines (S:, C: and the notes in parentheses) among `lines`, with the line that
    names it when there is one, at most _EXCERPT_LINES, dedented."""
    start = next((i for i, ln in enumerate(lines) if re.match(r"^\s*[SC]: ", ln)), None)
    if start is None:
        return ""
    while start > 0 and _TRANSCRIPT.match(lines[start - 1]):
        start -= 1
    if start > 0 and lines[start - 1].strip():
        start -= 1  # the line that says which exchange it is ("lf-dot-lf (<LF>.<LF>): ...")
    end = start + 1
    while end < len(lines) and _TRANSCRIPT.match(lines[end]):
        end += 1
    taken = list(lines[start:end])
    if len(taken) > _EXCERPT_LINES:
        taken = taken[:_EXCERPT_LINES] + [f"... ({len(taken) - _EXCERPT_LINES} more lines)"]
    return textwrap.dedent("\n".join(taken))


def _cut(line: str) -> str:
    return line if len(line) <= _LINE else line[:_LINE - 3] + "..."
