"""How fast dsn-lint reads bounces, and what it says about the corpus. Prints `name: value` lines.

    python benchmarks/dsn_lint_throughput.py [--rounds N] [--corpus DIR]

The corpus is MAILHARNESS_CORPUS or <project root>/../shared/corpus. In-process: every file is linted (parsed and
validated, strict profile) N times from memory. CLI: one `python -m harness.dsn.lint --json` subprocess over every
file, start-up included. Then the verdict counts per profile.
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.dsn import NotADSN, parse_dsn, validate, verdict  # noqa: E402
from harness.dsn.lint import lint_bytes  # noqa: E402


def corpus_dir(arg: str | None) -> Path:
    path = Path(arg or os.environ.get("MAILHARNESS_CORPUS") or ROOT.parent / "shared" / "corpus")
    if not path.is_dir():
        sys.exit(f"corpus not found at {path} (set MAILHARNESS_CORPUS or pass --corpus)")
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--corpus")
    args = parser.parse_args()
    files = sorted(corpus_dir(args.corpus).glob("*/*.eml"))
    blobs = [(str(f), f.read_bytes()) for f in files]
    size = sum(len(b) for _, b in blobs)
    print(f"dsn_lint_corpus_files: {len(blobs)}")
    print(f"dsn_lint_corpus_bytes: {size}")

    start = time.perf_counter()
    for _ in range(args.rounds):
        for name, raw in blobs:
            parse_dsn(raw, source=name)
    parse_s = time.perf_counter() - start
    print(f"dsn_parse_messages_per_second: {len(blobs) * args.rounds / parse_s:.0f}")

    start = time.perf_counter()
    for _ in range(args.rounds):
        for name, raw in blobs:
            lint_bytes(raw, name, "strict")
    lint_s = time.perf_counter() - start
    print(f"dsn_lint_rounds: {args.rounds}")
    print(f"dsn_lint_messages_per_second: {len(blobs) * args.rounds / lint_s:.0f}")
    print(f"dsn_lint_mib_per_second: {size * args.rounds / lint_s / 2**20:.2f}")

    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "harness.dsn.lint", "--json", *[n for n, _ in blobs]],
        capture_output=True,
        env=env,
        cwd=ROOT,
        check=False,
    )
    cli_s = time.perf_counter() - start
    print(f"dsn_lint_cli_seconds: {cli_s:.3f}")
    print(f"dsn_lint_cli_messages_per_second: {len(blobs) / cli_s:.0f}")
    print(f"dsn_lint_cli_exit_status: {proc.returncode}")
    print(f"dsn_lint_cli_output_lines: {len(proc.stdout.splitlines())}")

    parsed = [parse_dsn(raw, source=name) for name, raw in blobs]
    is_dsn = collections.Counter(p.is_dsn for p in parsed)
    print(f"corpus_is_dsn_true: {is_dsn[True]}")
    print(f"corpus_is_dsn_false: {is_dsn[False]}")
    kinds = collections.Counter(p.kind for p in parsed if isinstance(p, NotADSN))
    for kind, n in sorted(kinds.items()):
        print(f"corpus_not_dsn_{kind.replace('-', '_')}: {n}")
    for profile in ("strict", "postfix", "lenient"):
        counts = collections.Counter(verdict(validate(p, profile)) for p in parsed)
        dsn_counts = collections.Counter(verdict(validate(p, profile)) for p in parsed if p.is_dsn)
        for v in ("error", "warning", "clean"):
            print(f"corpus_{profile}_{v}: {counts[v]}")
        for v in ("error", "warning", "clean"):
            print(f"corpus_{profile}_dsn_{v}: {dsn_counts[v]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
