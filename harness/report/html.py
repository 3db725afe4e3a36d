"""The HTML report: one standalone file (inline CSS, SVG and a few lines of JavaScript; nothing fetched).

    write_html(records, "report.html", title="mailharness: suites")

At the top a table of scenarios (verdict, time, what each checks, what happened to its mail), linking to one
collapsible section per scenario (failed ones open): the picture of the path of its messages (harness.report.svg),
each DSN's summary and findings beside it, and the hops as text with the servers' replies in full.
"""

from __future__ import annotations

import copy
import logging
import os
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .outcomes import label
from .records import in_clear_against_policy
from .svg import legend, render_svg, steps

log = logging.getLogger("mailharness")

Record = dict[str, Any]

CSS = """
details.evidence { margin: 8px 0; } details.evidence > summary { cursor: pointer; font-weight: 600; }
details.evidence pre { background: #f6f8fa; border: 1px solid #ddd; padding: 8px; overflow-x: auto;
  font-size: 12px; max-height: 480px; }
:root { --ok: #2e7d32; --fail: #c62828; --warn: #b26a00; --dsn: #7b1fa2; --muted: #6b7280; --line: #d9dde3; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: #1d232b;
       margin: 0 auto; padding: 18px 24px 60px; max-width: 1600px; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; }
.counts { color: var(--muted); margin: 0 0 12px; }
.toolbar { display: flex; gap: 10px; align-items: center; margin: 10px 0; flex-wrap: wrap; }
.toolbar button { font: inherit; padding: 3px 10px; border: 1px solid #aab; background: #f4f6f8; border-radius: 4px;
                  cursor: pointer; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 4px 8px; border-bottom: 1px solid var(--line); }
th { background: #f1f3f6; font-weight: 600; }
table.summary td.num, table.summary td.time { white-space: nowrap; text-align: right; color: var(--muted); }
table.summary td.gist { color: #374151; font-size: 13px; }
.badge { display: inline-block; min-width: 44px; text-align: center; font-weight: 700; font-size: 12px;
         padding: 1px 6px; border-radius: 3px; color: #fff; background: var(--muted); }
.badge.passed { background: var(--ok); } .badge.failed, .badge.error { background: var(--fail); }
.badge.skipped { background: #8a939e; }
.badge.not-judged { background: #b07d12; } .badge.not-applicable { background: #6b7280; }
.badge.expected-failure { background: #7c3aed; }
.legend { display: flex; flex-wrap: wrap; gap: 6px 18px; margin: 14px 0; color: #374151; font-size: 13px; }
.legend .key { display: inline-flex; align-items: center; gap: 6px; }
details.scenario { border: 1px solid var(--line); border-left: 5px solid var(--muted); border-radius: 4px;
                   margin: 10px 0; }
details.scenario.passed { border-left-color: var(--ok); }
details.scenario.failed, details.scenario.error { border-left-color: var(--fail); }
details.scenario > summary { cursor: pointer; padding: 8px 12px; display: flex; gap: 10px; align-items: baseline;
                             flex-wrap: wrap; background: #fafbfc; }
details.scenario > summary .name { font-weight: 700; }
details.scenario > summary .time { color: var(--muted); font-variant-numeric: tabular-nums; }
details.scenario > summary .doc { color: #374151; }
details.scenario .content { padding: 6px 14px 14px; }
.nodeid { color: var(--muted); font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12px; }
.picture-row { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
.picture { overflow-x: auto; max-width: 100%; flex: 0 1 auto; }
.dsns { flex: 1 1 320px; min-width: 300px; }
.dsn-panel { border: 1px solid #e1d3ea; border-left: 4px solid var(--dsn); border-radius: 4px; padding: 6px 10px;
       margin: 0 0 10px; }
.dsn-panel h4 { margin: 0 0 4px; color: var(--dsn); font-size: 14px; }
.dsn-panel .where, .dsn-panel .kept { color: var(--muted); font-size: 12px; margin: 0 0 6px; word-break: break-all; }
.dsn-panel dl { display: grid; grid-template-columns: max-content 1fr; gap: 1px 10px; margin: 0 0 6px;
                font-size: 13px; }
.dsn-panel dt { color: var(--muted); } .dsn-panel dd { margin: 0; word-break: break-word; }
ul.findings { list-style: none; padding: 0; margin: 4px 0 0; font-size: 13px; }
ul.findings li { padding: 2px 6px; margin: 2px 0; border-radius: 3px; }
ul.findings li.error { color: var(--fail); background: #fdecec; }
ul.findings li.warning { color: #8a5300; background: #fff4db; }
ul.findings li.note { color: #374151; background: #eef0f3; }
.clean { color: var(--ok); font-size: 13px; margin: 4px 0 0; }
.none { color: var(--muted); font-style: italic; }
h3.message { font-size: 14px; margin: 14px 0 4px; word-break: break-all; }
table.hops { font-size: 13px; }
table.hops td.reply { white-space: pre-wrap; word-break: break-word; font-family: ui-monospace, "DejaVu Sans Mono",
                      monospace; font-size: 12px; }
table.hops tr.rejected td.kind, table.hops tr.bounced td.kind, table.hops tr.expired td.kind,
table.hops tr.unreachable td.kind, table.hops tr.lost td.kind { color: var(--fail); font-weight: 600; }
table.hops tr.deferred td.kind, table.hops tr.pending td.kind { color: var(--warn); font-weight: 600; }
table.hops tr.dsn td { color: var(--dsn); }
table.hops tr.tls-against td.tls { color: var(--fail); font-weight: 600; }
table.hops tr.delivered:not(.dsn) td.kind { color: var(--ok); font-weight: 600; }
.notes { color: var(--fail); }
.halo { paint-order: stroke; stroke: #fff; stroke-width: 3px; stroke-linejoin: round; }
body.failed-only details.scenario.passed, body.failed-only details.scenario.skipped,
body.failed-only tr.row-passed, body.failed-only tr.row-skipped { display: none; }
"""

