"""Enhanced mail system status codes (RFC 3463; IANA registry per RFC 5248) and the harness's expected codes."""

from __future__ import annotations

import re

# subject.detail pairs registered for use with class 2, 4 or 5 (RFC 3463, 3886, 4468, 4954, 5248, 6531, 6710,
# 7293, 7372, 7505, 8689 and the IANA "Enumerated Status Codes" registry).
REGISTERED: frozenset[str] = frozenset(
    ["0.0"]
    + [f"1.{d}" for d in range(0, 11)]
    + [f"2.{d}" for d in range(0, 5)]
    + [f"3.{d}" for d in range(0, 7)]
    + [f"4.{d}" for d in range(0, 8)]
    + [f"5.{d}" for d in range(0, 7)]
    + [f"6.{d}" for d in range(0, 11)]
    + [f"7.{d}" for d in range(0, 31)]
)

# What the harness expects for each fault (docs/dsn-checklist.md, E-3).
EXPECTED_BY_FAULT: dict[str, tuple[str, ...]] = {
    "unknown user": ("5.1.1",),
    "unknown domain": ("5.1.2", "5.4.4"),
    "mailbox full": ("5.2.2", "4.2.2"),
    "system storage full": ("4.3.1", "4.3.0"),
    "message too big": ("5.2.3", "5.3.4"),
    "routing loop": ("5.4.6",),
    "delivery time expired": ("4.4.7",),
    "policy": ("5.7.1",),
    "null mx": ("5.1.10",),
}

_ENHANCED_AFTER_REPLY = re.compile(r"^\s*([2-5]\d\d)[ -]+(\d+)\.(\d+)\.(\d+)\b")


def is_registered(code: str) -> bool:
    """Whether class.subject.detail is a registered enhanced status code."""
    parts = code.split(".")
    if len(parts) != 3 or parts[0] not in ("2", "4", "5") or not all(p.isdigit() for p in parts):
        return False
    return f"{int(parts[1])}.{int(parts[2])}" in REGISTERED


def reply_and_enhanced(text: str) -> tuple[str, str] | None:
    """(reply code, enhanced code) at the start of an SMTP reply such as '550 5.1.1 User unknown'."""
    m = _ENHANCED_AFTER_REPLY.match(text)
    if m is None:
        return None
    return m.group(1), f"{m.group(2)}.{m.group(3)}.{m.group(4)}"
