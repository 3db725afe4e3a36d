"""The matrix as Markdown (docs/conformance-matrix.md), and the comparison of a fresh run with a committed file.

    text = render(matrix, command="mailharness matrix")
    diff = compare(text, Path("docs/conformance-matrix.md"))   # "" when they are the same

The text depends on the verdicts and their scrubbed reasons and evidence only: no time, no path of this machine,
nothing random. Under the table, each FAIL's evidence (F1, F2, ...), then each reason of the other verdicts once
(N/A n1, n2, ...; NOT JUDGED j1, ...), with the requirements and columns it was given for.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path

from ..mta import versions
from .columns import Column, Configuration
from .results import Cell, ColumnResult, Matrix

GENERATED = "<!-- written by `mailharness matrix`: do not edit by hand, run it again -->"
# The verdicts whose reasons are grouped under the table, in this order, with the letter of their notes.
_REASONED = (("N/A", "n", "Not applicable (N/A)"), ("NOT JUDGED", "j", "Not judged"),
             ("ERROR", "e", "Not run (ERROR: the harness could not set the requirement up)"))
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def md(text: str) -> str:
    """`text` as Markdown text that shows as written (no emphasis, links, HTML or table cells made of it)."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def render(matrix: Matrix, command: str, check_command: str = "") -> str:
    """The matrix page. `command` made it (said at the top); `check_command` is how CI compares a fresh run
    with it."""
    out = [GENERATED, "", "# Conformance matrix", ""]
    out += _intro(matrix, command, check_command)
    notes = _Notes(matrix)
    out += _table(matrix, notes)
    out += _failures(matrix, notes)
    out += _reasons(matrix, notes)
    return "\n".join(out).rstrip("\n") + "\n"


def _intro(matrix: Matrix, command: str, check_command: str) -> list[str]:
    cols = [r.column for r in matrix.columns]
    made = (f"Made with `{command}`" + (f"; CI runs `{check_command}`, which fails when a fresh run gives another "
                                       "file, and shows the difference" if check_command else "") + ".")
    out = [
        "The requirements of the conformance suite (what `mailharness check` runs, [conformance](conformance.md)) "
        "on each MTA release the harness runs, each with its stock configuration, in place of library.example in "
        "the default topology; the inbound requirements first, then the outbound ones. " + made + " Each column "
        "is one `mailharness check` of its configuration on its release (its command is listed with the columns, "
        "with the releases every node ran). A configuration is a bundled example, or the package's own files as "
        "the column's release ships them, taken from its image when the matrix runs (the folder DIR). The files "
        "the configurations name outside their folders (/etc/mailname, /etc/aliases, TLS certificates) are not "
        "read from the machine that runs it (MAILHARNESS_HOST_FILES=ignore): the image's own, or made, as on a "
        "host that has none of them.",
        "",
        "Verdicts ([the four outcomes](conformance.md#the-four-outcomes)): PASS; FAIL (its evidence below, F1...); "
        "N/A, the requirement does not apply (why: n1...); NOT JUDGED, it applies and the harness cannot judge it "
        "here (why, and the way out: j1...). What changes from run to run is shown as a placeholder: the "
        "topology's subnet as 10.X.Y., queue ids, dates and times, random tokens.",
        "",
        "The configurations:",
        "",
    ]
    seen: dict[tuple[str, str], Configuration] = {(c.configuration.kind, c.configuration.name): c.configuration
                                                  for c in cols}
    for conf in seen.values():
        out.append(f"- {md(conf.stock.title)} (`{conf.name}`, {conf.source}): {conf.stock.what}.")
    out += ["", "The columns:", ""]
    for r in matrix.columns:
        c = r.column
        out.append(f"- {md(c.title)}: `mailharness {' '.join(c.check_arguments())}`; {_release(c)}"
                   + (f"; the nodes ran {md(r.nodes)}" if r.nodes else ""))
    return [*out, ""]


def _release(column: Column) -> str:
    r = versions.releases(column.configuration.kind)[column.version]
    return f"{versions.label(r.kind, r.version)} as Debian {r.debian} ships it"