HEAD_JS = ("window.onerror = function (msg, src, line) { var t = document.body || document.documentElement; "
           "t.setAttribute('data-error', String(msg) + ' (line ' + line + ')'); return false; };")
BODY_JS = """(function () {
  function openTarget() {
    var id = decodeURIComponent(location.hash.slice(1)), el = id ? document.getElementById(id) : null;
    if (el && el.tagName === 'DETAILS') { el.open = true; }
  }
  function all(open) { document.querySelectorAll('details.scenario').forEach(function (d) { d.open = open; }); }
  document.getElementById('expand-all').addEventListener('click', function () { all(true); });
  document.getElementById('collapse-all').addEventListener('click', function () { all(false); });
  document.getElementById('failed-only').addEventListener('change', function (e) {
    document.body.classList.toggle('failed-only', e.target.checked);
  });
  window.addEventListener('hashchange', openTarget);
  openTarget();
  window.addEventListener('load', function () { document.body.dataset.ok = '1'; });
})();"""


def render_html(records: Sequence[Record], *, title: str, generated: str | None = None) -> str:
    """The whole report as one HTML document. `generated` (default: now, UTC) is shown under the title."""
    when = generated if generated is not None else datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    ids = [scenario_id(i, r) for i, r in enumerate(records, 1)]
    access = sorted({str(a) for r in records for a in (r.get("access") or [])})  # harness.access: direct or gateway
    counts = {k: sum(1 for r in records if r.get("outcome") == k)
              for k in ("passed", "failed", "skipped", "not-applicable", "not-judged", "expected-failure")}
    other = len(records) - sum(counts.values())
    total = sum(float(r.get("duration") or 0) for r in records)
    line = (f"{len(records)} scenario(s): {counts['passed']} passed, {counts['failed']} failed, "
            f"{counts['skipped']} skipped"
            + (f", {counts['not-applicable']} not applicable" if counts["not-applicable"] else "")
            + (f", {counts['not-judged']} not judged" if counts["not-judged"] else "")
            + (f", {counts['expected-failure']} expected failure(s) (known departures)"
               if counts["expected-failure"] else "")
            + (f", {other} other" if other else "") + f"; {total:.2f} s in all")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{CSS}</style><script>{HEAD_JS}</script></head>",
        '<body class="mailharness-report">',
        f"<h1>{escape(title)}</h1>",
        f'<p class="counts">{escape(line)}' + (f" \u00b7 generated {escape(when)}" if when else "") + "</p>",
        *(f'<p class="access">servers reached: {escape(a)}</p>' for a in access),
        '<div class="toolbar"><button type="button" id="expand-all">expand all</button>'
        '<button type="button" id="collapse-all">collapse all</button>'
        '<label><input type="checkbox" id="failed-only"> failed only</label></div>',
        summary_table(records, ids),
        f'<div class="legend">{legend()}</div>',
        *(_section(r, ident) for r, ident in zip(records, ids, strict=True)),
        f"<script>{BODY_JS}</script>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def write_html(records: Sequence[Record], path: str | os.PathLike[str], title: str = "mailharness report") -> Path:
    """Write render_html(records) to `path` (UTF-8; the parent folder is created). Returns the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_html([kept_relative_to(r, out.parent) for r in records], title=title), encoding="utf-8")
    return out


def kept_relative_to(record: Record, folder: Path) -> Record:
    """The record with each kept DSN's file (--mailharness-keep-dsns) as a path relative to `folder`, the
    report's: the links hold when the report and the DSNs move together (a CI job's artifacts)."""
    if not any(d.get("file") for m in record.get("messages", []) for d in m.get("dsns", [])):
        return record
    out = copy.deepcopy(record)
    for m in out.get("messages", []):
        for d in m.get("dsns", []):
            if d.get("file") and Path(str(d["file"])).is_absolute():
                d["file"] = Path(os.path.relpath(str(d["file"]), folder.resolve())).as_posix()
    return out


def scenario_id(index: int, record: Record) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", str(record.get("name", "")).lower()).strip("-")[:60]
    return f"s{index}-{slug}" if slug else f"s{index}"


def verdict(outcome: str) -> str:
    return label(outcome)


def summary_table(records: Sequence[Record], ids: Sequence[str]) -> str:
    rows = []
    for i, (r, ident) in enumerate(zip(records, ids, strict=True), 1):
        outcome = escape(str(r.get("outcome", "")))
        rows.append(f'<tr class="row-{outcome}"><td class="num">{i}</td>'
                    f'<td><a href="#{ident}">{escape(str(r.get("name", "")))}</a></td>'
                    f'<td><span class="badge {outcome}">{escape(verdict(str(r.get("outcome", ""))))}</span></td>'
                    f'<td class="time">{float(r.get("duration") or 0):.2f} s</td>'
                    f'<td>{escape(str(r.get("doc", "")))}</td><td class="gist">{escape(gist(r))}</td></tr>')
    head = ("<tr><th>#</th><th>scenario</th><th>verdict</th><th>time</th><th>what it checks</th>"
            "<th>what happened to the mail</th></tr>")
    return f'<table class="summary"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


def gist(record: Record) -> str:
    """One line per scenario: the refusals, deliveries, DSNs (with their findings) and what is still queued."""
    out: list[str] = []
    for m in record.get("messages", []):
        for h in m.get("hops", []):
            if h.get("dsn"):
                continue
            if h.get("kind") == "rejected":
                out.append(f"refused by {h.get('node')} at {h.get('stage') or '?'} "
                           f"({h.get('code') or ''} {h.get('enhanced') or ''})".replace(" )", ")").replace("( ", "("))
            elif h.get("kind") in ("unreachable", "lost"):
                out.append(f"{h.get('kind')} {h.get('node')} from {h.get('peer') or '?'} at {h.get('stage') or '?'}")
            elif h.get("kind") in ("deferred", "bounced") and not h.get("code") and h.get("stage") and h.get("peer"):
                out.append(f"no reply from {h['peer']} to {h.get('node')} at {h['stage']}")
            elif h.get("kind") in ("delivered", "bounced", "expired"):
                out.append(f"{h.get('kind')} at {h.get('node')}" + (f" ({h['status']})" if h.get("status") else ""))
        for d in m.get("dsns", []):
            levels = [f.get("level") for f in d.get("findings", [])]
            tally = ", ".join(f"{levels.count(k)} {k}{'s' if levels.count(k) > 1 else ''}"
                              for k in ("error", "warning", "note") if k in levels)
            out.append(f"DSN {d.get('kind')} from {d.get('node')}" + (f" [{tally}]" if tally else ""))
        if m.get("pending"):
            out.append("still queued at " + ", ".join(sorted({p.get("node", "?") for p in m["pending"]})))
        own = [h for h in m.get("hops", []) if not h.get("dsn")]
        if own and not out:
            out.append(f"{own[-1].get('kind')} at {own[-1].get('node')}, nothing seen after that")
    if not record.get("messages"):
        return "no verdict gathered"
    return "; ".join(dict.fromkeys(out)) or "no hop seen"


def _section(record: Record, ident: str) -> str:
    """One scenario's section; a record that cannot be drawn says why instead of breaking the whole report."""
    try:
        return scenario_section(record, ident)
    except Exception as exc:  # a record the drawing code does not expect (KeyError, TypeError, ValueError...):
        # one scenario that cannot be drawn says why in its section instead of breaking the whole report
        log.warning("report: scenario %s could not be drawn: %s: %s", record.get("name", ""), type(exc).__name__,
                    exc, exc_info=True)
        return (f'<details class="scenario error" id="{ident}" open><summary><span class="badge error">?</span>'
                f'<span class="name">{escape(str(record.get("name", "")))}</span></summary><div class="content">'
                f'<p class="notes">This scenario could not be drawn: {escape(f"{type(exc).__name__}: {exc}")}</p>'
                "</div></details>")


