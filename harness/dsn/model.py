"""The typed result of reading a message: a DSN (RFC 3464 / RFC 6533) or the reason it is not one.

Everything here is plain frozen data; `parse.py` builds it and the rules read it. Values keep what the message
wrote (`raw`) next to the interpreted form, so a finding can quote the offending text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from harness.errors import MailharnessError

LineEndings = Literal["CRLF", "LF", "CR", "mixed", "none"]

ACTIONS = ("failed", "delayed", "delivered", "relayed", "expanded")


@dataclass(frozen=True)
class Field:
    """One field of a delivery-status block, unfolded. `name` as written; `value` without the leading space."""

    name: str
    value: str
    line: int  # 1-based line number inside the (decoded) delivery-status part

    @property
    def key(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Block:
    """A group of fields between blank lines, plus any line that was not a field."""

    fields: tuple[Field, ...]
    malformed: tuple[str, ...] = ()
    first_line: int = 1


@dataclass(frozen=True)
class TypedValue:
    """`type; value` (Reporting-MTA, Remote-MTA, Final-Recipient, Diagnostic-Code ...).

    `type` is lower-cased with comments removed; empty when the field had no ';'. `value` is stripped text.
    """

    type: str
    value: str
    raw: str

    def __str__(self) -> str:
        return f"{self.type}; {self.value}" if self.type else self.value


@dataclass(frozen=True)
class Address(TypedValue):
    """A recipient address field. `address` drops the angle brackets some MTAs add; `value` keeps them."""

    @property
    def address(self) -> str:
        v = self.value.strip()
        if v.startswith("<") and v.endswith(">"):
            v = v[1:-1].strip()
        return v


@dataclass(frozen=True)
class DateValue:
    raw: str
    parsed: datetime | None  # None when not an RFC 5322 date-time
    numeric_zone: bool  # the zone is +hhmm/-hhmm (S-5)


@dataclass(frozen=True)
class PerMessage:
    reporting_mta: TypedValue | None = None
    original_envelope_id: str | None = None
    dsn_gateway: TypedValue | None = None
    received_from_mta: TypedValue | None = None
    arrival_date: DateValue | None = None
    extensions: tuple[Field, ...] = ()  # X- fields
    fields: tuple[Field, ...] = ()  # every field, in order


@dataclass(frozen=True)
class RecipientBlock:
    final_recipient: Address | None = None
    original_recipient: Address | None = None
    action: str | None = None  # lower case, comments removed
    action_raw: str | None = None
    status: str | None = None  # "n.n.n" as written (digits only); None when absent or not of that shape
    status_raw: str | None = None
    status_comment: str = ""
    remote_mta: TypedValue | None = None
    diagnostic_code: TypedValue | None = None
    last_attempt_date: DateValue | None = None
    final_log_id: str | None = None
    will_retry_until: DateValue | None = None
    extensions: tuple[Field, ...] = ()
    fields: tuple[Field, ...] = ()

    @property
    def address(self) -> str | None:
        """The Final-Recipient address without its type."""
        return self.final_recipient.address if self.final_recipient else None

    @property
    def original_address(self) -> str | None:
        return self.original_recipient.address if self.original_recipient else None

    def extension(self, name: str) -> str | None:
        low = name.lower()
        for f in self.extensions:
            if f.key == low:
                return f.value
        return None


@dataclass(frozen=True)
class MimePart:
    """One MIME entity of the report. `path` numbers parts like IMAP: "1", "2", "1.2"."""

    path: str
    content_type: str  # lower case type/subtype
    transfer_encoding: str | None  # lower case, None when the header is absent (7bit by default)
    size: int  # bytes of the body as transmitted
    eight_bit: bool  # the body as transmitted holds octets above 127
    children: tuple[MimePart, ...] = ()
    params: tuple[tuple[str, str], ...] = ()

    def param(self, name: str) -> str | None:
        low = name.lower()
        for k, v in self.params:
            if k == low:
                return v
        return None


@dataclass(frozen=True)
class ReturnedContent:
    """The third part: the returned message (`kind="message"`) or its header section only (`"headers"`)."""

    kind: Literal["message", "headers", "other"]
    content_type: str
    transfer_encoding: str | None
    headers: tuple[tuple[str, str], ...]
    has_body: bool
    size: int
    eight_bit: bool

    def header(self, name: str) -> str | None:
        low = name.lower()
        for k, v in self.headers:
            if k.lower() == low:
                return v
        return None


@dataclass(frozen=True)
class _Message:
    source: str
    line_endings: LineEndings
    headers: tuple[tuple[str, str], ...]
    content_type: str

    def header(self, name: str) -> str | None:
        """The first header field of that name (unfolded), or None."""
        low = name.lower()
        for k, v in self.headers:
            if k.lower() == low:
                return v
        return None

    def headers_named(self, name: str) -> tuple[str, ...]:
        low = name.lower()
        return tuple(v for k, v in self.headers if k.lower() == low)


@dataclass(frozen=True)
class DSN(_Message):
    """A message with a machine-readable delivery-status part (classic or RFC 6533 global)."""

    report_type: str | None = None  # the report-type parameter, lower case
    parts: tuple[MimePart, ...] = ()  # the top-level parts (empty when the message is not multipart)
    status_part: MimePart | None = None
    status_text: str = ""  # the delivery-status part, transfer-decoded, LF line ends
    blocks: tuple[Block, ...] = ()
    per_message: PerMessage = field(default_factory=PerMessage)
    recipients: tuple[RecipientBlock, ...] = ()
    returned: ReturnedContent | None = None
    is_dsn: Literal[True] = True

    @property
    def reporting_mta(self) -> str | None:
        rm = self.per_message.reporting_mta
        return rm.value if rm else None

    @property
    def is_global(self) -> bool:
        return self.status_part is not None and self.status_part.content_type == "message/global-delivery-status"

    def recipient(self, address: str) -> RecipientBlock | None:
        """The recipient whose Final-Recipient (or else Original-Recipient) is `address`, case-insensitively."""
        low = address.lower()
        for r in self.recipients:
            if (r.address or "").lower() == low:
                return r
        for r in self.recipients:
            if (r.original_address or "").lower() == low:
                return r
        return None


NotDsnKind = Literal[
    "empty",
    "plain-text-bounce",
    "broken-dsn",
    "feedback-report",
    "other-report",
    "auto-reply",
    "ordinary",
]


@dataclass(frozen=True)
class NotADSN(_Message):
    """A message that is not a DSN, with what it is instead and why."""

    kind: NotDsnKind = "ordinary"
    reason: str = ""
    declared_dsn: bool = False  # it says multipart/report; report-type=delivery-status yet has no status part
    is_dsn: Literal[False] = False


ParseResult = DSN | NotADSN


class NotADSNError(MailharnessError, ValueError):
    """Raised by `load_dsn` (and assert_dsn) when the message is not a DSN."""

    def __init__(self, result: NotADSN) -> None:
        super().__init__(f"{result.source}: not a DSN ({result.kind}): {result.reason}")
        self.result = result
