"""R-1..R-10 and U-2: the per-recipient fields."""

from __future__ import annotations

import re
from collections.abc import Iterator

from harness.dsn.fields import PER_MESSAGE_FIELDS, PER_RECIPIENT_FIELDS, is_recipient_block
from harness.dsn.findings import Issue, quote
from harness.dsn.model import ACTIONS, Address, Block, Field
from harness.dsn.registry import Inputs, check, who
from harness.dsn.rules_permessage import mta_name_problem

ADDRESS_TYPES = ("rfc822", "utf-8", "x400")
_STATUS_STRICT = re.compile(r"^([245])\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$")
REPLY_CODE = re.compile(r"^\s*([2-5])\d\d(?:[ -]|$)")
KNOWN_FIELDS = frozenset(PER_MESSAGE_FIELDS) | frozenset(PER_RECIPIENT_FIELDS)
FAILING = ("failed", "delayed")


def address_problem(field: str, value: Address, whose: str) -> str | None:
    if not value.type:
        return f"{field} {quote(value.raw.strip())} of {whose} has no address type (expected 'rfc822; <address>')"
    if value.type not in ADDRESS_TYPES and not value.type.startswith("x-"):
        return f"{field} address type {quote(value.type)} of {whose} is not registered (rfc822, utf-8, x400)"
    if not value.value:
        return f"{field} of {whose} has no address"
    if value.type == "rfc822":
        if value.value.startswith("<") and value.value.endswith(">"):
            return f"{field} {quote(value.value)} encloses the address in angle brackets"
        local, at, domain = value.address.rpartition("@")
        if not at or not local or not domain:
            return f"{field} {quote(value.value)} is not an addr-spec (local-part@domain)"
    return None


@check("R-1")
def final_recipient(inp: Inputs) -> Iterator[Issue]:
    for i, r in enumerate(inp.dsn.recipients):
        if r.final_recipient is None:
            also = f" (Original-Recipient {quote(r.original_address)})" if r.original_recipient else ""
            yield Issue("R-1", f"Final-Recipient missing for recipient #{i + 1}{also}", unusable=True)
            continue
        problem = address_problem("Final-Recipient", r.final_recipient, who(i, r))
        if problem:
            yield Issue("R-1", problem)


@check("R-3")
def action(inp: Inputs) -> Iterator[Issue]:
    for i, r in enumerate(inp.dsn.recipients):
        if r.action_raw is None:
            yield Issue("R-3", f"Action missing for {who(i, r)}", unusable=r.status_raw is None)
        elif r.action not in ACTIONS:
            yield Issue("R-3", f"Action {quote(r.action_raw)} for {who(i, r)} is not one of {', '.join(ACTIONS)}")


def status_problem(code: str | None, raw: str) -> str | None:
    if code is None:
        return f"Status {quote(raw.strip())} is not class.subject.detail"
    if _STATUS_STRICT.match(code):
        return None
    klass, subject, detail = code.split(".")
    if klass not in ("2", "4", "5"):
        return f"Status {quote(code)} has class {klass}; it must be 2, 4 or 5"
    for name, part in (("subject", subject), ("detail", detail)):
        if len(part) > 3:
            return f"Status {quote(code)} has a {name} of {len(part)} digits; at most 3"
        if len(part) > 1 and part.startswith("0"):
            return f"Status {quote(code)} has a leading zero in its {name}"
    return f"Status {quote(code)} is not class.subject.detail"


@check("R-4")
def status(inp: Inputs) -> Iterator[Issue]:
    for i, r in enumerate(inp.dsn.recipients):
        if r.status_raw is None:
            yield Issue("R-4", f"Status missing for {who(i, r)}", unusable=r.action_raw is None)
            continue
        problem = status_problem(r.status, r.status_raw)
        if problem:
            yield Issue("R-4", f"{problem} for {who(i, r)}")


@check("R-5")
def action_status(inp: Inputs) -> Iterator[Issue]:
    expected = {"delivered": "2", "relayed": "2", "expanded": "2", "delayed": "4"}
    for i, r in enumerate(inp.dsn.recipients):
        if r.action not in ACTIONS or r.status is None or not _STATUS_STRICT.match(r.status):
            continue
        klass = r.status[0]
        ok = klass in ("4", "5") if r.action == "failed" else klass == expected[r.action]
        if not ok:
            yield Issue("R-5", f"Action {r.action} with Status {r.status} for {who(i, r)}")


@check("R-6")
def remote_mta(inp: Inputs) -> Iterator[Issue]:
    for i, r in enumerate(inp.dsn.recipients):
        dc = r.diagnostic_code
        if r.remote_mta is None:
            if dc is not None and dc.type == "smtp" and r.action in FAILING:
                yield Issue("R-6", f"Remote-MTA missing for {who(i, r)} although Diagnostic-Code is an SMTP reply")
            continue
        problem = mta_name_problem("Remote-MTA", r.remote_mta)
        if problem:
            yield Issue("R-6", f"{problem} for {who(i, r)}")


def normalise_reply(text: str) -> str:
    return " ".join(text.split())


