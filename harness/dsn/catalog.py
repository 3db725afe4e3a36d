"""Every rule of docs/dsn-checklist.md: id, requirement, RFC reference, and what this package can check.

The single source for finding references and for docs/dsn-rules.md (`python -m harness.dsn.catalog` prints it).
References are the checklist's own; a few rules the checklist leaves without a keyword are marked here as they are
enforced (see `note`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Requirement = Literal["MUST", "MUST NOT", "SHOULD", "SHOULD NOT", "derived", "lint"]
Coverage = Literal["message", "message+context", "context", "reader", "not-checkable"]


@dataclass(frozen=True)
class RuleInfo:
    id: str
    requirement: Requirement
    ref: str
    title: str
    coverage: Coverage
    needs: str = ""  # the context argument(s) the context-dependent part needs
    note: str = ""


def _r(
    id: str, req: Requirement, ref: str, title: str, coverage: Coverage, needs: str = "", note: str = ""
) -> RuleInfo:
    return RuleInfo(id, req, ref, title, coverage, needs, note)


ORIG = "`envelope=OriginalEnvelope`"
DENV = "`dsn_envelope=DsnEnvelope`"

RULES: tuple[RuleInfo, ...] = (
    _r(
        "ENV-1",
        "MUST",
        "RFC 3464 s2; RFC 3461 s6.1; RFC 5321 s4.5.5, s6.1",
        "DSN sent with MAIL FROM:<>",
        "context",
        DENV,
        "DsnEnvelope.from_delivered() takes it from Return-Path: of a delivered DSN (`dsn-lint --delivered`).",
    ),
    _r(
        "ENV-2",
        "MUST",
        "RFC 3461 s6.1; RFC 5321 s6.1",
        "DSN goes to the original envelope sender",
        "context",
        f"{ORIG} and {DENV}",
        "Says so explicitly when the DSN went to the header From: instead.",
    ),
    _r("ENV-3", "MUST", "RFC 3464 s2", "To: names the original envelope sender", "context", ORIG),
    _r(
        "ENV-4",
        "MUST",
        "RFC 3461 s6.1",
        "the DSN's MAIL has no RET; NOTIFY only NEVER",
        "context",
        DENV,
        "No keyword in the checklist: enforced as MUST.",
    ),
    _r(
        "ENV-5",
        "MUST NOT",
        "RFC 3461 s5.2; RFC 5321 s4.5.5, s6.1",
        "no DSN for a null reverse-path",
        "context",
        ORIG,
        "Given a DSN and an original envelope whose sender was <>, this DSN should not exist; one addressed "
        "to postmaster (Postfix double-bounce) passes.",
    ),
    _r(
        "ENV-6",
        "MUST",
        "RFC 5321 s6.1, s4.2.5",
        "a server that said 250 after DATA owns the DSN",
        "not-checkable",
        note="Needs the whole topology: which server accepted, that a DSN arrived at all, and from whom. "
        "A question for the verdict over all nodes' logs, not for one message.",
    ),
    _r(
        "ENV-7",
        "MUST",
        "RFC 5321 s4.2.5; RFC 3464 s2.2.2, s2.3.5",
        "rejecting server sends no DSN; client does",
        "not-checkable",
        note="Needs the topology (who rejected, who sent what). The DSN half (Reporting-MTA is the "
        "client, Remote-MTA the rejecting server) is asserted with assert_dsn(reporting_mta=, remote_mta=).",
    ),
    _r(
        "ENV-8",
        "SHOULD NOT",
        "RFC 5321 s6.2",
        "no backscatter: reject what is known at RCPT",
        "not-checkable",
        note="Needs the dialogue and the mailboxes: whether the failure could have been known at RCPT time.",
    ),
    _r("N-1", "MUST NOT", "RFC 3461 s4.1, s5.2", "NOTIFY=NEVER gets no DSN", "context", ORIG),
    _r(
        "N-2",
        "MUST",
        "RFC 3461 s5.2.6",
        "failed DSN only when NOTIFY absent or has FAILURE",
        "context",
        ORIG,
        "Checks a DSN that exists; that a required DSN was sent at all needs the topology.",
    ),
    _r("N-3", "MUST NOT", "RFC 3461 s5.2.5", "no delayed DSN when NOTIFY lacks DELAY", "context", ORIG),
    _r(
        "N-4",
        "MUST",
        "RFC 3461 s5.2.2, s5.2.3",
        "success DSNs only with NOTIFY=SUCCESS",
        "context",
        ORIG,
        "Whether 'relayed' rather than 'delivered' was right needs the next hop's EHLO: not checked.",
    ),
    _r(
        "N-5",
        "SHOULD",
        "RFC 3461 s5.2.8; RFC 3464 s3",
        "only qualifying recipients, at most one final DSN each",
        "message+context",
        ORIG,
        "Alone: a recipient listed twice with a final action. With the envelope: "
        "recipients that were never given. Across several DSNs: not checkable from one message.",
    ),
    _r("M-1", "MUST", "RFC 3464 s2; RFC 3461 s6.2", "top-level multipart/report", "message"),
    _r(
        "M-2",
        "MUST",
        "RFC 3464 s2; RFC 6522 s3",
        "report-type=delivery-status",
        "message",
        note="report-type=global-delivery-status is accepted with a message/global-delivery-status part (U-1).",
    ),
    _r(
        "M-3",
        "MUST",
        "RFC 6522 s3; RFC 3464 s2",
        "2 or 3 parts: text, delivery-status, returned content",
        "message",
        note="Also reported (as the only finding) for a message that declares report-type="
        "delivery-status but has no readable delivery-status part.",
    ),
    _r(
        "M-4",
        "MUST",
        "RFC 3464 s2.1",
        "delivery-status part is 7bit",
        "message",
        note="8bit is allowed in message/global-delivery-status (RFC 6533).",
    ),
    _r(
        "M-5",
        "MUST",
        "RFC 3461 s6.2; RFC 6522 s4",
        "returned content typed message/rfc822 or text/rfc822-headers",
        "message",
        note="The SHOULD NOT part (headers alone labelled message/rfc822) is a warning.",
    ),
    _r("S-1", "MUST", "RFC 3464 s2.1, s2.2", "one per-message block, then per-recipient blocks", "message"),
    _r("S-2", "MUST", "RFC 3464 s2.2.2, s3; RFC 3461 s6.3", "Reporting-MTA: dns; <host>", "message"),
    _r(
        "S-3",
        "MUST",
        "RFC 3461 s6.3; RFC 3464 s2.2.1",
        "Original-Envelope-Id iff ENVID, decoded, exact",
        "context",
        ORIG,
    ),
    _r(
        "S-4",
        "MUST NOT",
        "RFC 3464 s2.2.3",
        "no DSN-Gateway from an Internet MTA",
        "message",
        note="A DSN-Gateway field is reported: the harness's MTAs are Internet MTAs.",
    ),
    _r("S-5", "MUST", "RFC 3464 s2.2.5, s2.3.7, s2.3.9", "dates are RFC 5322 with a numeric zone", "message"),
    _r(
        "R-1",
        "MUST",
        "RFC 3464 s2.3.2; RFC 3461 s6.3",
        "Final-Recipient: rfc822; <address>",
        "message",
        note="That it is the address as received needs the hop's transcript: not checked.",
    ),
    _r(
        "R-2",
        "MUST",
        "RFC 3461 s6.3",
        "Original-Recipient iff ORCPT, holding its value",
        "context",
        ORIG,
        "postfix profile: present without ORCPT is a warning (Postfix always writes it).",
    ),
    _r("R-3", "MUST", "RFC 3464 s2.3.3", "Action is failed|delayed|delivered|relayed|expanded", "message"),
    _r("R-4", "MUST", "RFC 3464 s2.3.4; RFC 3463 s2", "Status is class.subject.detail", "message"),
    _r(
        "R-5",
        "derived",
        "RFC 3464 s2.3.3, s2.3.4",
        "Action and Status agree",
        "message",
        note="failed with 4.x.x is legal and not flagged.",
    ),
    _r(
        "R-6",
        "MUST",
        "RFC 3461 s6.3; RFC 3464 s2.3.5",
        "Remote-MTA: dns; <host> on an SMTP failure",
        "message",
        note="An SMTP diagnostic without Remote-MTA is flagged; a local failure carrying one cannot be told apart "
        "from a relay failure and is not flagged.",
    ),
    _r(
        "R-7",
        "MUST",
        "RFC 3461 s6.3, s9.2; RFC 3464 s2.3.6",
        "Diagnostic-Code: smtp; <the server's reply>",
        "message+context",
        "`scripted_replies={recipient: reply}`",
        "Alone: Remote-MTA implies an smtp Diagnostic-Code that starts with a reply code; a failure without any "
        "Diagnostic-Code is a SHOULD warning. With scripted replies: the exact reply (after unfolding).",
    ),
    _r("R-8", "MUST", "RFC 3464 s2.3.9", "Will-Retry-Until only with Action delayed", "message"),
    _r(
        "R-9",
        "MUST",
        "RFC 3464 s2.4",
        "field names registered or X-",
        "message",
        note="Error in strict, warning in postfix and lenient.",
    ),
    _r("R-10", "derived", "RFC 3464 s2.2, s2.3 (grammar)", "fields in the grammar's order", "message"),
    _r("C-1", "MUST", "RFC 3461 s4.3, s6.2", "RET=HDRS returns headers only", "context", ORIG),
    _r("C-2", "SHOULD", "RFC 3461 s4.3, s6.2", "RET=FULL failure DSN returns the whole message", "context", ORIG),
    _r("C-3", "SHOULD", "RFC 3461 s4.3, s6.2", "a DSN without failures returns headers only", "message"),
    _r(
        "H-1",
        "SHOULD",
        "RFC 3464 s2",
        "From: names postmaster or a responsible party",
        "message",
        note="Recognises postmaster, MAILER-DAEMON and similar system names.",
    ),
    _r("H-2", "MUST NOT", "RFC 3834 s5", "no Auto-Submitted: auto-generated; at most one field", "message"),
    _r(
        "P-1",
        "MUST",
        "RFC 3461 s3",
        "EHLO advertises DSN",
        "not-checkable",
        note="A property of the SMTP dialogue (EHLO reply): belongs to the SMTP client's transcript checks.",
    ),
    _r(
        "P-2",
        "MUST",
        "RFC 3461 s4, s5.1",
        "DSN parameters accepted; invalid ones get 501",
        "not-checkable",
        note="Needs commands sent to a live server and its replies.",
    ),
    _r(
        "P-3",
        "MUST",
        "RFC 3461 s5.4",
        "ENVID 100, ORCPT 500, lines 1036 accepted",
        "not-checkable",
        note="Needs commands sent to a live server and its replies.",
    ),
    _r(
        "P-4",
        "MUST",
        "RFC 3461 s5.2.1, s5.2.2",
        "a relay passes DSN parameters to a DSN next hop",
        "not-checkable",
        note="Needs the next hop's view of the MAIL/RCPT commands (a mock next hop).",
    ),
    _r(
        "P-5",
        "MUST",
        "RFC 3461 s4",
        "ENVID and ORCPT values are xtext",
        "context",
        ORIG,
        "Checks the raw (wire) ENVID/ORCPT values given in the envelope; those values are decoded before S-3/R-2.",
    ),
    _r(
        "E-1",
        "MUST",
        "RFC 3463 s2",
        "enhanced code syntax in SMTP diagnostics",
        "message",
        note="Status itself is R-4; E-1 checks the enhanced code inside Diagnostic-Code: smtp replies.",
    ),
    _r(
        "E-2",
        "MUST",
        "RFC 2034",
        "enhanced code class matches the reply's first digit",
        "message",
        note="Checked inside Diagnostic-Code: smtp replies.",
    ),
    _r("E-3", "lint", "RFC 3463; RFC 5248 registry", "Status is a registered code", "message"),
    _r(
        "U-1",
        "MUST",
        "RFC 6533 s4.4",
        "global types accepted in any mix",
        "reader",
        note="A property of the reader, not of the message: parse_dsn accepts message/global-delivery-status, "
        "message/global and message/global-headers in any mix (tested), and M-2/M-5 accept them. No findings.",
    ),
    _r("U-2", "MUST", "RFC 6533 s3", "UTF-8 addresses use address type utf-8", "message"),
    _r("U-3", "MUST", "RFC 6533 s4.5", "7-bit returned content when the return path lacks SMTPUTF8", "context", DENV),
)

BY_ID: dict[str, RuleInfo] = {r.id: r for r in RULES}
ORDER: dict[str, int] = {r.id: i for i, r in enumerate(RULES)}


def info(rule_id: str) -> RuleInfo:
    return BY_ID[rule_id]


_COVERAGE_TEXT = {
    "message": "implemented (message alone)",
    "message+context": "implemented; more with context",
    "context": "implemented, needs context",
    "reader": "honoured by the parser",
    "not-checkable": "not checkable here",
}


def render_markdown() -> str:
    """The text of docs/dsn-rules.md."""
    lines = [
        "# DSN rules: what harness.dsn checks",
        "",
        "Generated from `harness/dsn/catalog.py` (`python -m harness.dsn.catalog > docs/dsn-rules.md`); a test keeps",
        "the two in step. Rule ids, RFC references and requirement keywords are those of",
        "`shared/docs/dsn-checklist.md`. What a DSN is, and how the harness reads, checks and keeps one:",
        "[DSNs](dsns.md); the rules that need the whole topology (who accepted, who refused, who sent which DSN)",
        "are judged by the [verdict](verdict.md).",
        "",
        "Levels: MUST / MUST NOT are errors and SHOULD / SHOULD NOT, derived and lint rules warnings, in the `strict`",
        "profile. `postfix` is strict with Postfix's deliberate departures as warnings (Original-Recipient without",
        "ORCPT, R-2; unknown field names, R-9), and `exim` with Exim's (Original-Recipient without ORCPT, R-2;",
        "a success report marked Auto-Submitted: auto-generated, H-2; tested on Exim 4.96's and 4.98's own DSNs).",
        "`lenient` keeps as errors only what makes a DSN unusable: no",
        "readable delivery-status part, no per-recipient block, a recipient without Final-Recipient, or without both",
        "Action and Status.",
        "",
        "Context is optional: `validate(dsn, profile, envelope=OriginalEnvelope(...), dsn_envelope=DsnEnvelope(...),",
        "scripted_replies={...})`. A rule (or the part of a rule) whose context is absent is not evaluated.",
        "",
        "| rule | requirement | reference | what | coverage | context needed / notes |",
        "|---|---|---|---|---|---|",
    ]
    for r in RULES:
        notes = "; ".join(x for x in (r.needs, r.note) if x)
        lines.append(f"| {r.id} | {r.requirement} | {r.ref} | {r.title} | {_COVERAGE_TEXT[r.coverage]} | {notes} |")
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(render_markdown(), end="")
