"""Reading the body of a message/delivery-status part: blocks, unfolded fields, typed values (RFC 3464 s2)."""

from __future__ import annotations

import re
from email.utils import parsedate_to_datetime

from harness.dsn.model import (
    Address,
    Block,
    DateValue,
    Field,
    PerMessage,
    RecipientBlock,
    TypedValue,
)

_FIELD_NAME = re.compile(r"^([!-9;-~]+)[ \t]*:(.*)$")  # printable, no space, no colon (RFC 5322 s3.6.8)
_STATUS = re.compile(r"^\s*(\d+\.\d+\.\d+)(.*)$", re.S)
_ZONE = re.compile(r"[+-]\d{4}$")


def split_blocks(text: str) -> tuple[Block, ...]:
    """Split LF-normalised text into blocks of unfolded fields; blank (or whitespace-only) lines separate blocks."""
    blocks: list[Block] = []
    fields: list[tuple[str, list[str], int]] = []
    malformed: list[str] = []
    first = 0

    def close() -> None:
        nonlocal fields, malformed
        if fields or malformed:
            blocks.append(
                Block(
                    fields=tuple(Field(n, _unfold(parts), ln) for n, parts, ln in fields),
                    malformed=tuple(malformed),
                    first_line=first,
                )
            )
        fields, malformed = [], []

    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            close()
            continue
        if not fields and not malformed:
            first = number
        if line[0] in " \t":
            if fields:
                fields[-1][1].append(line)
            else:
                malformed.append(line)
            continue
        m = _FIELD_NAME.match(line)
        if m is None:
            malformed.append(line)
            continue
        fields.append((m.group(1), [m.group(2)], number))
    close()
    return tuple(blocks)


def _unfold(parts: list[str]) -> str:
    if len(parts) == 1:
        return parts[0].strip()
    return " ".join(p.strip() for p in parts if p.strip())


def strip_comments(value: str) -> str:
    """Remove RFC 5322 comments (nested parentheses, quoted pairs) and squeeze white space."""
    if "(" not in value:
        return " ".join(value.split())
    out: list[str] = []
    depth = 0
    escaped = False
    in_quote = False
    for ch in value:
        if escaped:
            escaped = False
            if depth == 0:
                out.append(ch)
            continue
        if ch == "\\":
            escaped = True
            if depth == 0:
                out.append(ch)
            continue
        if depth == 0 and ch == '"':
            in_quote = not in_quote
        elif not in_quote and ch == "(":
            depth += 1
            continue
        elif not in_quote and ch == ")" and depth:
            depth -= 1
            continue
        if depth == 0:
            out.append(ch)
    return " ".join("".join(out).split())


def typed(value: str) -> TypedValue:
    t, sep, rest = value.partition(";")
    if not sep:
        return TypedValue(type="", value=value.strip(), raw=value)
    return TypedValue(type=strip_comments(t).lower(), value=rest.strip(), raw=value)


def address(value: str) -> Address:
    tv = typed(value)
    return Address(type=tv.type, value=tv.value, raw=tv.raw)


def date(value: str) -> DateValue:
    clean = strip_comments(value)
    try:
        parsed = parsedate_to_datetime(clean)
    except (TypeError, ValueError, IndexError, OverflowError):
        parsed = None
    return DateValue(raw=value, parsed=parsed, numeric_zone=bool(_ZONE.search(clean)))


def status(value: str) -> tuple[str | None, str]:
    """(`n.n.n` or None, the comment/rest) of a Status field."""
    m = _STATUS.match(value)
    if m is None:
        return None, strip_comments(value)
    rest = m.group(2).strip()
    if rest.startswith("(") and rest.endswith(")"):
        rest = rest[1:-1].strip()
    return m.group(1), rest


PER_MESSAGE_FIELDS = (
    "original-envelope-id",
    "reporting-mta",
    "dsn-gateway",
    "received-from-mta",
    "arrival-date",
)
PER_RECIPIENT_FIELDS = (
    "original-recipient",
    "final-recipient",
    "action",
    "status",
    "remote-mta",
    "diagnostic-code",
    "last-attempt-date",
    "final-log-id",
    "will-retry-until",
)


def per_message(block: Block) -> PerMessage:
    values: dict[str, Field] = {}
    for f in block.fields:
        values.setdefault(f.key, f)
    ext = tuple(f for f in block.fields if f.key.startswith("x-"))

    def get(name: str) -> str | None:
        f = values.get(name)
        return f.value if f else None

    rm, gw, rf, ad, envid = (
        get("reporting-mta"),
        get("dsn-gateway"),
        get("received-from-mta"),
        get("arrival-date"),
        get("original-envelope-id"),
    )
    return PerMessage(
        reporting_mta=typed(rm) if rm is not None else None,
        original_envelope_id=envid.strip() if envid is not None else None,
        dsn_gateway=typed(gw) if gw is not None else None,
        received_from_mta=typed(rf) if rf is not None else None,
        arrival_date=date(ad) if ad is not None else None,
        extensions=ext,
        fields=block.fields,
    )


def recipient(block: Block) -> RecipientBlock:
    values: dict[str, Field] = {}
    for f in block.fields:
        values.setdefault(f.key, f)

    def get(name: str) -> str | None:
        f = values.get(name)
        return f.value if f else None

    action_raw = get("action")
    status_raw = get("status")
    code, comment = status(status_raw) if status_raw is not None else (None, "")
    fr, orc, rm, dc = get("final-recipient"), get("original-recipient"), get("remote-mta"), get("diagnostic-code")
    la, wr, fl = get("last-attempt-date"), get("will-retry-until"), get("final-log-id")
    return RecipientBlock(
        final_recipient=address(fr) if fr is not None else None,
        original_recipient=address(orc) if orc is not None else None,
        action=strip_comments(action_raw).lower() if action_raw is not None else None,
        action_raw=action_raw,
        status=code,
        status_raw=status_raw,
        status_comment=comment,
        remote_mta=typed(rm) if rm is not None else None,
        diagnostic_code=typed(dc) if dc is not None else None,
        last_attempt_date=date(la) if la is not None else None,
        final_log_id=fl,
        will_retry_until=date(wr) if wr is not None else None,
        extensions=tuple(f for f in block.fields if f.key.startswith("x-")),
        fields=block.fields,
    )


def is_recipient_block(block: Block) -> bool:
    return any(f.key in ("final-recipient", "original-recipient", "action", "status") for f in block.fields)


def interpret(blocks: tuple[Block, ...]) -> tuple[PerMessage, tuple[RecipientBlock, ...]]:
    """The per-message block is the first; every later block that has fields is a recipient.

    When the first block already holds recipient fields (the blank line after the per-message fields is missing,
    or there are no per-message fields) it is read as both; rule S-1 reports the structure.
    """
    if not blocks:
        return PerMessage(), ()
    first, rest = blocks[0], blocks[1:]
    recipients = [recipient(b) for b in rest if b.fields]
    if is_recipient_block(first):
        recipients.insert(0, recipient(first))
    return per_message(first), tuple(recipients)
