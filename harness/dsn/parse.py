"""parse_dsn: any message (bytes, text, a file path or an email.message.Message) -> DSN or NotADSN."""

from __future__ import annotations

import os
from email.message import Message
from email.policy import compat32
from pathlib import Path
from typing import Union

from harness.dsn import fields
from harness.dsn.classify import STATUS_TYPES, classify
from harness.dsn.mime import Entity, normalise_line_endings, parse_entity, parse_headers_of, walk
from harness.dsn.model import DSN, NotADSN, NotADSNError, ParseResult, ReturnedContent

from ..errors import WrongKind
from ..keywords import keywords

Source = Union[bytes, bytearray, memoryview, str, "os.PathLike[str]", Message, DSN]

RETURNED_TYPES = {
    "message/rfc822": "message",
    "message/global": "message",
    "text/rfc822-headers": "headers",
    "message/global-headers": "headers",
}


def read_source(src: Source, source: str | None = None) -> tuple[bytes, str]:
    """The octets of a message and a name for it.

    A `str` is message text unless it has no line break and names an existing file; pass a `pathlib.Path` to be
    explicit. OSError propagates when a file cannot be read.
    """
    if isinstance(src, (bytes, bytearray, memoryview)):
        return bytes(src), source or "<bytes>"
    if isinstance(src, Message):
        try:
            data = src.as_bytes(policy=compat32)
        except (UnicodeError, LookupError, TypeError, ValueError):
            data = src.as_string(policy=compat32).encode("utf-8", "surrogateescape")
        return data, source or "<message>"
    if isinstance(src, str):
        if "\n" not in src and "\r" not in src and src and os.path.isfile(src):
            return Path(src).read_bytes(), source or src
        return src.encode("utf-8", "surrogateescape"), source or "<text>"
    if isinstance(src, os.PathLike):
        path = Path(os.fspath(src))
        return path.read_bytes(), source or str(path)
    raise WrongKind(f"cannot read a message from {type(src).__name__}")


@keywords
def parse_dsn(src: Source, *, source: str | None = None) -> ParseResult:
    """Read a message into a DSN, or a NotADSN saying what it is and why. Never raises on message content
    (only OSError for an unreadable file and TypeError for an unsupported argument)."""
    if isinstance(src, (DSN, NotADSN)):
        return src
    data, name = read_source(src, source)
    return parse_bytes(data, name)


def load_dsn(src: Source, *, source: str | None = None) -> DSN:
    """As parse_dsn, but raise NotADSNError when the message is not a DSN."""
    result = parse_dsn(src, source=source)
    if isinstance(result, NotADSN):
        raise NotADSNError(result)
    return result


def parse_bytes(data: bytes, source: str = "<bytes>") -> ParseResult:
    normalised, endings = normalise_line_endings(data)
    text = normalised.decode("latin-1")
    if not text.strip():
        return NotADSN(
            source=source,
            line_endings=endings,
            headers=(),
            content_type="",
            kind="empty",
            reason="the input is empty",
        )
    entity = parse_entity(text)
    headers = tuple((k, _text(v)) for k, v in entity.headers())
    status = next((e for e in walk(entity) if e.content_type in STATUS_TYPES), None)
    if status is None:
        kind, reason, declared = classify(entity)
        return NotADSN(
            source=source,
            line_endings=endings,
            headers=headers,
            content_type=entity.content_type,
            kind=kind,
            reason=reason,
            declared_dsn=declared,
        )
    status_text = _text(status.decoded_body())
    blocks = fields.split_blocks(status_text)
    per_message, recipients = fields.interpret(blocks)
    report_type = entity.param("report-type") if entity.content_type == "multipart/report" else None
    return DSN(
        source=source,
        line_endings=endings,
        headers=headers,
        content_type=entity.content_type,
        report_type=report_type,
        parts=tuple(c.to_part() for c in entity.children),
        status_part=status.to_part(),
        status_text=status_text,
        blocks=blocks,
        per_message=per_message,
        recipients=recipients,
        returned=_returned(entity, status),
    )


def _returned(top: Entity, status: Entity) -> ReturnedContent | None:
    """The part after the delivery-status part, among the status part's siblings."""
    parent = next((e for e in walk(top) if any(c is status for c in e.children)), None)
    if parent is None:
        return None
    siblings = list(parent.children)
    after = siblings[next(i for i, c in enumerate(siblings) if c is status) + 1 :]
    if not after:
        return None
    part = after[0]
    kind = RETURNED_TYPES.get(part.content_type, "other")
    headers: tuple[tuple[str, str], ...] = ()
    has_body = False
    if kind != "other" or part.content_type.startswith("text/"):
        raw_headers, has_body = parse_headers_of(part.decoded_body())
        headers = tuple((k, _text(v)) for k, v in raw_headers)
    p = part.to_part()
    return ReturnedContent(
        kind=kind,  # type: ignore[arg-type]
        content_type=part.content_type,
        transfer_encoding=part.transfer_encoding,
        headers=headers,
        has_body=has_body,
        size=p.size,
        eight_bit=p.eight_bit,
    )


def _text(latin: str) -> str:
    """latin-1 text back to what the octets meant: UTF-8 when they are valid UTF-8, else latin-1."""
    if latin.isascii():
        return latin
    raw = latin.encode("latin-1", "replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return latin
