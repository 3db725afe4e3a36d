"""The readable end-of-run table: scenario, verdict, time."""

from __future__ import annotations

from ..report.outcomes import label


def render_summary(results: list[tuple[str, str, float, str]]) -> list[str]:
    """results: (node id, outcome, seconds, first docstring line)."""
    if not results:
        return ["no scenario ran"]
    rows: list[tuple[str, str, str, str]] = []
    for nodeid, outcome, secs, doc in results:
        name = nodeid.split("::")[-1].removeprefix("test_")
        rows.append((label(outcome), f"{float(secs):6.2f}s", name, doc))
    width = max(len(r[2]) for r in rows)
    vw = max(7, *(len(r[0]) for r in rows))
    out = [f"{'verdict':{vw}}  {'time':>7}  {'scenario':{width}}  what it checks"]
    for verdict, took, name, doc in rows:
        out.append(f"{verdict:{vw}}  {took:>7}  {name:{width}}  {doc}")
    counts = {k: sum(1 for r in rows if r[0] == k) for k in ("PASS", "FAIL", "SKIP", "N/A", "NOT JUDGED", "XFAIL")}
    out.append(f"{counts['PASS']} passed, {counts['FAIL']} failed" + (f", {counts['SKIP']} skipped"
                                                                     if counts["SKIP"] else "")
               + (f", {counts['N/A']} not applicable" if counts["N/A"] else "")
               + (f", {counts['NOT JUDGED']} not judged" if counts["NOT JUDGED"] else "")
               + (f", {counts['XFAIL']} expected failure(s) (known departures)" if counts["XFAIL"] else ""))
    return out
