"""The picture of a scenario's messages: an inline SVG sequence diagram, one lane per node plus the harness client.

Rows follow `steps()`: every hop in order, the DSN emissions where they start, what is still queued. Arrows:
accepted and relayed (node -> peer), rejected (client -> refusing node, ending in a red X), sessions that got no
reply at all, unreachable or lost (client -> silent node, ending in a red X), failed attempts with no reply as the
client logged them (ending in an X); marks on a lane: mailbox (delivered), bounced, deferred, expired,
forwarded. DSN rows are purple and dashed, joined lane by lane from where the DSN starts to the mailbox it lands in.
A hop to a next hop carries a padlock: closed for TLS (green: the certificate verified), open in clear, red and
labelled where the sending node's policy required TLS and the hop went in clear.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from typing import Any

from .records import hop_text, in_clear_against_policy

Record = dict[str, Any]

LANE_W = 190
LEFT = 34  # row numbers
HEAD_H = 64
ROW_H = 30
MSG_H = 28
CHAR_W = 6.7  # average width of an 11px sans-serif character, a little generous
HARNESS = "harness"

OK, FAIL, WAIT, MSG, DSN, GREY = "#2e7d32", "#c62828", "#b26a00", "#1f4e79", "#7b1fa2", "#555555"
_FAILURE = ("bounced", "deferred", "expired")
_NO_SESSION = ("unreachable", "lost")  # a session that ended without a reply (the hop's node is the server)
_REFUSAL = ("rejected", *_NO_SESSION)  # kinds drawn from the client to the refusing (or silent) server


@dataclass
class PictureRow:
    """One row: a hop (numbered), a DSN emission, or a copy still queued."""

    what: str  # hop, emit, pending
    number: int = 0
    hop: Record = field(default_factory=dict)
    dsn: Record = field(default_factory=dict)
    pending: Record = field(default_factory=dict)


def steps(message: Record) -> list[PictureRow]:
    """The rows of one message: hops in log order (a refusal before the client's own account of it), each DSN's
    emission just before its first hop (or after the failure it reports on), then the pending copies."""
    indexed = list(enumerate(message.get("hops", [])))
    indexed.sort(key=lambda ih: (ih[1].get("seq", ih[0]), 0 if ih[1].get("kind") == "rejected" else 1))
    rows = [PictureRow("hop", n, hop=h) for n, (_, h) in enumerate(indexed, 1)]
    for d in message.get("dsns", []):
        at = next((i for i, r in enumerate(rows) if r.what == "hop" and r.hop.get("dsn")
                   and r.hop.get("node") == d.get("node") and r.hop.get("queue_id") == d.get("queue_id")), None)
        if at is None:
            about = {a.lower() for a in d.get("about", [])}
            after = [i for i, r in enumerate(rows) if r.what == "hop" and not r.hop.get("dsn")
                     and r.hop.get("node") == d.get("node") and (r.hop.get("recipient", "").lower() in about
                                                                 or not about)]
            at = after[-1] + 1 if after else len(rows)
        rows.insert(at, PictureRow("emit", dsn=d))
    rows += [PictureRow("pending", pending=p) for p in message.get("pending", [])]
    return rows


def lanes(record: Record) -> list[Record]:
    """The harness client, the topology's nodes, then any other host a hop names."""
    out: list[Record] = [{"name": HARNESS, "domain": "test client", "hostname": "SMTP submission", "kind": "client"}]
    out += [dict(n) for n in record.get("nodes", [])]
    known = {n["name"] for n in out}
    for m in record.get("messages", []):
        for h in m.get("hops", []):
            for name in (h.get("node", ""), h.get("peer", "")):
                if name and name not in known:
                    known.add(name)
                    out.append({"name": name, "domain": "", "hostname": "(not in the topology)", "kind": "other"})
    return out


def render_svg(record: Record, *, ident: str) -> str:
    """The diagram of every message of one scenario record (one <svg class="path-diagram">)."""
    return _Diagram(record, ident).render()


def _fit(text: str, width: float) -> str:
    n = max(int(width / CHAR_W), 1)
    return text if len(text) <= n else text[: max(n - 1, 0)] + "\u2026"


def _label(primary: str, optional: str, width: float) -> str:
    both = f"{primary} {optional}".strip()
    return both if len(both) * CHAR_W <= width else _fit(primary, width)


class _Diagram:
    def __init__(self, record: Record, ident: str) -> None:
        self.record = record
        self.ident = ident
        self.lanes = lanes(record)
        self.index = {n["name"]: i for i, n in enumerate(self.lanes)}
        self.width = LEFT + LANE_W * len(self.lanes) + 8
        self.out: list[str] = []  # arrows, marks, labels (over the lifelines)
        self.back: list[str] = []  # row stripes (under the lifelines)
        self.bands: list[str] = []  # message headers (over the lifelines, under the arrows)
        self.dsn_at: dict[int, float] = {}  # lane -> y where the DSN path last was on it

    def x(self, name: str) -> float | None:
        i = self.index.get(name)
        return None if i is None else LEFT + LANE_W * i + LANE_W / 2

    def render(self) -> str:
        y = float(HEAD_H)
        messages = self.record.get("messages", [])
        for mi, m in enumerate(messages, 1):
            self.dsn_at = {}
            self._message_row(mi, m, y)
            y += MSG_H
            many = len(m.get("recipients", [])) > 1
            for r, step in enumerate(steps(m)):
                if r % 2:
                    self.back.append(f'<rect x="{LEFT}" y="{y}" width="{self.width - LEFT - 4}" height="{ROW_H}" '
                                     'fill="#f6f7f9"/>')
                self._step(step, y, m, many)
                y += ROW_H
        height = y + 10
        title_id = f"{self.ident}-title"
        head = [f'<svg xmlns="http://www.w3.org/2000/svg" class="path-diagram" id="{self.ident}-diagram" '
                f'role="img" aria-labelledby="{title_id}" width="{self.width}" height="{height:.0f}" '
                f'viewBox="0 0 {self.width} {height:.0f}" font-family="system-ui, -apple-system, \'Segoe UI\', '
                f'\'DejaVu Sans\', sans-serif" font-size="11">',
                f'<title id="{title_id}">Path of {len(messages)} message(s) in '
                f'{escape(self.record.get("name", ""))}</title>']
        return "\n".join([*head, *self.back, *self._lanes(height), *self.bands, *self.out, "</svg>"])

    def _lanes(self, height: float) -> list[str]:
        out = []
        for n in self.lanes:
            cx = self.x(n["name"])
            assert cx is not None
            w = LANE_W - 24
            dashed = ' stroke-dasharray="4 3"' if n.get("kind") != "postfix" else ""
            fill = "#eef1f5" if n["name"] == HARNESS else "#ffffff"
            name = n["name"] + (f" \u00b7 {n['kind']}" if n.get("kind") in ("mock", "other") else "") \
                + (f" \u00b7 {n['release']}" if n.get("release") else "")
            third = f"node {n['node']}" if n.get("node") else n.get("hostname", "")  # a host name already on top
            tip = " / ".join(x for x in (n["name"], n.get("node") and f"node {n['node']}", n.get("domain"),
                                         n.get("hostname") if n.get("hostname") != n["name"] else "",
                                         n.get("release")) if x)
            out.append(f'<g class="lane" data-node="{escape(n["name"])}">'
                       f'<title>{escape(tip)}'
                       f'</title><line x1="{cx}" y1="{HEAD_H - 8}" x2="{cx}" y2="{height - 6:.0f}" stroke="#b8bec6" '
                       f'stroke-width="1.5"/>'
                       f'<rect x="{cx - w / 2}" y="6" width="{w}" height="{HEAD_H - 14}" rx="6" fill="{fill}" '
                       f'stroke="#8a939e"{dashed}/>'
                       f'<text x="{cx}" y="22" text-anchor="middle" font-weight="bold" font-size="13">'
                       f'{escape(_fit(name, w - 8))}</text>'
                       f'<text x="{cx}" y="36" text-anchor="middle" fill="#333">'
                       f'{escape(_fit(n.get("domain", ""), w - 8))}</text>'
                       f'<text x="{cx}" y="49" text-anchor="middle" fill="#6b7280">'
                       f'{escape(_fit(third, w - 8))}</text></g>')
        return out

    def _message_row(self, mi: int, m: Record, y: float) -> None:
        text = f"message {mi}: <{m.get('sender', '')}> \u2192 {', '.join(m.get('recipients', []))}"
        self.bands.append(f'<rect x="4" y="{y + 3}" width="{self.width - 8}" height="{MSG_H - 6}" rx="4" '
                        f'fill="#e3ebf5"/><text x="12" y="{y + 18}" font-weight="bold" fill="{MSG}">'
                        f'{escape(_fit(text, self.width - 24))}</text>')

    # -- rows ------------------------------------------------------------------------------------------------------
    def _step(self, step: PictureRow, y: float, m: Record, many: bool) -> None:
        mid = y + ROW_H * 0.66
        if step.what == "emit":
            d = step.dsn
            self._number("\u21a9", y, DSN)
            cx = self.x(d.get("node", ""))
            if cx is not None:
                self.dsn_at[self.index[d["node"]]] = mid
                tip = f"{d.get('node')} emits a DSN ({d.get('kind')}) to <{d.get('to') or '?'}>"
                self._mark("emit", cx, mid, f"emits DSN ({d.get('kind')}) to {d.get('to') or '?'}", "", DSN, tip)
            return
        if step.what == "pending":
            p = step.pending
            self._number("\u2026", y, WAIT)
            cx = self.x(p.get("node", ""))
            if cx is not None:
                self._mark("pending", cx, mid, "still queued", str(p.get("queue_id", "")), WAIT,
                           f"still queued at {p.get('node')}: {p.get('queue_id')}")
            return
        h = step.hop
        self._number(str(step.number), y, GREY)
        self._hop(h, mid, m, many)

    def _number(self, text: str, y: float, colour: str) -> None:
        self.out.append(f'<text x="{LEFT - 8}" y="{y + ROW_H * 0.66 + 4}" text-anchor="end" fill="{colour}">'
                        f'{escape(text)}</text>')

    def _hop(self, h: Record, y: float, m: Record, many: bool) -> None:
        kind, dsn = h.get("kind", ""), bool(h.get("dsn"))
        node, peer = h.get("node", ""), h.get("peer", "")
        rcpt = h.get("recipient", "")
        show_rcpt = rcpt if rcpt and (many or rcpt.lower() not in [r.lower() for r in m.get("recipients", [])]) else ""
        code = f"{h.get('code') or ''} {h.get('enhanced') or ''}".strip()
        tip = hop_text(h)
        nx, px = self.x(node), self.x(peer)
        if nx is None:
            return
        colour = DSN if dsn else MSG
        if kind == "rejected" and px is not None and px != nx:
            tone = WAIT if 400 <= int(h.get("code") or 0) < 500 else FAIL  # a 4xx refusal is transient
            self._arrow(px, nx, y, f"{h.get('stage') or '?'} {code}".strip(), show_rcpt, tone, tip,
                        end="x", dashed=dsn, line=DSN if dsn else tone)
        elif kind in _NO_SESSION and px is not None and px != nx:
            self._arrow(px, nx, y, f"{h.get('stage') or '?'} {kind}", "no reply", FAIL, tip, end="x", dashed=dsn,
                        line=DSN if dsn else FAIL)
        elif kind == "accepted" and px is not None and px != nx:
            self._arrow(px, nx, y, f"accepted \u00b7 {code}".strip(" \u00b7"), show_rcpt, OK, tip)
        elif kind == "relayed" and px is not None and px != nx:
            against = in_clear_against_policy(h)
            said = f"relayed {'in clear' if against else h.get('status', '')}".strip()
            self._arrow(nx, px, y, f"{'DSN ' if dsn else ''}{said}", "(TLS was required)" if against else show_rcpt,
                        FAIL if against else colour, tip, dashed=dsn)
            self._lock(h, nx, px, y, tip)
            self._dsn_path(dsn, nx, px, y)
        elif kind in _FAILURE and px is not None and px != nx and not self._refused(h, m):
            said = f"{h.get('stage') or ''} {code}" if h.get("code") else \
                f"{h.get('stage') or ''} no reply {h.get('status', '')}"
            self._arrow(nx, px, y, said.strip(), f"{kind} {show_rcpt}".strip(),
                        FAIL if kind != "deferred" else WAIT, tip, end="x", dashed=dsn,
                        line=DSN if dsn else None)
            if h.get("tls"):  # a session that got as far as TLS (a certificate that did not verify)
                self._lock(h, nx, px, y, tip)
            self._dsn_path(dsn, nx, None, y)
        else:
            self._dsn_path(dsn, nx, None, y)
            self._mark_hop(h, nx, y, dsn, tip)

    def _mark_hop(self, h: Record, cx: float, y: float, dsn: bool, tip: str) -> None:
        kind, status, rcpt = h.get("kind", ""), h.get("status", ""), h.get("recipient", "")
        prefix = "DSN " if dsn else ""
        if kind == "delivered":
            self._mark("mailbox", cx, y, f"{prefix}delivered to {rcpt}".strip(), status, DSN if dsn else OK, tip)
        elif kind in _FAILURE:
            colour = WAIT if kind == "deferred" else FAIL
            extra = "(will retry)" if kind == "deferred" else ""
            self._mark(kind, cx, y, f"{prefix}{kind} {status}".strip(), h.get("detail") or extra, colour, tip)
        elif kind == "forwarded":
            detail = h.get("detail", "")
            text = detail if detail.startswith("forwarded") else f"forwarded {detail}".strip()
            self._mark("forwarded", cx, y, f"{prefix}{text}", "", DSN if dsn else MSG, tip)
        else:
            self._mark("other", cx, y, f"{prefix}{kind} {status}".strip(), rcpt, DSN if dsn else GREY, tip)

    def _refused(self, h: Record, m: Record) -> bool:
        """A failure whose refusal has its own row (the next hop's log, or the mock's reply)."""
        return any(o.get("kind") in _REFUSAL and o.get("node") == h.get("peer") and o.get("peer") == h.get("node")
                   and (o.get("recipient", "").lower() == h.get("recipient", "").lower() or not o.get("recipient"))
                   for o in m.get("hops", []))

    def _dsn_path(self, dsn: bool, x1: float, x2: float | None, y: float) -> None:
        """Join a DSN hop to where the DSN last was on its lane (dashed purple), and move it on."""
        if not dsn:
            return
        lane = round((x1 - LEFT - LANE_W / 2) / LANE_W)
        top = self.dsn_at.get(lane)
        if top is not None and y - top > 8:
            self.out.append(f'<line x1="{x1}" y1="{top + 7}" x2="{x1}" y2="{y - 7}" stroke="{DSN}" stroke-width="2" '
                            'stroke-dasharray="5 4"/>')
        self.dsn_at[lane] = y
        if x2 is not None:
            self.dsn_at[round((x2 - LEFT - LANE_W / 2) / LANE_W)] = y

    def _lock(self, h: Record, x1: float, x2: float, y: float, tip: str) -> None:
        """The hop's TLS, as a padlock on its arrow just after the sending node's lane: closed for TLS (green when
        the certificate verified, blue when not), open and grey in clear, open and red in clear against the sending
        node's policy (a hop that should have been encrypted and was not)."""
        cx = x1 + (18 if x2 > x1 else -18)
        if h.get("tls"):
            state, colour = ("verified", OK) if h.get("tls_verified") else ("encrypted", MSG)
            shackle = f"M{cx - 3} {y - 2}V{y - 5}a3 3 0 0 1 6 0V{y - 2}"
        else:
            state, colour = ("clear required", FAIL) if in_clear_against_policy(h) else ("clear", GREY)
            shackle = f"M{cx - 3} {y - 2}V{y - 5}a3 3 0 0 1 6 0V{y - 4}"  # one leg free: open
        said = f"TLS: {h['tls']}" if h.get("tls") else (
            f"in clear, although TLS was required ({h.get('tls_required')})" if state == "clear required"
            else "in clear")
        self.out.append(f'<g class="tls {state}"><title>{escape(said)} — {escape(tip)}</title>'
                        f'<rect x="{cx - 6}" y="{y - 10}" width="12" height="15" fill="#fff"/>'
                        f'<path d="{shackle}" fill="none" stroke="{colour}" stroke-width="1.6"/>'
                        f'<rect x="{cx - 4.5}" y="{y - 2}" width="9" height="6.5" rx="1" fill="{colour}"/></g>')

    # -- shapes ----------------------------------------------------------------------------------------------------
    def _arrow(self, x1: float, x2: float, y: float, primary: str, optional: str, colour: str, tip: str, *,
               end: str = "head", dashed: bool = False, line: str | None = None) -> None:
        stroke = line or colour
        sign = 1 if x2 > x1 else -1
        tip_x = x2 - sign * 3
        dash = ' stroke-dasharray="6 4"' if dashed else ""
        parts = [f'<line x1="{x1 + sign * 3}" y1="{y}" x2="{tip_x - sign * (0 if end == "x" else 8)}" y2="{y}" '
                 f'stroke="{stroke}" stroke-width="2"{dash}/>']
        if end == "x":
            parts.append(f'<path d="M{x2 - 6} {y - 6}L{x2 + 6} {y + 6}M{x2 - 6} {y + 6}L{x2 + 6} {y - 6}" '
                         f'stroke="{colour}" stroke-width="3" class="reject-x"/>')
        else:
            parts.append(f'<path d="M{tip_x} {y}L{tip_x - sign * 9} {y - 5}L{tip_x - sign * 9} {y + 5}Z" '
                         f'fill="{stroke}"/>')
        text = _label(primary, optional, abs(x2 - x1) - 16)
        parts.append(f'<text x="{(x1 + x2) / 2}" y="{y - 6}" text-anchor="middle" fill="{colour}" '
                     f'class="halo">{escape(text)}</text>')
        kind = "dsn" if dashed else ("fail" if end == "x" else "msg")
        self.out.append(f'<g class="hop arrow {kind}"><title>{escape(tip)}</title>{"".join(parts)}</g>')

    def _mark(self, shape: str, cx: float, y: float, primary: str, optional: str, colour: str, tip: str) -> None:
        icon = {
            "mailbox": f'<rect x="{cx - 8}" y="{y - 6}" width="16" height="12" rx="1.5" fill="#fff" stroke="{colour}" '
                       f'stroke-width="2"/><path d="M{cx - 8} {y - 5}L{cx} {y + 1}L{cx + 8} {y - 5}" fill="none" '
                       f'stroke="{colour}" stroke-width="1.6"/>',
            "emit": f'<circle cx="{cx}" cy="{y}" r="7" fill="{colour}"/><path d="M{cx + 3} {y - 2}H{cx - 3}'
                    f'M{cx - 1} {y - 4.5}L{cx - 3.5} {y - 2}L{cx - 1} {y + 0.5}" stroke="#fff" stroke-width="1.6" '
                    'fill="none"/>',
            "bounced": f'<path d="M{cx} {y - 8}L{cx + 8} {y}L{cx} {y + 8}L{cx - 8} {y}Z" fill="{colour}"/>'
                       f'<text x="{cx}" y="{y + 4}" text-anchor="middle" fill="#fff" font-weight="bold">!</text>',
            "forwarded": f'<circle cx="{cx}" cy="{y}" r="7" fill="#fff" stroke="{colour}" stroke-width="2"/>'
                         f'<path d="M{cx - 3} {y}H{cx + 3}M{cx + 1} {y - 2.5}L{cx + 3.5} {y}L{cx + 1} {y + 2.5}" '
                         f'stroke="{colour}" stroke-width="1.6" fill="none"/>',
        }.get(shape, f'<circle cx="{cx}" cy="{y}" r="7" fill="#fff" stroke="{colour}" stroke-width="2"/>'
                     f'<path d="M{cx} {y - 4}V{y}H{cx + 3}" stroke="{colour}" stroke-width="1.6" fill="none"/>')
        right_room = self.width - (cx + 14) - 4
        left_room = cx - 14 - LEFT
        full = f"{primary} \u00b7 {optional}" if primary and optional else primary or optional
        if len(full) * CHAR_W <= right_room or right_room >= left_room:
            text = _fit(full, right_room)
            label = f'<text x="{cx + 14}" y="{y + 4}" fill="{colour}" class="halo">{escape(text)}</text>'
        else:
            text = _fit(full, left_room)
            label = (f'<text x="{cx - 14}" y="{y + 4}" text-anchor="end" fill="{colour}" class="halo">'
                     f'{escape(text)}</text>')
        self.out.append(f'<g class="hop mark {escape(shape)}"><title>{escape(tip)}</title>{icon}{label}</g>')


def legend() -> str:
    """A small key to the shapes, for the top of the page."""
    items = [
        (f'<line x1="2" y1="9" x2="30" y2="9" stroke="{MSG}" stroke-width="2"/><path d="M34 9L25 4L25 14Z" '
         f'fill="{MSG}"/>', "relayed / accepted"),
        (f'<line x1="2" y1="9" x2="28" y2="9" stroke="{FAIL}" stroke-width="2"/><path d="M24 3L36 15M24 15L36 3" '
         f'stroke="{FAIL}" stroke-width="3"/>', "refused 5xx (stage, code) / failed attempt"),
        (f'<line x1="2" y1="9" x2="28" y2="9" stroke="{WAIT}" stroke-width="2"/><path d="M24 3L36 15M24 15L36 3" '
         f'stroke="{WAIT}" stroke-width="3"/>', "refused 4xx / attempt deferred"),
        (f'<path d="M18 1L26 9L18 17L10 9Z" fill="{FAIL}"/>', "bounced"),
        (f'<circle cx="18" cy="9" r="7" fill="#fff" stroke="{WAIT}" stroke-width="2"/>', "deferred / queued"),
        (f'<rect x="10" y="3" width="16" height="12" rx="1.5" fill="#fff" stroke="{OK}" stroke-width="2"/>'
         f'<path d="M10 4L18 10L26 4" fill="none" stroke="{OK}" stroke-width="1.6"/>', "delivered to a mailbox"),
        (f'<line x1="2" y1="9" x2="34" y2="9" stroke="{DSN}" stroke-width="2" stroke-dasharray="6 4"/>',
         "the DSN's way back"),
        (f'<path d="M15 9V6a3 3 0 0 1 6 0V9" fill="none" stroke="{OK}" stroke-width="1.6"/>'
         f'<rect x="13.5" y="9" width="9" height="6.5" rx="1" fill="{OK}"/>', "over TLS (blue: not verified)"),
        (f'<path d="M15 9V6a3 3 0 0 1 6 0V7" fill="none" stroke="{GREY}" stroke-width="1.6"/>'
         f'<rect x="13.5" y="9" width="9" height="6.5" rx="1" fill="{GREY}"/>', "in clear"),
        (f'<path d="M15 9V6a3 3 0 0 1 6 0V7" fill="none" stroke="{FAIL}" stroke-width="1.6"/>'
         f'<rect x="13.5" y="9" width="9" height="6.5" rx="1" fill="{FAIL}"/>', "in clear, TLS was required"),
    ]
    return "".join(f'<span class="key"><svg width="38" height="18" viewBox="0 0 38 18" aria-hidden="true">{icon}'
                   f'</svg>{escape(text)}</span>' for icon, text in items)