def scenario_section(record: Record, ident: str) -> str:
    outcome = str(record.get("outcome", ""))
    is_open = " open" if outcome not in ("passed", "skipped") else ""
    summary = (f'<summary><span class="badge {escape(outcome)}">{escape(verdict(outcome))}</span>'
               f'<span class="name">{escape(str(record.get("name", "")))}</span>'
               f'<span class="time">{float(record.get("duration") or 0):.2f} s</span>'
               f'<span class="doc">{escape(str(record.get("doc", "")))}</span></summary>')
    body = [f'<p class="nodeid">{escape(str(record.get("nodeid", "")))}</p>']
    if record.get("requirement"):
        body.append(f'<p class="requirement">requirement: {escape(str(record["requirement"]))}</p>')
    if record.get("fix_hint"):
        body.append(f'<p class="fix-hint"><strong>fix hint:</strong> {escape(str(record["fix_hint"]))}</p>')
    messages = record.get("messages", [])
    if not messages:
        body.append('<p class="none">No verdict was gathered in this scenario (no <code>sent.verdict()</code> '
                    "call), so there is no path to draw.</p>")
    else:
        dsns = "".join(dsn_panel(d, mi if len(messages) > 1 else 0)
                       for mi, m in enumerate(messages, 1) for d in m.get("dsns", []))
        body.append(f'<div class="picture-row"><div class="picture">{render_svg(record, ident=ident)}</div>'
                    f'<div class="dsns">{dsns or "<p class=none>No DSN was emitted.</p>"}</div></div>')
        body += [hop_table(m, mi) for mi, m in enumerate(messages, 1)]
    if record.get("failure"):
        why = {"not-judged": "why it was not judged", "not-applicable": "why it does not apply",
               "expected-failure": "the departure from the RFCs it shows"}.get(outcome, "why it failed")
        body.append(f'<details class="evidence" open><summary>{why}</summary>'
                    f'<pre>{escape(str(record["failure"]))}</pre></details>')
    for title, key in (("SMTP transcripts", "transcripts"), ("mail logs of every node", "logs")):
        if record.get(key):
            body.append(f'<details class="evidence"><summary>{title}</summary><pre>{escape(str(record[key]))}</pre>'
                        "</details>")
    return (f'<details class="scenario {escape(outcome)}" id="{ident}"{is_open}>{summary}'
            f'<div class="content">{"".join(body)}</div></details>')


