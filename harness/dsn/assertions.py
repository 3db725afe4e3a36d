"""assert_dsn: one call that checks a DSN is compliant and says what it expected; and pytest's comparison text."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from harness.dsn.context import DsnEnvelope, OriginalEnvelope
from harness.dsn.findings import Finding
from harness.dsn.model import DSN, NotADSN, RecipientBlock
from harness.dsn.parse import Source, parse_dsn
from harness.dsn.summary import flatten, recipient_dict
from harness.dsn.validate import validate
from harness.errors import MailharnessError
from harness.keywords import keywords


class DsnAssertionError(MailharnessError, AssertionError):
    """assert_dsn's failure: what was expected of the DSN, what it says, and the checklist's findings."""


class _Any:
    """Sentinel: do not check this expectation."""

    _instance: _Any | None = None

    def __new__(cls) -> _Any:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "ANY"


ANY: Final = _Any()


def _host(value: str) -> str:
    return value.strip().rstrip(".").lower()


def _status_matches(expected: str, actual: str | None) -> bool:
    """'5.1.1' exactly; '5' or '5.1' as a prefix of components."""
    if actual is None:
        return False
    want, got = expected.split("."), actual.split(".")
    return len(want) <= len(got) and got[: len(want)] == want


def _words(diagnostic_contains: str | Sequence[str]) -> list[str]:
    return [diagnostic_contains] if isinstance(diagnostic_contains, str) else list(diagnostic_contains)


def _describe(r: RecipientBlock) -> str:
    d = recipient_dict(r)
    return ", ".join(f"{k}={v!r}" for k, v in d.items() if v is not None)


def _check_recipient(
    r: RecipientBlock,
    label: str,
    action: str | None,
    status: str | Sequence[str] | None,
    remote_mta: str | None | _Any,
    original_recipient: str | None | _Any,
    diagnostic_contains: str | Sequence[str] | None,
) -> list[str]:
    out: list[str] = []
    if action is not None and r.action != action.lower():
        out.append(f"{label}: Action expected {action.lower()!r}, got {r.action_raw!r}")
    if status is not None:
        options = [status] if isinstance(status, str) else list(status)
        if not any(_status_matches(s, r.status) for s in options):
            want = options[0] if len(options) == 1 else " or ".join(options)
            out.append(f"{label}: Status expected {want!r}, got {r.status_raw!r}")
    if not isinstance(remote_mta, _Any):
        got = r.remote_mta.value if r.remote_mta else None
        if remote_mta is None and got is not None:
            out.append(f"{label}: Remote-MTA expected absent, got {str(r.remote_mta)!r}")
        elif remote_mta is not None and (got is None or _host(got) != _host(remote_mta.split(";")[-1])):
            out.append(f"{label}: Remote-MTA expected {remote_mta!r}, got {str(r.remote_mta) if got else None!r}")
    if not isinstance(original_recipient, _Any):
        got = r.original_address
        if original_recipient is None and got is not None:
            out.append(f"{label}: Original-Recipient expected absent, got {got!r}")
        elif original_recipient is not None and (got or "").lower() != original_recipient.lower():
            out.append(f"{label}: Original-Recipient expected {original_recipient!r}, got {got!r}")
    if diagnostic_contains is not None:
        text = r.diagnostic_code.value if r.diagnostic_code else ""
        missing = [w for w in _words(diagnostic_contains) if w.lower() not in text.lower()]
        if missing:
            out.append(f"{label}: Diagnostic-Code expected to contain {missing!r}, got {text or None!r}")
    return out


# The DSN's own field names, which users try as keywords: each is the keyword that checks that field. ANY (the
# default of remote_mta and original_recipient) means "not checked", so that None can mean "must be absent".
_FIELD_NAMES = {"final_recipient": "recipient", "diagnostic_code": "diagnostic_contains",
                "diagnostic": "diagnostic_contains", "rcpt": "recipient", "to": "recipient"}


@keywords(hints=_FIELD_NAMES)
def assert_dsn(
    dsn_or_message: DSN | NotADSN | Source,
    *,
    action: str | None = None,
    status: str | Sequence[str] | None = None,
    reporting_mta: str | None = None,
    remote_mta: str | None | _Any = ANY,
    recipient: str | None = None,
    original_recipient: str | None | _Any = ANY,
    diagnostic_contains: str | Sequence[str] | None = None,
    profile: str = "strict",
    envelope: OriginalEnvelope | None = None,
    dsn_envelope: DsnEnvelope | None = None,
    scripted_replies: Mapping[str, str] | None = None,
    allow_rules: Iterable[str] = (),
) -> DSN:
    """Assert that a message is a compliant DSN matching every given expectation; return the parsed DSN.

    An expectation left out is not checked. The checks on a recipient apply to every recipient of the DSN, or to
    `recipient`'s block only when it is given. The failure (DsnAssertionError, an AssertionError) lists every
    mismatch, expected against actual, and every finding of the profile (warnings are listed but do not fail).

    :param dsn_or_message: the message: an `email.message.EmailMessage` (what `Mailbox.wait_for_dsn` and
        `Story.bounced_by` return), bytes, text, a file path, or a parsed `DSN`.
    :param action: the recipients' Action: "failed", "delayed", "delivered", "relayed" or "expanded".
    :param status: the recipients' Status: exact ("5.1.1"), a prefix ("5", "5.1"), or a list of acceptable ones.
    :param reporting_mta: the Reporting-MTA's host name ("mx.store.example"; a "dns;" type is ignored, any case).
    :param remote_mta: the recipients' Remote-MTA host name; ``None`` means it must be absent.
    :param recipient: check only this recipient's block (found by Final-Recipient, else Original-Recipient); it
        must be in the DSN. The DSN's Final-Recipient field is checked with this keyword.
    :param original_recipient: the recipients' Original-Recipient address; ``None`` means it must be absent.
    :param diagnostic_contains: text the recipients' Diagnostic-Code must contain (any case), or a list of texts
        it must all contain ("5.1.1", "User unknown").
    :param profile: how strictly the checklist judges: "strict" (default: every MUST is an error), "postfix"
        (Postfix's known, deliberate departures are warnings) or "lenient" (only what makes the DSN unusable is
        an error).
    :param envelope: the original message's envelope (``sent.original_envelope()``): the rules that compare the
        DSN with what was sent (its recipients, ENVID, RET, NOTIFY) run too.
    :param dsn_envelope: the envelope the DSN itself travelled with (its MAIL FROM must be null):
        ``DsnEnvelope.from_delivered(parse_dsn(msg))`` for a delivered copy.
    :param scripted_replies: recipient -> the SMTP reply a mock next hop was scripted to give; the rules that
        compare the Diagnostic-Code with it run too.
    :param allow_rules: rule ids (docs/dsn-rules.md) whose findings are dropped.
    :returns: the parsed `DSN`, to read more fields (``dsn.recipients[0].diagnostic_code``).
    :raises DsnAssertionError: when an expectation does not hold, the message is not a DSN, or the profile finds
        an error.
    """
    parsed = dsn_or_message if isinstance(dsn_or_message, (DSN, NotADSN)) else parse_dsn(dsn_or_message)
    if isinstance(parsed, NotADSN):
        raise DsnAssertionError(f"{parsed.source}: not a DSN ({parsed.kind}): {parsed.reason}")
    mismatches: list[str] = []
    if reporting_mta is not None:
        got = parsed.reporting_mta
        if got is None or _host(got) != _host(reporting_mta.split(";")[-1]):
            rm = parsed.per_message.reporting_mta
            mismatches.append(f"Reporting-MTA expected {reporting_mta!r}, got {str(rm) if rm else None!r}")
    selected: list[tuple[str, RecipientBlock]] = []
    if recipient is not None:
        r = parsed.recipient(recipient)
        if r is None:
            listed = ", ".join(x.address or "?" for x in parsed.recipients) or "none"
            mismatches.append(f"recipient {recipient!r} not in the DSN (recipients: {listed})")
        else:
            selected.append((r.address or recipient, r))
    else:
        if not parsed.recipients:
            mismatches.append("the DSN lists no recipients")
        selected = [(r.address or f"recipient #{i + 1}", r) for i, r in enumerate(parsed.recipients)]
    for label, r in selected:
        mismatches += _check_recipient(r, label, action, status, remote_mta, original_recipient, diagnostic_contains)
    findings = validate(
        parsed,
        profile,
        envelope=envelope,
        dsn_envelope=dsn_envelope,
        scripted_replies=scripted_replies,
        allow_rules=allow_rules,
    )
    errors = [f for f in findings if f.level == "error"]
    if mismatches or errors:
        raise DsnAssertionError(failure_text(parsed, mismatches, findings, profile))
    return parsed


def failure_text(parsed: DSN, mismatches: list[str], findings: Sequence[Finding], profile: str) -> str:
    n_err = sum(1 for f in findings if f.level == "error")
    n_warn = len(findings) - n_err
    head = f"DSN {parsed.source} (Reporting-MTA {parsed.per_message.reporting_mta or 'absent'})"
    lines = [f"{head}: {len(mismatches)} mismatch(es), {n_err} error(s), {n_warn} warning(s) [profile {profile}]"]
    if mismatches:
        lines.append("mismatches (expected vs actual):")
        lines += [f"  {m}" for m in mismatches]
    if findings:
        lines.append("findings:")
        lines += [f"  {f}" for f in findings]
    lines.append("recipients:")
    lines += [f"  {_describe(r)}" for r in parsed.recipients] or ["  (none)"]
    return "\n".join(lines)


def assertrepr_compare(op: str, left: object, right: object) -> list[str] | None:
    """For pytest_assertrepr_compare: a field-by-field diff of two DSNs, or of a DSN and a dict of fields.

    Dict keys are the names of `harness.dsn.summary.flatten` (reporting_mta, recipients[0].status ...) or a bare
    recipient field name (action, status, remote_mta, ...), which means the first recipient's.
    """
    if op != "==":
        return None
    if isinstance(left, DSN) and isinstance(right, DSN):
        a, b = flatten(left), flatten(right)
        keys = list(dict.fromkeys([*a, *b]))
        diff = [f"  {k}: {a.get(k)!r} != {b.get(k)!r}" for k in keys if a.get(k) != b.get(k)]
        if left.source != right.source:
            diff.append(f"  source: {left.source!r} != {right.source!r}")
        return ["DSN == DSN, differing fields:", *(diff or ["  (none of the summarised fields differ)"])]
    dsn, expected, flipped = (left, right, False) if isinstance(left, DSN) else (right, left, True)
    if not isinstance(dsn, DSN) or not isinstance(expected, Mapping):
        return None
    flat = flatten(dsn)
    lines = ["DSN == expected fields:" if not flipped else "expected fields == DSN:"]
    for key, want in expected.items():
        name = str(key)
        if name not in flat and f"recipients[0].{name}" in flat:
            name = f"recipients[0].{name}"
        got: Any = flat.get(name, "<no such field>")
        mark = "ok" if got == want else "!="
        lines.append(f"  {name}: expected {want!r}, got {got!r} [{mark}]")
    return lines
