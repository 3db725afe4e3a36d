"""A finding written out as a regression test: a pytest file that reads like the bundled scenarios (a docstring with
the guarantee, what happened instead and the RFC) and uses only the public API (fixtures, faults, `send`, the
verdict's assertions, `assert_guarantees`). Run it with `pytest [--mta-config DIR] FILE`, with the options the search
had for the configuration (--mta-table...: `mailharness explore` prints the command).
"""

from __future__ import annotations

import dataclasses
import json
import re
import textwrap
from pathlib import Path

from ..faults import Down, Fault, Tarpit, Unreachable
from .explorer import Discovery
from .guarantees import BACKSCATTER, COMPLIANCE, GUARANTEES
from .scenario import MockStep, Scenario, Targets

STATEMENTS = {
    "conservation": "every recipient is delivered once, refused in the dialogue, bounced with one failed DSN to the "
                    "envelope sender, or still being retried; never dropped, never delivered twice, never a DSN "
                    "to anyone else",
    "no backscatter": "no DSN to a null sender, for a NOTIFY=NEVER recipient, or for a failure the server could "
                      "have known at RCPT time",
    "responsibility": "the DSN comes from the server that held the message when its delivery failed, and names "
                      "the remote MTA that refused",
    "DSN compliance": "every DSN passes the RFC 3464 checklist (profile postfix: Postfix's known departures "
                      "listed, not counted)",
    "NOTIFY semantics": "SUCCESS gives a success DSN, DELAY a delayed DSN only when there was a delay, NEVER "
                        "nothing",
}


