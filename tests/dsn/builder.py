"""Build DSNs for tests: a compliant default, and keyword knobs to break one thing at a time."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence

from harness.dsn import DsnEnvelope, OriginalEnvelope, RecipientParams

BOUNDARY = "B0UND.1795956219/mx.store.example"

HEADERS: dict[str, str] = {
    "Return-Path": "<>",
    "Date": "Sun, 29 Nov 2026 12:43:39 +0000",
    "From": "Mail Delivery System <MAILER-DAEMON@store.example>",
    "Subject": "Undelivered Mail Returned to Sender",
    "To": "jack@store.example",
    "Auto-Submitted": "auto-replied",
    "MIME-Version": "1.0",
}
PER_MESSAGE: dict[str, str] = {
    "Reporting-MTA": "dns; mx.store.example",
    "Arrival-Date": "Sun, 29 Nov 2026 12:43:39 +0000",
}
RECIPIENT: dict[str, str] = {
    "Final-Recipient": "rfc822; nobody@library.example",
    "Action": "failed",
    "Status": "5.1.1",
    "Remote-MTA": "dns; mx.library.example",
    "Diagnostic-Code": "smtp; 550 5.1.1 <nobody@library.example>: Recipient address rejected: User unknown",
    "Last-Attempt-Date": "Sun, 29 Nov 2026 12:43:40 +0000",
}
RETURNED_HEADERS = (
    "Return-Path: <jack@store.example>\n"
    "From: jack@store.example\n"
    "To: nobody@library.example\n"
    "Subject: S1 unknown user\n"
    "Message-ID: <1@store.example>\n"
)
RETURNED_BODY = "\nHello, this is a test message.\n"

# The context in which the default DSN is fully compliant.
ENVELOPE = OriginalEnvelope(mail_from="jack@store.example", recipients=(RecipientParams("nobody@library.example"),))
DSN_ENVELOPE = DsnEnvelope(mail_from="", rcpt_to=("jack@store.example",))


def _merge(base: Mapping[str, str], changes: Mapping[str, str | None] | None) -> dict[str, str]:
    out = dict(base)
    for k, v in (changes or {}).items():
        if v is None:
            out.pop(k, None)
        elif k.startswith("^"):  # "^Name": put the field first
            out = {k[1:]: v, **{n: x for n, x in out.items() if n != k[1:]}}
        else:
            out[k] = v
    return out


def _fields(values: Mapping[str, str]) -> str:
    # Keys may carry a "#n" suffix so that one name can appear twice.
    return "".join(f"{k.split('#')[0]}: {v}\n" for k, v in values.items())


def build(
    *,
    headers: Mapping[str, str | None] | None = None,
    per_message: Mapping[str, str | None] | None = None,
    recipient: Mapping[str, str | None] | None = None,
    recipients: Sequence[Mapping[str, str | None]] | None = None,
    top_type: str = "multipart/report",
    report_type: str | None = "delivery-status",
    status_type: str = "message/delivery-status",
    status_cte: str | None = None,
    status_text: str | None = None,
    merge_blocks: bool = False,
    returned: str | None = "message",  # "message", "headers" or None
    returned_type: str | None = None,
    returned_body: str = RETURNED_BODY,
    order: Sequence[int] = (0, 1, 2),
    extra_part: str | None = None,
    newline: str = "\n",
) -> bytes:
    """A DSN in the default compliant shape, with the given changes. `recipient` changes the one default
    recipient; `recipients` gives every block (each a change set applied to the default recipient)."""
    head = _merge(HEADERS, headers)
    rtype = f"; report-type={report_type}" if report_type else ""
    head["Content-Type"] = f'{top_type}{rtype};\n\tboundary="{BOUNDARY}"'
    pm = _fields(_merge(PER_MESSAGE, per_message))
    blocks = [_fields(_merge(RECIPIENT, r)) for r in (recipients if recipients is not None else [recipient or {}])]
    text = status_text if status_text is not None else pm + ("" if merge_blocks else "\n") + "\n".join(blocks)
    status_head = f"Content-Type: {status_type}\n"
    if status_cte == "base64":
        body = base64.encodebytes(text.encode("utf-8")).decode("ascii")
        status_head += "Content-Transfer-Encoding: base64\n"
    else:
        body = text
        if status_cte:
            status_head += f"Content-Transfer-Encoding: {status_cte}\n"
    parts = [
        "Content-Type: text/plain; charset=us-ascii\n\nThis is the mail system at host mx.store.example.\n"
        "Your message could not be delivered.\n",
        f"{status_head}\n{body}",
    ]
    if returned is not None:
        ctype = returned_type or ("message/rfc822" if returned == "message" else "text/rfc822-headers")
        content = RETURNED_HEADERS + (returned_body if returned == "message" else "")
        parts.append(f"Content-Type: {ctype}\n\n{content}")
    ordered = [parts[i] for i in order if i < len(parts)]
    if extra_part is not None:
        ordered.append(extra_part)
    body_text = "This is a MIME-encapsulated message.\n\n"
    body_text += "".join(f"--{BOUNDARY}\n{p}\n" for p in ordered) + f"--{BOUNDARY}--\n"
    message = _fields(head) + "\n" + body_text
    return message.replace("\n", newline).encode("utf-8")