def dsn_panel(d: Record, message_number: int = 0) -> str:
    of = f" (message {message_number})" if message_number else ""
    head = f"DSN ({d.get('kind', '?')}) from {d.get('node', '?')} to {d.get('to') or '?'}{of}"
    where = (f"delivered at {d['delivered_at']}" if d.get("delivered_at") else "not delivered (yet)") + \
        (f" \u00b7 Message-ID {d['message_id']}" if d.get("message_id") else "")
    out = [f'<section class="dsn-panel"><h4>{escape(head)}</h4><p class="where">{escape(where)}</p>']
    if d.get("file"):  # kept by --mailharness-keep-dsns: relative to the report where write_html made it so
        href = Path(str(d["file"])).as_uri() if Path(str(d["file"])).is_absolute() else quote(str(d["file"]))
        out.append(f'<p class="kept">kept as <a href="{escape(href)}">{escape(Path(str(d["file"])).name)}</a> '
                   f'(<code>mailharness dsn-lint --delivered</code>)</p>')
    s = d.get("summary")
    if s:
        names = (("action", "Action"), ("status", "Status"), ("reporting_mta", "Reporting-MTA"),
                 ("remote_mta", "Remote-MTA"), ("diagnostic_code", "Diagnostic-Code"),
                 ("final_recipient", "Final-Recipient"))
        out.append("<dl>" + "".join(f"<dt>{label}</dt><dd>{escape(str(s[k]))}</dd>" for k, label in names
                                     if s.get(k) not in (None, "")) + "</dl>")
    findings = d.get("findings", [])
    if findings:
        out.append('<ul class="findings">' + "".join(
            f'<li class="{escape(str(f.get("level", "")))}"><b>{escape(str(f.get("rule", "")))}</b> '
            f'{escape(str(f.get("level", "")))}: {escape(str(f.get("message", "")))}</li>' for f in findings) + "</ul>")
    elif s:
        out.append('<p class="clean">No finding (checklist, profile postfix).</p>')
    elif d.get("delivered_at"):
        out.append('<p class="none">Content not read.</p>')
    out.append("</section>")
    return "".join(out)