def _s(value: object) -> str:
    """A Python literal, with double quotes as the bundled scenarios write them."""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, tuple):
        inner = ", ".join(_s(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    return repr(value)


def fault_code(f: Fault) -> str:
    args = [_s(f.node)]
    for fld in dataclasses.fields(f)[1:]:
        value = getattr(f, fld.name)
        if value != fld.default:
            args.append(f"{fld.name}={_s(value)}")
    return f"{type(f).__name__}({', '.join(args)})"


def mock_code(steps: tuple[MockStep, ...]) -> str:
    script = "Script()"
    for s in steps:
        if s.kind == "refuse":
            script += '.add(rule("rcpt", "550 5.1.1 No such user here (mock)"))'
        elif s.kind == "tempfail":
            script += '.add(rule("rcpt", "451 4.3.2 Try again later (mock)"))'
        elif s.kind == "tempfail_then_accept":
            script += (f'.add(rule("rcpt", step("451 4.3.2 Busy, try again (mock)", times={s.times}), '
                       '"250 2.1.5 Ok"))')
        else:
            script += '.hide("DSN")'
    return script


def _title(text: str) -> str:
    return text[:1].upper() + text[1:]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:60] or "violation"


def regression_source(f: Discovery, seed: int | None = None) -> str:
    """The regression test for one finding."""
    s, t, v = f.scenario, f.targets, f.violation
    faults = s.all_faults(t)
    names = sorted({type(x).__name__ for x in faults} | ({"Down"} if f.held else set()))
    rcpts = s.unique_recipients(t)
    plain = all(not r.notify and not r.orcpt for r in rcpts)
    imports = [*names, "assert_guarantees"] + (["MailTopology"] if s.variant != "config" else [])
    if not plain:
        imports.append("Recipient")
    if s.variant == "default" and faults and not f.held:
        imports.append("FaultApplier")
    if v.guarantee == COMPLIANCE:
        imports.append("assert_dsn")
    head = textwrap.wrap(f"{_title(v.guarantee)}: {STATEMENTS[v.guarantee]} ({GUARANTEES[v.guarantee]}).", 113)
    lines = ['"""' + head[0], *head[1:]]
    lines += ["", *textwrap.wrap(f"What happened instead: {v.what}.", 116)]
    lines += ["", *textwrap.wrap(f"Found by `mailharness explore`{f' (seed {seed})' if seed is not None else ''}; "
                                 f"the smallest case: {s.describe(t)}. It ran twice more and showed the same "
                                 f"violation {f.reproduced} times of 2.", 116), '"""', ""]
    # isort's order, as ruff checks it: classes, then functions
    names_sorted = sorted(set(imports), key=lambda n: (not n[:1].isupper(), n.lower()))
    lines.append(_wrap_import("harness", names_sorted))
    if s.variant == "config":
        lines.append("from harness.sut.conformance import Target")
    if s.variant == "mock":
        mock_names = ["Script"] + (["rule"] if any(m.kind != "no_dsn" for m in s.mock) else []) + (
            ["step"] if any(m.kind == "tempfail_then_accept" for m in s.mock) else [])
        lines.append(f"from harness.mock import {', '.join(mock_names)}")
    lines += ["", ""]
    name = f"test_{_slug(v.guarantee)}_{_slug(v.key or v.what)}"
    if s.variant == "default":
        fixture, world = ("mail_topology: MailTopology" + (", mail_fault: FaultApplier" if faults and not f.held
                                                             else "")), "mail_topology"
    elif s.variant == "mock":
        fixture, world = "mail_topology_with_mock: MailTopology", "world"
    else:
        fixture, world = "mta: Target", "world"
    doc = f"{_title(v.guarantee)} broken: {v.key or v.what}."[:110]
    body = [f"def {name}({fixture}) -> None:", f'    """{doc}"""']
    if s.variant == "mock":
        body.append("    world = mail_topology_with_mock")
        code = mock_code(s.mock)
        if len(code) > 90:  # one call per line
            code = "(\n        " + code.replace(").add(", ")\n        .add(").replace(").hide(", ")\n        .hide(") \
                + "\n    )"
        body.append(f'    world.mock("edu").script = {code}')
    elif s.variant == "config":
        body.append("    world = mta.world")

    def apply_all() -> list[str]:
        if not faults:
            return []
        if s.variant == "default" and not f.held:
            return _call("    mail_fault(", [fault_code(x) for x in faults])
        return [line for x in faults for line in _call(f"    {world}.apply(", [fault_code(x)])]

    if s.start == "before":
        body += apply_all()
    elif f.held:
        body += [f"    hold = {world}.apply({fault_code(Down(n))})  # the message waits at store for the faults"
                 for n in f.held][:1]
        body += [f"    hold_{i} = {world}.apply({fault_code(Down(n))})" for i, n in enumerate(f.held[1:], 2)]
    listed = _recipient_objects(s, t)
    if listed:
        body += ["    rcpts = [", *[f"        {r}," for r in listed], "    ]"]
    body += _call(f"    sent = {world}.send(", _send_args(s, t))
    if s.start == "after":
        if f.held:
            body += _call(f"    {world}.wait_log(", ['lambda e: e.node == "store" and e.get("status") == "deferred"',
                                                     'what="store holding the message"'])
            body.append("    hold()")
            body += [f"    hold_{i}()" for i in range(2, len(f.held) + 1)]
        body += apply_all()
    body += ["", "    story = sent.verdict(timeout=6)"]
    if v.guarantee == BACKSCATTER:
        body.append("    story.assert_no_backscatter()")
    if v.guarantee == COMPLIANCE:
        body += ["    for d in story.dsns:",
                 "        if d.delivered_at:",
                 "            dsn = story.bounced_by(d.node, to=d.to, kind=d.kind)",
                 '            assert_dsn(dsn, envelope=sent.original_envelope(), profile="postfix")']
    body.append(f"    assert_guarantees({world}, story, {_s(v.guarantee)})")
    return "\n".join(lines + body) + "\n"


def _wrap_import(module: str, names: list[str]) -> str:
    line = f"from {module} import {', '.join(names)}"
    if len(line) <= 120:
        return line
    return f"from {module} import (\n" + "".join(f"    {n},\n" for n in names) + ")"


def _call(start: str, args: list[str]) -> list[str]:
    """A call's lines within 120 columns, continuation lines aligned with the first argument."""
    lines, current = [], start
    for i, a in enumerate(args):
        piece = a + (", " if i < len(args) - 1 else ")")
        if len(current) + len(piece.rstrip()) > 120 and current.strip() != start.strip():
            lines.append(current.rstrip())
            current = " " * len(start)
        current += piece
    return [*lines, current]


def _send_args(s: Scenario, t: Targets) -> list[str]:
    rcpts = s.unique_recipients(t)
    if all(not r.notify and not r.orcpt for r in rcpts):
        addrs = [r.address(t) for r in rcpts]
        args = [_s(s.sender_address()), _s(addrs[0]) if len(addrs) == 1 else "[" + ", ".join(map(_s, addrs)) + "]"]
    else:
        args = [_s(s.sender_address()), "rcpts"]
    if s.ret:
        args.append(f"ret={_s(s.ret)}")
    if s.envid:
        args.append(f"envid={_s(s.envid)}")
    if s.size:
        args.append(f'body=("x" * 76 + "\\n") * {s.size // 77}')
    if s.via(t) != "store":
        args.append(f"via={_s(s.via(t))}")
    if any(isinstance(f, (Tarpit, Unreachable, Down)) and f.node == s.via(t) for f in s.all_faults(t)):
        args.append("timeout=5")  # the server we submit to does not answer: do not wait the default 30 s
    return args


def _recipient_objects(s: Scenario, t: Targets) -> list[str]:
    """Recipient(...) for each recipient, when one has NOTIFY or ORCPT (otherwise plain addresses do)."""
    rcpts = s.unique_recipients(t)
    if all(not r.notify and not r.orcpt for r in rcpts):
        return []
    items = []
    for r in rcpts:
        extra = ([f"notify={_s(r.notify)}"] if r.notify else []) + ([f"orcpt={_s(r.address(t))}"] if r.orcpt else [])
        items.append(f"Recipient({', '.join([_s(r.address(t)), *extra])})")
    # one per line in the list (8 columns in): a long one goes on with its ORCPT under its first argument
    return [i.replace(", orcpt=", ",\n" + " " * 18 + "orcpt=") if len(i) > 110 else i for i in items]


def write(findings: list[Discovery], out: str | Path, seed: int | None = None) -> list[Path]:
    """One file per distinct violation (reproduced both times) in `out`; returns their paths."""
    d = Path(out)
    d.mkdir(parents=True, exist_ok=True)
    paths = []
    for f in findings:
        if f.reproduced != 2:
            continue
        p = d / f"test_explore_{_slug(f.violation.guarantee)}_{_slug(f.violation.key or f.violation.what)[:40]}.py"
        p.write_text(regression_source(f, seed))
        paths.append(p)
    return paths


def write_report(findings: list[Discovery], out: str | Path) -> Path | None:
    """The HTML report of the findings (each with the path picture of its last confirming run), as
    `out`/explore.html; None when there is nothing to show."""
    from ..report import write_html

    records = [f.record for f in findings if f.reproduced == 2 and f.record]
    return write_html(records, Path(out) / "explore.html", "mailharness explore") if records else None
