"""`mailharness explore`: search for broken guarantees within a budget, write a regression test per violation.

Exit status: 0 when no violation was found within the budget, 1 when one was, 2 on bad usage, 3 when a worker
failed and nothing was found, 4 when the configuration cannot be read (as for `mailharness check`), 5 when it
receives no mail from outside (an outbound-only server: not applicable). Progress lines on stderr while it runs;
the summary table on stdout at the end.
"""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
import queue
import shlex
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from ..bundled import NotBundled
from ..engine.base import BuildError
from ..engine.docker import EngineUnavailable
from ..errors import UsageError
from ..mta.facts import ConfigError, ProbeError
from ..sut.options import UserConfig, describe, from_args
from .explorer import Config, Discovery, Stats, guarantees_table, search
from .scenario import Variant
from .writer import write, write_report

NOT_APPLICABLE = 5  # the configuration receives no mail from outside: nothing for the scenarios to send it


def _variants(args: argparse.Namespace, user: UserConfig | None) -> tuple[Variant, ...]:
    if user is not None:
        return ("config",)
    chosen = [v.strip() for v in (args.variants or "default,mock").split(",") if v.strip()]
    bad = [v for v in chosen if v not in ("default", "mock")]
    if bad or not chosen:
        raise UsageError(f"--variants: unknown {bad or chosen} (choose from default, mock)")
    return tuple(chosen)  # type: ignore[arg-type]


def config_from(args: argparse.Namespace) -> Config:
    """The search the command line asks for; UsageError for options that do not go together (NotBundled for an
    example that does not exist). The configuration's options mean what they mean for `mailharness check`."""
    node, _, directory = args.mta_config.rpartition("=")
    user = from_args(args, directory, node, named_by="--mta-config [NODE=]DIR")
    if user is not None and not (Path(user.directory) / "main.cf").is_file():
        raise UsageError(f"--mta-config {args.mta_config}: no main.cf in {user.directory}")
    if args.budget <= 0 or args.workers < 1 or args.stop_after < 0:
        raise UsageError("--budget must be positive, --workers at least 1, --stop-after at least 0")
    mta_config = f"{user.node}={user.directory}" if user is not None else ""
    return Config(_variants(args, user), args.budget, args.seed, args.database, mta_config,
                  stop_after=args.stop_after, mta_recipient=user.recipient if user else "",
                  mta_domains=user.domains if user else (), mta_tables=user.tables if user else (),
                  mta=tuple(args.mta))


def _line(stats: Stats) -> str:
    rate = stats.tried / stats.seconds if stats.seconds else 0.0
    seen = ", ".join(f"{k} {n}" for k, n in sorted(stats.outcomes.items())) or "-"
    return (f"explore: {stats.tried} scenarios ({rate:.2f}/s), outcomes: {seen}; fault kinds covered "
            f"{len(stats.fault_kinds)}: {', '.join(sorted(stats.fault_kinds)) or '-'}; "
            f"violations: {sum(stats.violations.values())}")


def _worker(config: Config, out: Any, index: int) -> None:
    """One search in a process of its own; reports progress (its running totals), findings and the end through
    the queue, each with the worker's index."""
    def progress(s: Stats) -> None:
        out.put(("progress", index, s))

    def found(f: Discovery) -> None:
        out.put(("finding", index, f))

    try:
        _, stats = search(config, progress, found)
        out.put(("done", index, stats))
    except BaseException as exc:  # noqa: BLE001 - any failure of a worker is reported to the parent, with its kind
        out.put(("error", index, f"{type(exc).__name__}: {exc}"))