def hop_table(m: Record, number: int) -> str:
    head = f"message {number}: <{m.get('sender', '')}> \u2192 {', '.join(m.get('recipients', []))}" + \
        (f", submitted to {m['via']}" if m.get("via") else "") + \
        (f" \u00b7 Message-ID {m['message_id']}" if m.get("message_id") else "")
    rows = []
    for st in steps(m):
        if st.what == "emit":
            d = st.dsn
            rows.append(_row("dsn emit", "\u21a9", d.get("node", ""), f"emits DSN ({d.get('kind')})", d.get("to", ""),
                             "", "", d.get("message_id", ""), "", ""))
        elif st.what == "pending":
            p = st.pending
            rows.append(_row("pending", "\u2026", p.get("node", ""), "still queued", "", "", "",
                             f"queue id {p.get('queue_id', '')}", "", ""))
        else:
            h = st.hop
            text = "\n".join(x for x in (h.get("reply") or "", h.get("detail") or "") if x)
            against = in_clear_against_policy(h)
            tls = h.get("tls") or ("in clear" if h.get("kind") == "relayed" else "")
            rows.append(_row(f"{h.get('kind', '')}{' dsn' if h.get('dsn') else ''}{' tls-against' if against else ''}",
                             str(st.number), h.get("node", ""), f"{'DSN ' if h.get('dsn') else ''}{h.get('kind', '')}",
                             h.get("recipient", ""), h.get("peer", ""), h.get("stage", ""), text, h.get("status", ""),
                             f"{tls}; TLS was required: {h.get('tls_required')}" if against else tls))
    notes = "".join(f'<p class="notes">{escape(n)}</p>' for n in m.get("notes", []))
    cols = "<tr><th>#</th><th>node</th><th>what</th><th>recipient</th><th>peer</th><th>stage</th>" \
           "<th>reply / detail</th><th>status</th><th>TLS</th></tr>"
    table = f'<table class="hops"><thead>{cols}</thead><tbody>{"".join(rows)}</tbody></table>' if rows else \
        '<p class="none">No hop was seen.</p>'
    return f'<h3 class="message">{escape(head)}</h3>{table}{notes}'


def _row(cls: str, *cells: str) -> str:
    names = ("num", "node", "kind", "rcpt", "peer", "stage", "reply", "status", "tls")
    return f'<tr class="{escape(cls)}">' + "".join(f'<td class="{n}">{escape(str(c))}</td>'
                                                    for n, c in zip(names, cells, strict=True)) + "</tr>"

