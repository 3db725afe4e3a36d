"""M-1..M-5 (MIME structure) and U-3 (7-bit returned content without SMTPUTF8)."""

from __future__ import annotations

from collections.abc import Iterator

from harness.dsn.findings import Issue, quote
from harness.dsn.registry import Inputs, check

DSN_REPORT_TYPES = ("delivery-status", "global-delivery-status")
RETURNED_TYPES = ("message/rfc822", "text/rfc822-headers", "message/global", "message/global-headers")
NOT_7BIT = ("base64", "quoted-printable", "8bit", "binary")


@check("M-1")
def top_level_type(inp: Inputs) -> Iterator[Issue]:
    if inp.dsn.content_type != "multipart/report":
        yield Issue("M-1", f"top-level Content-Type is {quote(inp.dsn.content_type)}, not multipart/report")


@check("M-2")
def report_type(inp: Inputs) -> Iterator[Issue]:
    dsn = inp.dsn
    if dsn.content_type != "multipart/report":
        yield Issue("M-2", "no multipart/report, so no report-type=delivery-status parameter")
    elif dsn.report_type is None:
        yield Issue("M-2", "Content-Type multipart/report has no report-type parameter")
    elif dsn.report_type not in DSN_REPORT_TYPES:
        yield Issue("M-2", f"report-type is {quote(dsn.report_type)}, not delivery-status")


@check("M-3")
def part_order(inp: Inputs) -> Iterator[Issue]:
    dsn = inp.dsn
    status = dsn.status_part
    if status is None:  # cannot happen for a DSN; kept for type narrowing
        return
    types = [p.content_type for p in dsn.parts]
    listing = ", ".join(types)
    if "." in status.path:
        yield Issue("M-3", f"the {status.content_type} part is nested at part {status.path}, not the second part")
        return
    if not 2 <= len(dsn.parts) <= 3:
        yield Issue("M-3", f"the report has {len(dsn.parts)} parts ({listing}); expected 2 or 3")
    if status.path != "2":
        yield Issue("M-3", f"{status.content_type} is part {status.path} of ({listing}); it must be the second")
    elif types[0] in RETURNED_TYPES or types[0].startswith("message/"):
        yield Issue("M-3", f"the first part is {quote(types[0])}, not a human-readable text")


@check("M-4")
def status_encoding(inp: Inputs) -> Iterator[Issue]:
    status = inp.dsn.status_part
    if status is None:
        return
    cte = status.transfer_encoding
    global_type = status.content_type == "message/global-delivery-status"
    if cte in NOT_7BIT and not (global_type and cte == "8bit"):
        yield Issue("M-4", f"{status.content_type} part has Content-Transfer-Encoding {quote(cte)}; it must be 7bit")
    elif status.eight_bit and not global_type:
        yield Issue("M-4", f"{status.content_type} part holds 8-bit octets; it must be 7bit")


@check("M-5")
def returned_type(inp: Inputs) -> Iterator[Issue]:
    returned = inp.dsn.returned
    if returned is None:
        return
    if returned.content_type not in RETURNED_TYPES:
        yield Issue(
            "M-5",
            f"returned content is {quote(returned.content_type)}, not message/rfc822 or text/rfc822-headers",
        )
    elif returned.kind == "message" and returned.headers and not returned.has_body:
        yield Issue(
            "M-5",
            f"returned content labelled {returned.content_type} holds headers only; use text/rfc822-headers",
            requirement="SHOULD NOT",
            variant="headers-as-message",
        )


@check("U-3", "dsn_envelope")
def seven_bit_return(inp: Inputs) -> Iterator[Issue]:
    assert inp.dsn_envelope is not None
    if "SMTPUTF8" in inp.dsn_envelope.mail_params:
        return
    returned = inp.dsn.returned
    if returned is None:
        return
    if returned.eight_bit or returned.transfer_encoding == "binary":
        yield Issue(
            "U-3",
            f"returned content ({returned.content_type}, Content-Transfer-Encoding "
            f"{quote(returned.transfer_encoding)}) holds 8-bit octets but the DSN's MAIL had no SMTPUTF8",
        )