def explore(config: Config, workers: int = 1, every: float = 5.0) -> tuple[list[Discovery], Stats, list[str]]:
    """Run `workers` searches (seeds seed, seed+1, ...) and merge them: one finding per kind of violation, the
    smallest; progress printed to stderr every `every` seconds."""
    findings: list[Discovery] = []
    errors: list[str] = []
    last = [0.0]
    per: dict[int, Stats] = {}

    def show(force: bool = False) -> None:
        if force or time.monotonic() - last[0] >= every:
            total = Stats()
            for s in per.values():
                total.merge(s)
            print(_line(total), file=sys.stderr, flush=True)
            last[0] = time.monotonic()

    def finding(f: Discovery) -> None:
        state = "reproduced 2/2" if f.reproduced == 2 else f"did not reproduce ({f.reproduced}/2): not a finding"
        print(f"explore: {f.violation.guarantee}: {f.violation.what} [{state}; after {f.found_after:.1f}s]",
              file=sys.stderr, flush=True)
        findings.append(f)

    if workers <= 1:
        def progress(s: Stats) -> None:
            per[0] = s
            show()

        try:
            _, stats = search(config, progress, finding)
            per[0] = stats
        except (EngineUnavailable, BuildError):
            raise  # the command line says these in its own words
        except Exception as exc:  # noqa: BLE001 - a failure of the harness is not a finding: exit 3, not 1
            traceback.print_exc(file=sys.stderr)
            errors.append(f"worker 0: {type(exc).__name__}: {exc}")
    else:
        ctx = multiprocessing.get_context("spawn")
        q = ctx.Queue()
        procs = [ctx.Process(target=_worker, args=(Config(**{**config.__dict__, "seed": config.seed + i}), q, i),
                             daemon=False) for i in range(workers)]
        for p in procs:
            p.start()
        running = len(procs)
        ended: set[int] = set()
        last_shown = time.monotonic()
        while running:
            try:
                kind, index, payload = q.get(timeout=2.0)
            except queue.Empty:
                for i, p in enumerate(procs):  # a worker killed (or crashed hard) says nothing: do not wait for it
                    if i not in ended and not p.is_alive() and p.exitcode not in (None, 0):
                        ended.add(i)
                        running -= 1
                        errors.append(f"worker {i}: ended without a report (exit code {p.exitcode})")
                if time.monotonic() - last_shown >= every:
                    show(force=True)
                    last_shown = time.monotonic()
                continue
            if kind == "progress":
                per[index] = payload  # each worker's running totals
                show()
            elif kind == "finding":
                finding(payload)
            else:
                running -= 1
                ended.add(index)
                if kind == "error":
                    errors.append(f"worker {index}: {payload}")
                else:
                    per[index] = payload
        for p in procs:
            p.join()
    show(force=True)
    total = Stats()
    for s in per.values():
        total.merge(s)
    return _distinct(findings), total, errors


def _absolute(user: UserConfig) -> UserConfig:
    """The configuration with its directory absolute (a written test is run from anywhere; --mta-table's files
    relative to it are found there)."""
    return dataclasses.replace(user, directory=str(Path(user.directory).resolve()))


def _distinct(findings: list[Discovery]) -> list[Discovery]:
    """One per kind of violation: reproduced before not, then the smallest scenario."""
    best: dict[tuple[str, str], Discovery] = {}
    for f in findings:
        k = f.violation.signature
        old = best.get(k)
        if old is None or (-f.reproduced, f.scenario.size_key()) < (-old.reproduced, old.scenario.size_key()):
            best[k] = f
    return list(best.values())


def command(args: argparse.Namespace) -> int:
    try:
        config = config_from(args)
    except UsageError as exc:
        print(f"mailharness explore: {exc}", file=sys.stderr)
        return 2
    except NotBundled as exc:
        print(f"mailharness explore: {exc}", file=sys.stderr)
        return 4
    user = config.user()
    if user is not None:  # what check says of it, before the budget starts (and the search's own question)
        try:
            info = user.inspect()
        except (ConfigError, ProbeError) as exc:
            print(f"mailharness explore: {exc}", file=sys.stderr)
            return 4
        for line in describe(user, info):
            print(f"explore: {line}" if not line.startswith(" ") else line, file=sys.stderr, flush=True)
        if info.inbound_na:  # every scenario sends it mail from outside: none would be judged on what it does
            print(f"mailharness explore: not applicable: {info.inbound_na}: it receives no mail from outside, and "
                  "every scenario sends it some", file=sys.stderr)
            return NOT_APPLICABLE
    findings, stats, errors = explore(config, args.workers)
    print("\n".join(guarantees_table(findings, stats)))
    for e in errors:
        print(f"mailharness explore: a worker failed: {e}", file=sys.stderr)
    real = [f for f in findings if f.reproduced == 2]
    written = write(real, args.out, args.seed)
    for p in written:
        print(f"wrote {p}")
    if written and user is not None:
        opts = [*_absolute(user).pytest_options(), *(f"--mailharness-mta={v}" for v in args.mta)]
        print(f"run them with: pytest {' '.join(map(shlex.quote, opts))} {shlex.quote(str(args.out))}")
    report = write_report(real, args.out)
    if report is not None:
        print(f"wrote {report} (the path of each smallest case)")
    for f in findings:
        if f.reproduced != 2:
            print(f"not reproduced (not a finding): {f.violation.guarantee}: {f.scenario.describe(f.targets)}")
    if errors and not real:
        return 3
    return 1 if real else 0