def reply_forms(reply: str) -> set[str]:
    """The ways a DSN may copy an SMTP reply: lines joined as they are, or with the repeated codes dropped."""
    lines = [ln.strip() for ln in reply.replace("\r", "\n").split("\n") if ln.strip()]
    if not lines:
        return {""}
    joined = normalise_reply(" ".join(lines))
    stripped = [lines[0]] + [re.sub(r"^\d{3}[ -](?:\d\.\d{1,3}\.\d{1,3} )?", "", ln) for ln in lines[1:]]
    dropped = normalise_reply(" ".join(stripped))
    return {joined, dropped, re.sub(r"^(\d{3})-", r"\1 ", dropped)}


@check("R-7")
def diagnostic_code(inp: Inputs) -> Iterator[Issue]:
    for i, r in enumerate(inp.dsn.recipients):
        dc = r.diagnostic_code
        if dc is None:
            if r.action in FAILING:
                yield Issue(
                    "R-7",
                    f"no Diagnostic-Code for {who(i, r)} (Action {r.action})",
                    requirement="SHOULD",
                    variant="absent",
                )
            continue
        if dc.type == "smtp" and not REPLY_CODE.match(dc.value):
            yield Issue(
                "R-7",
                f"Diagnostic-Code {quote(dc.raw.strip())} for {who(i, r)} is typed smtp but holds no SMTP reply code",
            )
        elif dc.type != "smtp" and REPLY_CODE.match(dc.value) and r.remote_mta is not None:
            yield Issue(
                "R-7",
                f"Diagnostic-Code {quote(dc.raw.strip())} for {who(i, r)} copies the remote "
                "server's reply but is not typed smtp",
            )


@check("R-7", "scripted_replies")
def scripted_reply(inp: Inputs) -> Iterator[Issue]:
    replies = {k.lower(): v for k, v in inp.scripted_replies.items()}
    for i, r in enumerate(inp.dsn.recipients):
        reply = replies.get((r.address or "").lower()) or replies.get((r.original_address or "").lower())
        if reply is None:
            continue
        dc = r.diagnostic_code
        if dc is None or dc.type != "smtp":
            yield Issue(
                "R-7",
                f"Diagnostic-Code for {who(i, r)} is {quote(str(dc) if dc else None)}; the server "
                f"replied {quote(normalise_reply(reply))}",
            )
        elif normalise_reply(dc.value) not in reply_forms(reply):
            yield Issue(
                "R-7",
                f"Diagnostic-Code {quote(dc.value)} for {who(i, r)} is not the server's reply "
                f"{quote(normalise_reply(reply))}",
            )


@check("R-8")
def will_retry_until(inp: Inputs) -> Iterator[Issue]:
    for i, r in enumerate(inp.dsn.recipients):
        if r.will_retry_until is not None and r.action != "delayed":
            yield Issue(
                "R-8",
                f"Will-Retry-Until {quote(r.will_retry_until.raw.strip())} for {who(i, r)} "
                f"with Action {quote(r.action_raw)}, not delayed",
            )


@check("R-9")
def field_names(inp: Inputs) -> Iterator[Issue]:
    for block in inp.dsn.blocks:
        for f in block.fields:
            if f.key not in KNOWN_FIELDS and not f.key.startswith("x-"):
                yield Issue("R-9", f"unknown field {quote(f.name)} (line {f.line}) is neither registered nor X-")


def _order_problem(fields: tuple[Field, ...], grammar: tuple[str, ...], what: str) -> str | None:
    last: Field | None = None
    seen_extension: Field | None = None
    for f in fields:
        if f.key.startswith("x-") or f.key not in grammar:
            seen_extension = seen_extension or f
            continue
        if seen_extension is not None:
            return f"{what} field {f.name} (line {f.line}) comes after the extension field {seen_extension.name}"
        if last is not None and grammar.index(f.key) < grammar.index(last.key):
            return f"{what} field {f.name} (line {f.line}) comes after {last.name}; the grammar puts it before"
        last = f
    return None


@check("R-10")
def field_order(inp: Inputs) -> Iterator[Issue]:
    blocks: tuple[Block, ...] = inp.dsn.blocks
    if not blocks:
        return
    first = blocks[0]
    if not is_recipient_block(first):
        problem = _order_problem(first.fields, PER_MESSAGE_FIELDS, "per-message")
        if problem:
            yield Issue("R-10", problem)
    for i, r in enumerate(inp.dsn.recipients):
        problem = _order_problem(r.fields, PER_RECIPIENT_FIELDS, f"{who(i, r)}:")
        if problem:
            yield Issue("R-10", problem)


@check("U-2")
def utf8_addresses(inp: Inputs) -> Iterator[Issue]:
    for i, r in enumerate(inp.dsn.recipients):
        for name, a in (("Final-Recipient", r.final_recipient), ("Original-Recipient", r.original_recipient)):
            if a is not None and not a.value.isascii() and a.type != "utf-8":
                yield Issue(
                    "U-2",
                    f"{name} {quote(a.value)} of {who(i, r)} is not ASCII but its type is {quote(a.type)}, not utf-8",
                )
