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
    """The field's name as written."""
    value: str
    """Its value, unfolded, without the leading space."""
    line: int
    """1-based line number inside the (decoded) delivery-status part."""

    @property
    def key(self) -> str:
        """The name in lower case."""
        return self.name.lower()


@dataclass(frozen=True)
class Block:
    """A group of fields between blank lines, plus any line that was not a field."""

    fields: tuple[Field, ...]
    """Its fields, in order."""
    malformed: tuple[str, ...] = ()
    """The lines that were not fields."""
    first_line: int = 1
    """The line where the block starts."""


@dataclass(frozen=True)
class TypedValue:
    """`type; value` (Reporting-MTA, Remote-MTA, Final-Recipient, Diagnostic-Code ...).

    `type` is lower-cased with comments removed; empty when the field had no ';'. `value` is stripped text.
    """

    type: str
    """The type before ';', lower case, comments removed ("dns", "rfc822", "smtp"); "" without ';'."""
    value: str
    """The text after ';', stripped."""
    raw: str
    """The field's value as written."""

    def __str__(self) -> str:
        return f"{self.type}; {self.value}" if self.type else self.value


@dataclass(frozen=True)
class Address(TypedValue):
    """A recipient address field. `address` drops the angle brackets some MTAs add; `value` keeps them."""

    @property
    def address(self) -> str:
        """The address without angle brackets."""
        v = self.value.strip()
        if v.startswith("<") and v.endswith(">"):
            v = v[1:-1].strip()
        return v


@dataclass(frozen=True)
class DateValue:
    """A date field (Arrival-Date, Last-Attempt-Date, Will-Retry-Until)."""

    raw: str
    """As written."""
    parsed: datetime | None
    """The date, None when it is not an RFC 5322 date-time."""
    numeric_zone: bool
    """Whether the zone is +hhmm/-hhmm (rule S-5)."""


@dataclass(frozen=True)
class PerMessage:
    """The per-message fields of the delivery-status part (`DSN.per_message`); None: the field is absent."""

    reporting_mta: TypedValue | None = None
    """Reporting-MTA: the server that wrote the DSN ("dns; mx.store.example")."""
    original_envelope_id: str | None = None
    """Original-Envelope-Id: the ENVID of the original message."""
    dsn_gateway: TypedValue | None = None
    """DSN-Gateway."""
    received_from_mta: TypedValue | None = None
    """Received-From-MTA: where the reporting server got the message."""
    arrival_date: DateValue | None = None
    """Arrival-Date."""
    extensions: tuple[Field, ...] = ()
    """The X- fields."""
    fields: tuple[Field, ...] = ()
    """Every field, in order."""


@dataclass(frozen=True)
class RecipientBlock:
    """The fields about one recipient (an element of `DSN.recipients`); None: the field is absent."""

    final_recipient: Address | None = None
    """Final-Recipient: the recipient the reporting server tried ("rfc822; jill@library.example")."""
    original_recipient: Address | None = None
    """Original-Recipient: the recipient as first given (ORCPT), where the server knew it."""
    action: str | None = None
    """Action, lower case, comments removed: failed, delayed, delivered, relayed or expanded."""
    action_raw: str | None = None
    """Action as written."""
    status: str | None = None
    """Status "n.n.n" as written (digits only); None when absent or not of that shape."""
    status_raw: str | None = None
    """Status as written."""
    status_comment: str = ""
    """A comment after the status code."""
    remote_mta: TypedValue | None = None
    """Remote-MTA: the server that refused or failed the delivery ("dns; mx.library.example")."""
    diagnostic_code: TypedValue | None = None
    """Diagnostic-Code: what that server said ("smtp; 550 5.1.1 ...")."""
    last_attempt_date: DateValue | None = None
    """Last-Attempt-Date."""
    final_log_id: str | None = None
    """Final-Log-Id (Postfix: the queue id)."""
    will_retry_until: DateValue | None = None
    """Will-Retry-Until (a delayed DSN)."""
    extensions: tuple[Field, ...] = ()
    """The X- fields."""
    fields: tuple[Field, ...] = ()
    """Every field of the block, in order."""

    @property
    def address(self) -> str | None:
        """The Final-Recipient address without its type."""
        return self.final_recipient.address if self.final_recipient else None

    @property
    def original_address(self) -> str | None:
        """The Original-Recipient address without its type."""
        return self.original_recipient.address if self.original_recipient else None

    def extension(self, name: str) -> str | None:
        """The value of an X- field of the block, by name in any case; None when absent."""
        low = name.lower()
        for f in self.extensions:
            if f.key == low:
                return f.value
        return None


