"""DSN (RFC 3464 / RFC 6533 bounce) parsing, checklist validation and pytest assertions.

from harness.dsn import parse_dsn, validate, assert_dsn
dsn = parse_dsn(raw_bytes)          # DSN, or NotADSN with .kind and .reason
findings = validate(dsn, "strict")  # Finding(rule="S-2", level="error", ref=..., message=...)
assert_dsn(dsn, action="failed", status="5.1.1", remote_mta="mx.library.example")
"""

from harness.dsn.assertions import ANY, assert_dsn, assertrepr_compare
from harness.dsn.catalog import RULES, RuleInfo
from harness.dsn.context import DsnEnvelope, OriginalEnvelope, RecipientParams
from harness.dsn.findings import Finding, Level
from harness.dsn.model import (
    DSN,
    Address,
    Block,
    DateValue,
    Field,
    MimePart,
    NotADSN,
    NotADSNError,
    ParseResult,
    PerMessage,
    RecipientBlock,
    ReturnedContent,
    TypedValue,
)
from harness.dsn.parse import load_dsn, parse_dsn
from harness.dsn.profiles import PROFILES, Profile
from harness.dsn.validate import errors, validate, verdict, warnings

__all__ = [
    "ANY",
    "DSN",
    "PROFILES",
    "RULES",
    "Address",
    "Block",
    "DateValue",
    "DsnEnvelope",
    "Field",
    "Finding",
    "Level",
    "MimePart",
    "NotADSN",
    "NotADSNError",
    "OriginalEnvelope",
    "ParseResult",
    "PerMessage",
    "Profile",
    "RecipientBlock",
    "RecipientParams",
    "ReturnedContent",
    "RuleInfo",
    "TypedValue",
    "assert_dsn",
    "assertrepr_compare",
    "errors",
    "load_dsn",
    "parse_dsn",
    "validate",
    "verdict",
    "warnings",
]
