"""S-1..S-5: the blocks of the delivery-status part and its per-message fields."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator

from harness.dsn.fields import PER_MESSAGE_FIELDS, PER_RECIPIENT_FIELDS, is_recipient_block
from harness.dsn.findings import Issue, quote
from harness.dsn.model import DateValue, TypedValue
from harness.dsn.registry import Inputs, check, who

_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_HOSTNAME = re.compile(rf"^(?=.{{1,253}}\.?$){_LABEL}(?:\.{_LABEL})*\.?$")
_NUMERIC = re.compile(r"^[0-9.]+$|^[0-9a-fA-F:]+:[0-9a-fA-F:.]*$")
_NAMES = {
    f.lower(): f for f in ("Original-Envelope-Id", "Reporting-MTA", "DSN-Gateway", "Received-From-MTA", "Arrival-Date")
}


def mta_name_problem(field: str, value: TypedValue) -> str | None:
    """Why an MTA-name field is not `dns; <host name>` (S-2, R-6), or None. X- types are accepted."""
    if not value.type:
        return f"{field} {quote(value.raw.strip())} has no name type (expected 'dns; <host>')"
    if value.type.startswith("x-"):
        return None
    if value.type != "dns":
        return f"{field} type {quote(value.type)} is not a registered MTA name type (expected dns)"
    name = value.value
    if not name:
        return f"{field} has type dns but no host name"
    if name.startswith("[") or _NUMERIC.match(name):
        return f"{field} {quote(name)} is an address, not a DNS name, yet uses type dns"
    if not _HOSTNAME.match(name):
        return f"{field} {quote(name)} is not a DNS host name, yet uses type dns"
    return None


@check("S-1")
def blocks(inp: Inputs) -> Iterator[Issue]:
    dsn = inp.dsn
    if not dsn.blocks:
        yield Issue(
            "S-1",
            f"the {dsn.status_part.content_type if dsn.status_part else 'delivery-status'} part has no fields",
            unusable=True,
        )
        return
    first = dsn.blocks[0]
    merged = is_recipient_block(first)
    if merged:
        if any(f.key in PER_MESSAGE_FIELDS for f in first.fields):
            line = next(f.line for f in first.fields if f.key in PER_RECIPIENT_FIELDS)
            yield Issue("S-1", f"no blank line between the per-message fields and the first recipient's (line {line})")
        else:
            yield Issue("S-1", "no per-message block: the first block already holds recipient fields")
    if not dsn.recipients:
        yield Issue("S-1", "no per-recipient block after the per-message fields", unusable=True)
    for block in dsn.blocks:
        if block.malformed:
            yield Issue("S-1", f"line in block at line {block.first_line} is not a field: {quote(block.malformed[0])}")
    counts = Counter(f.key for f in first.fields if f.key in PER_MESSAGE_FIELDS)
    for key, n in counts.items():
        if n > 1:
            yield Issue("S-1", f"per-message field {_NAMES[key]} appears {n} times")
    for i, r in enumerate(dsn.recipients):
        rc = Counter(f.key for f in r.fields if not f.key.startswith("x-"))
        for key, n in rc.items():
            if n > 1:
                name = next(f.name for f in r.fields if f.key == key)
                yield Issue("S-1", f"field {name} appears {n} times for {who(i, r)}")
        if i == 0 and merged:
            continue  # the per-message fields of a merged first block were reported above
        stray = [f for f in r.fields if f.key in PER_MESSAGE_FIELDS]
        if stray:
            yield Issue("S-1", f"per-message field {stray[0].name} in the block of {who(i, r)}")


@check("S-2")
def reporting_mta(inp: Inputs) -> Iterator[Issue]:
    rm = inp.dsn.per_message.reporting_mta
    if rm is None:
        yield Issue("S-2", "Reporting-MTA missing")
        return
    problem = mta_name_problem("Reporting-MTA", rm)
    if problem:
        yield Issue("S-2", problem)


@check("S-3", "envelope")
def envelope_id(inp: Inputs) -> Iterator[Issue]:
    assert inp.envelope is not None
    want = inp.envelope.decoded_envid
    got = inp.dsn.per_message.original_envelope_id
    if want is None and got is not None:
        yield Issue("S-3", f"Original-Envelope-Id {quote(got)} present but the original MAIL had no ENVID")
    elif want is not None and got is None:
        yield Issue("S-3", f"Original-Envelope-Id missing; the original MAIL had ENVID={inp.envelope.envid}")
    elif want is not None and got != want:
        yield Issue("S-3", f"Original-Envelope-Id {quote(got)} differs from the decoded ENVID {quote(want)}")


@check("S-4")
def gateway(inp: Inputs) -> Iterator[Issue]:
    gw = inp.dsn.per_message.dsn_gateway
    if gw is not None:
        yield Issue("S-4", f"DSN-Gateway {quote(gw.raw.strip())} present, but the DSN was not translated by a gateway")


def date_problem(field: str, value: DateValue | None, whose: str = "") -> str | None:
    if value is None:
        return None
    suffix = f" for {whose}" if whose else ""
    if value.parsed is None:
        return f"{field} {quote(value.raw.strip())}{suffix} is not an RFC 5322 date-time"
    if not value.numeric_zone:
        return f"{field} {quote(value.raw.strip())}{suffix} has no numeric time zone"
    return None


@check("S-5")
def dates(inp: Inputs) -> Iterator[Issue]:
    problem = date_problem("Arrival-Date", inp.dsn.per_message.arrival_date)
    if problem:
        yield Issue("S-5", problem)
    for i, r in enumerate(inp.dsn.recipients):
        for name, value in (("Last-Attempt-Date", r.last_attempt_date), ("Will-Retry-Until", r.will_retry_until)):
            problem = date_problem(name, value, who(i, r))
            if problem:
                yield Issue("S-5", problem)
