"""Each column of the matrix as a `mailharness check` of its own (a process each: a pytest session has one
configuration), several at a time, each saying when it ends.

    results = run_columns(columns, reports=Path("reports/matrix"), jobs=3)   # ColumnFailed if one could not run

A column's check runs serially (one topology) with the plugin harness.matrix.collect; its output and HTML report
stay in `reports` (KEY.txt, KEY.html), and so does the folder a stock configuration's recipe made from the column's
image (KEY.config: harness.matrix.stock). What the configurations name outside their folders is not read from this
machine (MAILHARNESS_HOST_FILES=ignore), so that the matrix is the same wherever it runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from ..engine import images
from ..engine.base import BuildError
from ..engine.docker import EngineUnavailable
from ..errors import MailharnessError
from ..mta import versions
from . import collect
from .columns import Column
from .results import ColumnResult, column_result
from .stock import StockError, materialize

# `mailharness check`'s exit statuses that carry verdicts: 0 (nothing failed) and 1 (a requirement failed).
_JUDGED = (0, 1)
COLUMN_TIMEOUT = 900.0  # seconds one column's check may take, at the most


class ColumnFailed(MailharnessError):
    """A column's check gave no verdicts (it could not run, or ran something else than the column names).
    `status`: the check's own exit status where it says why (3: no Docker engine, 4: an image build failed or the
    configuration cannot be run), else 1."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Ran:
    """How one column's check went: its result, its exit status and where its output is."""

    result: ColumnResult
    status: int
    seconds: float
    output: Path


def check_command(column: Column, reports: Path) -> list[str]:
    """The command line that runs `column`: check, serially, with the matrix's plugin and its own HTML report (a
    recipe's folder: `config_folder`)."""
    return [sys.executable, "-m", "harness.cli", *column.check_arguments(str(config_folder(column, reports))),
            "--html", str(reports / f"{column.key}.html"), "-n0", "-pharness.matrix.collect",
            f"--mailharness-matrix={reports / column.key}"]


def config_folder(column: Column, reports: Path) -> Path:
    """Where the folder of a column whose configuration is a recipe is made (KEY.config in `reports`)."""
    return (reports / f"{column.key}.config").resolve()


def prepare(column: Column, reports: Path) -> str:
    """Make the folder of a column whose configuration is a recipe, from the image of the column's release (built
    when missing); "" for a bundled example. ColumnFailed (status 4, 3 without a Docker engine) when it cannot."""
    conf = column.configuration
    if not conf.stock.recipe:
        return ""
    folder = config_folder(column, reports)
    try:
        image = images.ensure((conf.kind,), versions={conf.kind: [column.version]})[images.key(conf.kind,
                                                                                               column.version)]
        materialize(conf.stock, conf.kind, image, folder)
    except EngineUnavailable as exc:
        raise ColumnFailed(f"{column.title}: {exc}", 3) from None
    except (BuildError, StockError) as exc:
        raise ColumnFailed(f"{column.title}: cannot make its configuration's folder: {exc}", 4) from None
    return str(folder)


def run_column(column: Column, reports: Path, examples: str, timeout: float = COLUMN_TIMEOUT) -> Ran:
    """Make the column's folder (a recipe's), run its check and read its verdicts; ColumnFailed, with the end of
    its output, when it gives none, or when its server ran another release than the column names."""
    reports.mkdir(parents=True, exist_ok=True)
    for old in reports.glob(f"{column.key}.*.jsonl"):
        old.unlink()
    folder = prepare(column, reports)
    output = reports / f"{column.key}.txt"
    env = {**os.environ, "MAILHARNESS_HOST_FILES": "ignore"}
    t0 = time.monotonic()
    with open(output, "w", encoding="utf-8") as fh:
        try:
            status = subprocess.run(check_command(column, reports), stdout=fh, stderr=subprocess.STDOUT, env=env,
                                    timeout=timeout, check=False).returncode
        except subprocess.TimeoutExpired:
            raise ColumnFailed(f"{column.title}: `mailharness check` did not end within {timeout:.0f} s; its "
                               f"output so far: {output}\n{_tail(output)}") from None
    seconds = time.monotonic() - t0
    records = collect.read(reports / column.key)
    if status not in _JUDGED or not records:
        raise ColumnFailed(f"{column.title}: `mailharness check` exited {status} with "
                           f"{len(records)} verdict(s), expected 0 or 1 with a verdict per requirement; its output "
                           f"({output}) ends:\n{_tail(output)}", status if status in (3, 4) else 1)
    result = column_result(column, records, examples, folder)
    expected = versions.label(column.configuration.kind, column.version)
    if result.release != expected:
        raise ColumnFailed(f"{column.title}: expected the server under test to run {expected}; it ran "
                           f"{result.release or 'nothing the records say'} (nodes: {result.nodes or '?'})")
    return Ran(result, status, seconds, output)


def run_columns(columns: Sequence[Column], reports: Path, jobs: int, examples: str,
                say: Callable[[str], None] = print) -> list[ColumnResult]:
    """Every column, `jobs` at a time, in the columns' order; `say` hears a line as each one starts and ends.
    ColumnFailed (after the others have ended) names every column that gave no verdicts."""
    done: dict[Column, Ran] = {}
    failed: list[ColumnFailed] = []
    lock = threading.Lock()

    def tell(line: str) -> None:  # one whole line at a time, whichever column's thread says it
        with lock:
            say(line)

    tell(f"matrix: {len(columns)} column(s), {min(jobs, len(columns))} at a time; each check's output in {reports}")
    with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="mailharness-matrix") as pool:
        futures = {pool.submit(_started, c, reports, examples, tell): c for c in columns}
        for future in as_completed(futures):
            column = futures[future]
            try:
                ran = future.result()
            except ColumnFailed as exc:
                failed.append(exc)
                tell(f"matrix: [{len(done) + len(failed)}/{len(columns)}] {column.title}: NO VERDICTS ({exc})")
                continue
            done[column] = ran
            tell(f"matrix: [{len(done) + len(failed)}/{len(columns)}] {column.title}: {counts(ran.result)} "
                 f"({ran.seconds:.0f} s)")
    if failed:
        raise ColumnFailed("\n".join(map(str, failed)), max(f.status for f in failed))
    return [done[c].result for c in columns]


def _started(column: Column, reports: Path, examples: str, say: Callable[[str], None]) -> Ran:
    arguments = column.check_arguments(str(config_folder(column, reports)))
    say(f"matrix: {column.title}: mailharness {' '.join(arguments)}")
    return run_column(column, reports, examples)


def counts(result: ColumnResult) -> str:
    """"7 PASS, 1 FAIL, 8 N/A, 2 NOT JUDGED": the verdicts of a column, in that order (others after)."""
    n: dict[str, int] = {}
    for cell in result.cells.values():
        n[cell.verdict] = n.get(cell.verdict, 0) + 1
    order = ["PASS", "FAIL", "N/A", "NOT JUDGED", *sorted(set(n) - {"PASS", "FAIL", "N/A", "NOT JUDGED"})]
    return ", ".join(f"{n[v]} {v}" for v in order if v in n)


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"(cannot read it: {exc})"
