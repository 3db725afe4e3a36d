"""Flat, JSON-ready views of a parsed message (used by dsn-lint --json and by the comparison output)."""

from __future__ import annotations

from typing import Any

from harness.dsn.model import DSN, NotADSN, RecipientBlock


def recipient_dict(r: RecipientBlock) -> dict[str, Any]:
    """Addresses without their type (as written), action in lower case, status as n.n.n (raw when malformed)."""
    return {
        "final_recipient": r.final_recipient.value if r.final_recipient else None,
        "original_recipient": r.original_recipient.value if r.original_recipient else None,
        "action": r.action if r.action is not None else None,
        "status": r.status if r.status is not None else (r.status_raw.strip() if r.status_raw is not None else None),
        "remote_mta": r.remote_mta.value if r.remote_mta else None,
        "diagnostic_code": r.diagnostic_code.value if r.diagnostic_code else None,
        "diagnostic_type": r.diagnostic_code.type if r.diagnostic_code else None,
        "will_retry_until": r.will_retry_until.raw.strip() if r.will_retry_until else None,
    }


def message_dict(parsed: DSN | NotADSN) -> dict[str, Any]:
    if isinstance(parsed, NotADSN):
        return {"is_dsn": False, "kind": parsed.kind, "reason": parsed.reason}
    returned = parsed.returned
    return {
        "is_dsn": True,
        "reporting_mta": parsed.reporting_mta,
        "original_envelope_id": parsed.per_message.original_envelope_id,
        "content_type": parsed.content_type,
        "report_type": parsed.report_type,
        "parts": [p.content_type for p in parsed.parts],
        "returned": returned.kind if returned else None,
        "recipients": [recipient_dict(r) for r in parsed.recipients],
    }


def flatten(parsed: DSN) -> dict[str, Any]:
    """One level of `name: value` for a field-by-field diff; recipient fields as `recipients[i].name`."""
    d = message_dict(parsed)
    out = {k: v for k, v in d.items() if k != "recipients"}
    out["recipient_count"] = len(parsed.recipients)
    for i, r in enumerate(d["recipients"]):
        for k, v in r.items():
            out[f"recipients[{i}].{k}"] = v
    return out
