"""Context for the rules a message alone cannot settle: the original message's SMTP envelope, and the DSN's own.

Addresses are bare (`jack@store.example`, `""` for the null reverse-path). ENVID and ORCPT are given as they
went on the wire (xtext, RFC 3461 s4); `decoded_*` give the values a DSN must echo.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email.utils import parseaddr
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from harness.dsn.model import DSN

NotifyKeyword = Literal["NEVER", "SUCCESS", "FAILURE", "DELAY"]
_XTEXT_BAD = re.compile(r"\+(?![0-9A-F]{2})|[^!-~]|=")


def xtext_decode(value: str) -> str:
    """Undo xtext's '+XX' escapes (RFC 3461 s4). Malformed escapes are left as written."""
    return re.sub(r"\+([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), value)


def xtext_problem(value: str) -> str | None:
    """Why `value` is not valid xtext, or None: '+' must start '+XX' (upper-case hex); '=' and octets outside
    33-126 must be escaped."""
    m = _XTEXT_BAD.search(value)
    if m is None:
        return None
    ch = m.group(0)
    if ch == "+":
        return f"'+' at {m.start()} not followed by two upper-case hex digits"
    return f"character {ch!r} at {m.start()} must be written as +{ord(ch):02X}"


def _bare(address: str) -> str:
    a = address.strip()
    if a.startswith("<") and a.endswith(">"):
        a = a[1:-1].strip()
    return a


def _params(values: Mapping[str, str | None] | Iterable[tuple[str, str | None]] | None) -> Mapping[str, str]:
    items = values.items() if isinstance(values, Mapping) else (values or ())
    return MappingProxyType({str(k).upper(): "" if v is None else str(v) for k, v in items})


@dataclass(frozen=True)
class RecipientParams:
    """One RCPT TO of the original transaction. `notify` None means the parameter was absent."""

    address: str
    """The address of RCPT TO."""
    notify: frozenset[str] | None = None
    """NOTIFY's keywords (NEVER, SUCCESS, FAILURE, DELAY); None when the parameter was absent."""
    orcpt: str | None = None
    """ORCPT as sent ("rfc822;jill+40x@library.example"); None when absent."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "address", _bare(self.address))
        if self.notify is not None:
            object.__setattr__(self, "notify", frozenset(k.upper() for k in self.notify))

    @property
    def decoded_orcpt(self) -> tuple[str, str] | None:
        """(address type lower-cased, decoded address) of ORCPT."""
        if self.orcpt is None:
            return None
        t, _, v = self.orcpt.partition(";")
        return t.strip().lower(), xtext_decode(v.strip())

    def wants(self, keyword: str) -> bool:
        """Whether a DSN of this kind was requested. Absent NOTIFY implies FAILURE (and DELAY may be sent)."""
        if self.notify is None:
            return keyword.upper() in ("FAILURE", "DELAY")
        return keyword.upper() in self.notify


@dataclass(frozen=True)
class OriginalEnvelope:
    """The SMTP envelope of the message whose fate the DSN reports: with it (``assert_dsn(...,
    envelope=sent.original_envelope())``), the rules that compare the DSN with what was sent are checked too."""

    mail_from: str
    """MAIL FROM of the original message."""
    recipients: tuple[RecipientParams, ...] = ()
    """Its RCPT TOs, with their NOTIFY and ORCPT."""
    ret: Literal["FULL", "HDRS"] | None = None
    """RET as sent; None when absent."""
    envid: str | None = None
    """ENVID as sent (xtext); None when absent."""
    header_from: str | None = None
    """The message's From: address, when it differs from MAIL FROM."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "mail_from", _bare(self.mail_from))
        object.__setattr__(self, "recipients", tuple(self.recipients))
        if self.ret is not None:
            object.__setattr__(self, "ret", self.ret.upper())
        if self.header_from is not None:
            object.__setattr__(self, "header_from", parseaddr(self.header_from)[1] or _bare(self.header_from))

    @property
    def decoded_envid(self) -> str | None:
        """ENVID decoded from xtext."""
        return xtext_decode(self.envid) if self.envid is not None else None

    def find(self, address: str | None, original: str | None = None) -> RecipientParams | None:
        """The original recipient a DSN recipient stands for: by ORCPT value, then by RCPT address."""
        for candidate in (original, address):
            if not candidate:
                continue
            low = candidate.lower()
            for r in self.recipients:
                dec = r.decoded_orcpt
                if dec is not None and dec[1].lower() == low:
                    return r
            for r in self.recipients:
                if r.address.lower() == low:
                    return r
        return None


@dataclass(frozen=True)
class DsnEnvelope:
    """The SMTP envelope the DSN itself travelled with (from the sink's transcript, or the delivered copy)."""

    mail_from: str
    """MAIL FROM of the DSN (it must be the null sender, "")."""
    rcpt_to: tuple[str, ...] = ()
    """Its RCPT TOs."""
    mail_params: Mapping[str, str] = field(default_factory=dict)
    """Its MAIL FROM parameters ({"RET": "HDRS", "SMTPUTF8": ""})."""
    rcpt_params: Mapping[str, str] = field(default_factory=dict)
    """Its RCPT TO parameters ({"NOTIFY": "NEVER"})."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "mail_from", _bare(self.mail_from))
        rcpts = (self.rcpt_to,) if isinstance(self.rcpt_to, str) else self.rcpt_to
        object.__setattr__(self, "rcpt_to", tuple(_bare(r) for r in rcpts))
        object.__setattr__(self, "mail_params", _params(self.mail_params))
        object.__setattr__(self, "rcpt_params", _params(self.rcpt_params))

    @classmethod
    def from_delivered(cls, dsn: DSN) -> DsnEnvelope | None:
        """The envelope as a local delivery records it: Return-Path: (MAIL FROM) and Delivered-To: or
        X-Original-To: (RCPT TO). None when the copy has no Return-Path. MAIL parameters are not recorded."""
        rp = dsn.header("Return-Path")
        if rp is None:
            return None
        to = dsn.header("Delivered-To") or dsn.header("X-Original-To")
        return cls(mail_from=rp, rcpt_to=(to,) if to else ())
