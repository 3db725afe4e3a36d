"""`mailharness matrix`: run the columns, write the Markdown file, or compare a fresh run with a committed one.

    mailharness matrix                                   # writes docs/conformance-matrix.md
    mailharness matrix --check docs/conformance-matrix.md   # exit 1, with a diff, when a fresh run differs
    mailharness matrix --mta exim@4.98 --output /tmp/m.md   # some of the columns only

Exit statuses: 0 written (or the same as the committed file), 1 different, or a column gave no verdicts, or a
requirement could not be set up (ERROR: written all the same, with the reason), 2 bad usage, 3 no Docker engine,
4 an image build failed or a configuration cannot be run. A FAIL in the matrix is a verdict it shows, not a failure
of the command.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..errors import UsageError
from .columns import all_columns, configurations, select

DEFAULT_OUTPUT = "docs/conformance-matrix.md"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of `mailharness matrix`."""
    p.add_argument("--output", default=DEFAULT_OUTPUT, metavar="PATH",
                   help=f"where to write the matrix (default {DEFAULT_OUTPUT}, relative to the current folder)")
    p.add_argument("--check", default="", metavar="PATH",
                   help="write nothing: compare a fresh run with the matrix in PATH and exit 1, showing the "
                        "difference, when they differ (CI runs it on docs/conformance-matrix.md)")
    p.add_argument("--mta", action="append", default=[], metavar="KIND[@VERSION]",
                   help="only the columns of this MTA (or release): exim, exim@4.98, postfix@3.7; repeatable")
    p.add_argument("--config", action="append", default=[], metavar="NAME",
                   help="only the columns of this stock configuration "
                        f"({', '.join(c.name for c in configurations())}); repeatable")
    p.add_argument("--jobs", type=int, default=0, metavar="N",
                   help="how many columns run at a time (default: three per usable core: a column waits on its "
                        "servers more than it computes; on two cores all six at once)")
    p.add_argument("--reports", default="reports/matrix", metavar="DIR",
                   help="where each column's check writes its output and HTML report (default reports/matrix)")


def made_with(args: argparse.Namespace) -> str:
    """The command that makes the same matrix (said at the top of the file): the column choices only, so that a
    --check of the same columns compares equal texts."""
    return " ".join(["mailharness matrix", *(f"--mta {m}" for m in args.mta),
                     *(f"--config {c}" for c in args.config)])


def command(args: argparse.Namespace) -> int:
    """Run `mailharness matrix` (see the module's docstring)."""
    from ..bundled import folder
    from .render import compare, render
    from .results import Matrix
    from .run import ColumnFailed, run_columns

    try:
        columns = select(all_columns(), args.mta, args.config)
    except UsageError as exc:
        print(f"mailharness matrix: {exc}", file=sys.stderr)
        return 2
    if args.jobs < 0:
        print("mailharness matrix: --jobs must be 1 or more (0: the default)", file=sys.stderr)
        return 2
    jobs = args.jobs or 3 * cores()
    made = made_with(args)
    try:
        results = run_columns(columns, Path(args.reports), jobs, str(folder("examples")),
                              say=lambda line: print(line, flush=True))
    except ColumnFailed as exc:
        print(f"mailharness matrix: no matrix, a column gave no verdicts:\n{exc}", file=sys.stderr)
        return exc.status
    whole = not (args.mta or args.config)  # the project's file: CI compares it with a fresh run
    text = render(Matrix.of(results), command=made,
                  check_command=f"mailharness matrix --check {DEFAULT_OUTPUT}" if whole else "")
    if args.check:
        diff = compare(text, Path(args.check))
        if diff:
            print(f"mailharness matrix: {args.check} is not what a fresh run gives (run `{made} --output "
                  f"{args.check}` and commit it, if the change is meant):\n{diff}", end="")
            return 1
        print(f"mailharness matrix: {args.check} is what a fresh run gives")
        return 0
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"mailharness matrix: written to {out.resolve()}")
    errors = [f"{name} on {r.column.title}" for r in results for name, c in r.cells.items() if c.verdict == "ERROR"]
    if errors:
        print(f"mailharness matrix: not judged by the harness, it could not set up: {'; '.join(errors)} (ERROR in "
              "the matrix, with the reason)", file=sys.stderr)
        return 1
    return 0


def cores() -> int:
    """The cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
