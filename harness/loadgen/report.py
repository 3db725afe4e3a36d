"""The load run's figures and its accounting table, as text."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from .accounting import PROBLEMS, Accounting, Submitted
from .mix import OUTCOMES

COLUMNS = (*OUTCOMES, *PROBLEMS)
_SHOW = 10  # problems listed one by one, at most


def percentile(values: Sequence[float], p: float) -> float | None:
    """The nearest-rank percentile (p in 0..100) of sorted or unsorted values; None for none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}s"


def table(acct: Accounting) -> list[str]:
    """Expected and seen, per outcome; then per scenario, how many recipients ended how."""
    lines = ["accounting (every recipient of every message):",
             f"  {'outcome':12} {'expected':>8} {'seen':>8}"]
    for o in COLUMNS:
        expected = sum(1 for r in acct.results if r.recipient.expect == o)
        lines.append(f"  {o:12} {expected:8d} {acct.count(o):8d}")
    lines.append(f"  {'total':12} {len(acct.results):8d} {len(acct.results):8d}")
    width = max([len(s) for s in acct.table()] + [8])
    head = "".join(f"{c[:11]:>12}" for c in COLUMNS)
    lines += ["", f"  {'scenario':{width}} {'expected':>10} {'recipients':>10}{head}  latency p50 / p99"]
    for scenario, row in sorted(acct.table().items()):
        mine = [r for r in acct.results if r.recipient.scenario == scenario]
        lat = [r.latency for r in mine if r.latency is not None]
        cells = "".join(f"{row.get(c, 0) or '.':>12}" for c in COLUMNS)
        timing = f"  {seconds(percentile(lat, 50))} / {seconds(percentile(lat, 99))}" if lat else "  -"
        lines.append(f"  {scenario:{width}} {mine[0].recipient.expect:>10} {row['count']:10d}{cells}{timing}")
    return lines


def stage_times(submissions: Sequence[Submitted]) -> str:
    """Where the client's sessions spent their time: per SMTP stage, the median and 90th percentile of the wait
    for its reply (the server's work and the network, plus the client's own)."""
    waits: dict[str, list[float]] = {}
    for sub in submissions:
        prev = sub.started
        for e in sub.transcript.exchanges:
            waits.setdefault(e.stage, []).append(max(0.0, e.at - prev))
            prev = e.at
    parts = [f"{stage} {statistics.median(v) * 1000:.0f}/{(percentile(v, 90) or 0) * 1000:.0f}"
             for stage, v in waits.items()]
    return "client time per stage, ms median/p90: " + ", ".join(parts) if parts else "no session"


def _listed(title: str, items: Sequence[object]) -> list[str]:
    """A titled list, the first _SHOW items and how many more."""
    if not items:
        return []
    more = [f"  ... and {len(items) - _SHOW} more"] if len(items) > _SHOW else []
    return [f"{title} ({len(items)}):", *(f"  {r}" for r in items[:_SHOW]), *more]


def findings(acct: Accounting) -> list[str]:
    lines = []
    lines += _listed("recipients with a problem", acct.problems)
    lines += _listed("recipients with another outcome than the mix expects", acct.unexpected)
    if acct.misdirected_dsns:
        lines.append(f"DSNs and messages that belong to no recipient ({len(acct.misdirected_dsns)}):")
        lines += [f"  {x}" for x in acct.misdirected_dsns[:_SHOW]]
    if acct.pending:
        lines.append(f"still queued at the end ({len(acct.pending)}):")
        lines += [f"  {x}" for x in acct.pending[:_SHOW]]
    return lines