@dataclass(frozen=True)
class MimePart:
    """One MIME entity of the report. `path` numbers parts like IMAP: "1", "2", "1.2"."""

    path: str
    """Its number, as IMAP numbers parts ("1", "2", "1.2")."""
    content_type: str
    """type/subtype, lower case."""
    transfer_encoding: str | None
    """Content-Transfer-Encoding, lower case; None when the header is absent (7bit by default)."""
    size: int
    """Bytes of the body as transmitted."""
    eight_bit: bool
    """Whether the body as transmitted holds octets above 127."""
    children: tuple[MimePart, ...] = ()
    """Its parts, when it is multipart."""
    params: tuple[tuple[str, str], ...] = ()
    """The Content-Type parameters, (name lower case, value)."""

    def param(self, name: str) -> str | None:
        """A Content-Type parameter by name in any case; None when absent."""
        low = name.lower()
        for k, v in self.params:
            if k == low:
                return v
        return None


@dataclass(frozen=True)
class ReturnedContent:
    """The third part: the returned message (`kind="message"`) or its header section only (`"headers"`)."""

    kind: Literal["message", "headers", "other"]
    """"message" (the whole message), "headers" (its header section) or "other"."""
    content_type: str
    """The part's type/subtype, lower case."""
    transfer_encoding: str | None
    """Content-Transfer-Encoding, lower case; None when absent."""
    headers: tuple[tuple[str, str], ...]
    """The returned message's header fields, (name, value) in order."""
    has_body: bool
    """Whether a body was returned too."""
    size: int
    """Bytes of the part as transmitted."""
    eight_bit: bool
    """Whether it holds octets above 127."""

    def header(self, name: str) -> str | None:
        """The returned message's first header field of that name (any case); None when absent."""
        low = name.lower()
        for k, v in self.headers:
            if k.lower() == low:
                return v
        return None


@dataclass(frozen=True)
class _Message:
    """What every message read has, a DSN or not."""

    source: str
    """Where it was read from (a file name, "<bytes>")."""
    line_endings: LineEndings
    """How its lines end: CRLF, LF, CR, mixed or none."""
    headers: tuple[tuple[str, str], ...]
    """Its top-level header fields, (name, unfolded value) in order."""
    content_type: str
    """Its top-level type/subtype, lower case."""

    def header(self, name: str) -> str | None:
        """The first header field of that name (unfolded), or None."""
        low = name.lower()
        for k, v in self.headers:
            if k.lower() == low:
                return v
        return None

    def headers_named(self, name: str) -> tuple[str, ...]:
        """Every header field of that name, in order."""
        low = name.lower()
        return tuple(v for k, v in self.headers if k.lower() == low)


@dataclass(frozen=True)
class DSN(_Message):
    """A message with a machine-readable delivery-status part (classic or RFC 6533 global)."""

    report_type: str | None = None
    """The report-type parameter, lower case ("delivery-status")."""
    parts: tuple[MimePart, ...] = ()
    """The top-level parts (empty when the message is not multipart)."""
    status_part: MimePart | None = None
    """The delivery-status part."""
    status_text: str = ""
    """The delivery-status part's text, transfer-decoded, LF line ends."""
    blocks: tuple[Block, ...] = ()
    """The delivery-status part's blocks, as read (the per-message one first)."""
    per_message: PerMessage = field(default_factory=PerMessage)
    """The per-message fields (Reporting-MTA, Arrival-Date...)."""
    recipients: tuple[RecipientBlock, ...] = ()
    """One block per recipient (Final-Recipient, Action, Status, Remote-MTA, Diagnostic-Code...)."""
    returned: ReturnedContent | None = None
    """The third part: the returned message or its header section; None when there is none."""
    is_dsn: Literal[True] = True
    """Always True (a `NotADSN` has False): ``if parsed.is_dsn:``."""

    @property
    def reporting_mta(self) -> str | None:
        """The Reporting-MTA's name without its type ("mx.store.example")."""
        rm = self.per_message.reporting_mta
        return rm.value if rm else None

    @property
    def is_global(self) -> bool:
        """Whether the status part is RFC 6533's message/global-delivery-status."""
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
    """What it is instead: empty, plain-text-bounce, broken-dsn, feedback-report, other-report, auto-reply or
    ordinary."""
    reason: str = ""
    """Why it is not a DSN, in one line."""
    declared_dsn: bool = False
    """It says multipart/report; report-type=delivery-status, yet has no status part."""
    is_dsn: Literal[False] = False
    """Always False (a `DSN` has True)."""


ParseResult = DSN | NotADSN


class NotADSNError(MailharnessError, ValueError):
    """Raised by `load_dsn` (and assert_dsn) when the message is not a DSN."""

    def __init__(self, result: NotADSN) -> None:
        super().__init__(f"{result.source}: not a DSN ({result.kind}): {result.reason}")
        self.result = result
