"""A small, tolerant MIME reader for reports.

The stdlib parser rewrites message/delivery-status bodies into header objects (losing the raw text, failing on
base64 bodies) and hides where parts begin and end. Reports are small, so this module splits bodies itself and only
uses `email` for header sections and parameters. Text is handled as latin-1 (one char per octet) with LF line ends,
so 8-bit octets stay visible and nothing here can fail on undecodable bytes.
"""

from __future__ import annotations

import base64
import binascii
import logging
import quopri
import re
from dataclasses import dataclass
from email.message import Message
from email.parser import Parser
from email.policy import compat32

from harness.dsn.model import LineEndings, MimePart

log = logging.getLogger("mailharness")

MAX_DEPTH = 8
_HEADER_PARSER = Parser(policy=compat32)
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_EIGHT_BIT = re.compile(r"[\x80-\xff]")


def normalise_line_endings(data: bytes) -> tuple[bytes, LineEndings]:
    """LF-only bytes and the style the input used."""
    crlf = data.count(b"\r\n")
    cr = data.count(b"\r") - crlf
    lf = data.count(b"\n") - crlf
    kinds = [name for name, n in (("CRLF", crlf), ("CR", cr), ("LF", lf)) if n]
    style: LineEndings = "none" if not kinds else ("mixed" if len(kinds) > 1 else kinds[0])  # type: ignore[assignment]
    if crlf:
        data = data.replace(b"\r\n", b"\n")
    if cr:
        data = data.replace(b"\r", b"\n")
    return data, style


@dataclass(frozen=True)
class Entity:
    """A parsed MIME entity: its header fields, its raw body (latin-1 text) and its children when multipart."""

    message: Message
    body: str
    children: tuple[Entity, ...]
    path: str

    @property
    def content_type(self) -> str:
        return self.message.get_content_type().lower()

    @property
    def transfer_encoding(self) -> str | None:
        cte = self.message.get("Content-Transfer-Encoding")
        if cte is None:
            return None
        return unfold(str(cte)).strip().lower() or None

    def headers(self) -> tuple[tuple[str, str], ...]:
        return tuple((k, unfold(str(v)).strip()) for k, v in self.message.items())

    def param(self, name: str) -> str | None:
        try:
            value = self.message.get_param(name)
        except Exception as exc:  # noqa: BLE001 - email's compat32 parameter decoding raises ValueError,
            # IndexError, LookupError, UnicodeError... on hostile headers; an unreadable parameter reads as
            # absent, and the validator reports the missing parameter (the reader must not stop on it).
            log.debug("unreadable %s parameter in part %r: %s: %s", name, self.path, type(exc).__name__, exc)
            return None
        if value is None or isinstance(value, tuple):
            return None if value is None else str(value[2])
        return str(value).strip().lower()

    def params(self) -> tuple[tuple[str, str], ...]:
        try:
            raw = self.message.get_params() or []
        except Exception as exc:  # noqa: BLE001 - as in param(): unreadable parameters read as none at all
            log.debug("unreadable parameters in part %r: %s: %s", self.path, type(exc).__name__, exc)
            return ()
        out: list[tuple[str, str]] = []
        for k, v in raw[1:]:
            out.append((str(k).lower(), str(v[2] if isinstance(v, tuple) else v)))
        return tuple(out)

    def decoded_body(self) -> str:
        """The body with base64 / quoted-printable undone (latin-1 text); undecodable input is returned as is."""
        return decode_body(self.body, self.transfer_encoding)

    def to_part(self) -> MimePart:
        raw = self.body.encode("latin-1", "replace")
        return MimePart(
            path=self.path,
            content_type=self.content_type,
            transfer_encoding=self.transfer_encoding,
            size=len(raw),
            eight_bit=bool(_EIGHT_BIT.search(self.body)),
            children=tuple(c.to_part() for c in self.children),
            params=self.params(),
        )


def unfold(value: str) -> str:
    return _FOLD.sub("", value)


def decode_body(body: str, cte: str | None) -> str:
    if cte == "base64":
        try:
            return base64.b64decode(re.sub(r"[^A-Za-z0-9+/=]", "", body) + "===").decode("latin-1")
        except (binascii.Error, ValueError):
            return body
    if cte == "quoted-printable":
        return quopri.decodestring(body.encode("latin-1")).decode("latin-1")
    return body


def parse_entity(text: str, path: str = "", depth: int = 0) -> Entity:
    """Parse LF-normalised latin-1 text into an entity tree (multiparts split, message/* left as bodies)."""
    message = _HEADER_PARSER.parsestr(text, headersonly=True)
    payload = message.get_payload()
    body = payload if isinstance(payload, str) else ""
    children: tuple[Entity, ...] = ()
    if depth < MAX_DEPTH and message.get_content_maintype().lower() == "multipart":
        boundary = _boundary(message)
        if boundary:
            parts = split_multipart(body, boundary)
            children = tuple(
                parse_entity(p, f"{path}.{i}" if path else str(i), depth + 1) for i, p in enumerate(parts, start=1)
            )
    return Entity(message=message, body=body, children=children, path=path)


def _boundary(message: Message) -> str | None:
    try:
        b = message.get_boundary()
    except Exception as exc:  # noqa: BLE001 - as in Entity.param(): an unreadable boundary reads as none, so the
        # multipart is not split and the validator reports its missing parts
        log.debug("unreadable multipart boundary: %s: %s", type(exc).__name__, exc)
        return None
    return b or None


def split_multipart(body: str, boundary: str) -> list[str]:
    """The body parts between delimiter lines (RFC 2046 s5.1.1). Without a close delimiter, the last part runs
    to the end. The line break before a delimiter belongs to the delimiter."""
    delim = re.compile(r"(?:^|\n)--" + re.escape(boundary) + r"(--)?[ \t]*(?:\n|$)")
    parts: list[str] = []
    start: int | None = None
    for m in delim.finditer(body):
        if start is not None:
            parts.append(body[start : m.start()])
        if m.group(1):
            start = None
            break
        start = m.end()
    if start is not None:
        parts.append(body[start:])
    return parts


def parse_headers_of(text: str) -> tuple[tuple[tuple[str, str], ...], bool]:
    """The header fields of an embedded message (or a bare header section) and whether a body follows."""
    message = _HEADER_PARSER.parsestr(text, headersonly=True)
    payload = message.get_payload()
    rest = payload if isinstance(payload, str) else ""
    headers = tuple((k, unfold(str(v)).strip()) for k, v in message.items())
    return headers, bool(rest.strip())


def walk(entity: Entity) -> list[Entity]:
    out = [entity]
    for child in entity.children:
        out.extend(walk(child))
    return out
