"""E-1..E-3: enhanced status codes in SMTP diagnostics and in Status."""

from __future__ import annotations

from collections.abc import Iterator

from harness.dsn.findings import Issue, quote
from harness.dsn.registry import Inputs, check, who
from harness.dsn.statuscodes import is_registered, reply_and_enhanced


def _smtp_codes(inp: Inputs) -> Iterator[tuple[str, str, str, str]]:
    """(who, diagnostic text, reply code, enhanced code) for every smtp Diagnostic-Code with an enhanced code."""
    for i, r in enumerate(inp.dsn.recipients):
        dc = r.diagnostic_code
        if dc is None or dc.type != "smtp":
            continue
        found = reply_and_enhanced(dc.value)
        if found:
            yield who(i, r), dc.value, found[0], found[1]


@check("E-1")
def enhanced_syntax(inp: Inputs) -> Iterator[Issue]:
    for whom, _text, _reply, code in _smtp_codes(inp):
        klass, subject, detail = code.split(".")
        if klass not in ("2", "4", "5"):
            yield Issue("E-1", f"Diagnostic-Code of {whom}: enhanced code {quote(code)} has class {klass}")
        elif len(subject) > 3 or len(detail) > 3:
            yield Issue(
                "E-1", f"Diagnostic-Code of {whom}: enhanced code {quote(code)} has more than 3 digits in a part"
            )


@check("E-2")
def enhanced_class(inp: Inputs) -> Iterator[Issue]:
    for whom, _text, reply, code in _smtp_codes(inp):
        if code[0] in ("2", "4", "5") and code[0] != reply[0]:
            yield Issue(
                "E-2", f"Diagnostic-Code of {whom}: reply {reply} carries enhanced code {code} of another class"
            )


@check("E-3")
def registered(inp: Inputs) -> Iterator[Issue]:
    for i, r in enumerate(inp.dsn.recipients):
        if r.status is not None and r.status[0] in "245" and not is_registered(r.status):
            yield Issue("E-3", f"Status {quote(r.status)} of {who(i, r)} is not a registered enhanced status code")