class _Notes:
    """The numbering of the notes under the table: each FAIL its own (F1...), each distinct reason of another
    verdict one (n1..., j1...), numbered in the order the table shows them (row by row)."""

    def __init__(self, matrix: Matrix) -> None:
        self.failures: list[tuple[str, ColumnResult, Cell]] = []
        self.reasons: dict[tuple[str, str], str] = {}  # (verdict, reason) -> its label
        self.where: dict[tuple[str, str], dict[str, list[str]]] = {}  # ... -> requirement -> column titles
        counts: dict[str, int] = {}
        letters = {v: letter for v, letter, _ in _REASONED}
        for req in matrix.requirements:
            for col in matrix.columns:
                cell = col.cells.get(req.name)
                if cell is None:
                    continue
                if cell.verdict == "FAIL":
                    self.failures.append((req.name, col, cell))
                elif cell.reason:
                    key = (cell.verdict, cell.reason)
                    if key not in self.reasons:
                        letter = letters.get(cell.verdict, "x")
                        counts[letter] = counts.get(letter, 0) + 1
                        self.reasons[key] = f"{letter}{counts[letter]}"
                    self.where.setdefault(key, {}).setdefault(req.name, []).append(col.column.title)

    def label(self, requirement: str, column: ColumnResult, cell: Cell) -> str:
        if cell.verdict == "FAIL":
            i = next(i for i, (r, c, _) in enumerate(self.failures) if r == requirement and c is column)
            return f"FAIL F{i + 1}"
        if cell.reason:
            return f"{cell.verdict} {self.reasons[(cell.verdict, cell.reason)]}"
        return cell.verdict


def _table(matrix: Matrix, notes: _Notes) -> list[str]:
    head = ["requirement", "RFC", *(md(c.column.title) for c in matrix.columns)]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for req in matrix.requirements:
        cells = []
        for col in matrix.columns:
            cell = col.cells.get(req.name)
            cells.append(notes.label(req.name, col, cell) if cell is not None else "(not run)")
        out.append(f"| `{req.name}` | {md(req.ref)} | " + " | ".join(cells) + " |")
    return [*out, ""]


def _failures(matrix: Matrix, notes: _Notes) -> list[str]:
    if not notes.failures:
        return ["## Failures", "", "None: no requirement FAILs on any column.", ""]
    docs = {r.name: r for r in matrix.requirements}
    out = ["## Failures", ""]
    for i, (name, col, cell) in enumerate(notes.failures, 1):
        req = docs[name]
        out += [f"### F{i}: `{name}` on {md(col.column.title)}", "", f"Expected ({md(req.ref)}): {md(req.doc)}", ""]
        if cell.evidence is not None:
            out += ["What happened:", "", *_fenced(cell.evidence.happened)]
            if cell.evidence.excerpt:
                out += [f"The {cell.evidence.excerpt_of} (an excerpt):", "", *_fenced(cell.evidence.excerpt)]
    return out


def _reasons(matrix: Matrix, notes: _Notes) -> list[str]:
    out: list[str] = []
    everywhere = {c.column.title for c in matrix.columns}
    for verdict, _, heading in _REASONED:
        keys = [k for k in notes.reasons if k[0] == verdict]
        if not keys:
            continue
        out += [f"## {heading}", ""]
        for key in keys:
            first, _, rest = key[1].partition("\n")
            out += [f"**{notes.reasons[key]}**: {md(first)}", ""]
            if rest.strip():
                out += _fenced(rest)
            by_columns: dict[tuple[str, ...], list[str]] = {}
            for req, seen in notes.where[key].items():
                by_columns.setdefault(tuple(seen), []).append(req)
            for cols, reqs in by_columns.items():
                where = "every column" if set(cols) == everywhere and len(everywhere) > 1 else \
                    "; ".join(md(t) for t in cols)
                out.append(f"- {', '.join(f'`{r}`' for r in reqs)}: {where}")
            out.append("")
    return out


def _fenced(text: str) -> list[str]:
    fence = "````" if "```" in text else "```"
    return [f"{fence}text", text, fence, ""]


def compare(fresh: str, committed: Path) -> str:
    """A unified diff from the committed file to the fresh run's text; "" when they are the same."""
    try:
        old = committed.read_text(encoding="utf-8")
    except OSError as exc:
        return f"cannot read {committed}: {exc}\n"
    if old == fresh:
        return ""
    return "".join(difflib.unified_diff(old.splitlines(keepends=True), fresh.splitlines(keepends=True),
                                        fromfile=f"{committed} (committed)", tofile=f"{committed} (this run)"))

