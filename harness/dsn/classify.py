"""Saying what a message without a delivery-status part is instead, and why (never raising)."""

from __future__ import annotations

import re
from email.utils import parseaddr

from harness.dsn.mime import Entity, walk
from harness.dsn.model import NotDsnKind

DSN_REPORT_TYPES = ("delivery-status", "global-delivery-status")
STATUS_TYPES = ("message/delivery-status", "message/global-delivery-status")

_DAEMONS = re.compile(
    r"^(mailer-daemon|postmaster|mail-?daemon|mdaemon|mail\.?delivery.*|double-bounce|bounces?)$", re.I
)
_BOUNCE_SUBJECT = re.compile(
    r"failure notice|undeliver|returned mail|delivery status notification|delivery (?:status )?fail|"
    r"mail delivery (?:failed|system)|non-?delivery|bounce notification|could not be delivered|delayed mail|"
    r"warning: could not send|delivery report|mail system error|errors from",
    re.I,
)
_AUTO_REPLY_SUBJECT = re.compile(
    r"^(auto(matic)?[ -]?(reply|response|antwort)|auto:|out of (the )?office|away\b|vacation|abwesen)", re.I
)
_COMPLAINT_SUBJECT = re.compile(r"complaint|abuse report|feedback report|spam report", re.I)


def header(entity: Entity, name: str) -> str:
    value = entity.message.get(name)
    return " ".join(str(value).split()) if value is not None else ""


def classify(entity: Entity) -> tuple[NotDsnKind, str, bool]:
    """(kind, reason, declared_dsn) for a message in which no delivery-status part was found."""
    ctype = entity.content_type
    report_type = entity.param("report-type") if ctype == "multipart/report" else None
    types = [e.content_type for e in walk(entity)]
    subject = header(entity, "Subject")
    sender = parseaddr(header(entity, "From"))[1]
    local = sender.rsplit("@", 1)[0] if "@" in sender else sender
    where = f"top-level {ctype}" + (f"; report-type={report_type}" if report_type else "")

    if report_type in DSN_REPORT_TYPES:
        n = len(entity.children)
        found = ", ".join(c.content_type for c in entity.children) or "none (no boundary delimiter found)"
        return (
            "broken-dsn",
            f"{where} but no message/delivery-status part; {n} part(s) found: {found}",
            True,
        )
    if report_type == "feedback-report" or "message/feedback-report" in types:
        return "feedback-report", f"{where}: an ARF abuse/feedback report (RFC 5965), not a DSN", False
    if ctype == "multipart/report":
        return "other-report", f"{where}: a report of another kind, not a delivery-status report", False

    signals: list[str] = []
    if _DAEMONS.match(local or ""):
        signals.append(f"From: {sender}")
    if entity.message.get("X-Failed-Recipients") is not None:
        signals.append(f"X-Failed-Recipients: {header(entity, 'X-Failed-Recipients')}")
    if _BOUNCE_SUBJECT.search(subject):
        signals.append(f"Subject: {subject}")
    if signals:
        return (
            "plain-text-bounce",
            f"{where} without a machine-readable delivery-status part; a non-standard bounce ({'; '.join(signals)})",
            False,
        )
    if _COMPLAINT_SUBJECT.search(subject):
        return "feedback-report", f"{where}: a complaint (Subject: {subject}), not a DSN", False

    auto = header(entity, "Auto-Submitted").lower()
    auto_signals: list[str] = []
    if auto and not auto.startswith("no"):
        auto_signals.append(f"Auto-Submitted: {auto}")
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress"):
        if entity.message.get(name) is not None:
            auto_signals.append(f"{name} present")
    precedence = header(entity, "Precedence").lower()
    if precedence in ("auto_reply", "auto-reply"):
        auto_signals.append(f"Precedence: {precedence}")
    if _AUTO_REPLY_SUBJECT.search(subject):
        auto_signals.append(f"Subject: {subject}")
    if auto_signals:
        return "auto-reply", f"{where}: an automatic reply (RFC 3834: {'; '.join(auto_signals)}), not a DSN", False
    return "ordinary", f"{where} with no delivery-status part and no sign of a bounce: an ordinary message", False
