"""ENV-1..ENV-5 and H-1..H-2: how the DSN travels (envelope, To:, From:, Auto-Submitted)."""

from __future__ import annotations

from collections.abc import Iterator
from email.utils import getaddresses, parseaddr

from harness.dsn.fields import strip_comments
from harness.dsn.findings import Issue, quote
from harness.dsn.registry import Inputs, check

RESPONSIBLE = frozenset(
    {
        "postmaster",
        "mailer-daemon",
        "mailerdaemon",
        "mail-daemon",
        "maildaemon",
        "mdaemon",
        "double-bounce",
        "mail-delivery-system",
        "mail.delivery.system",
        "bounce",
        "bounces",
        "daemon",
        "root",
        "abuse",
        "mailadmin",
        "mail-admin",
        "mailmaster",
        "hostmaster",
        "sysadmin",
        "administrator",
    }
)


def _local(address: str) -> str:
    return address.rsplit("@", 1)[0].lower() if "@" in address else address.lower()


def _to_addresses(inp: Inputs) -> list[str]:
    return [a for _, a in getaddresses(list(inp.dsn.headers_named("To"))) if a]


@check("ENV-1", "dsn_envelope")
def null_reverse_path(inp: Inputs) -> Iterator[Issue]:
    assert inp.dsn_envelope is not None
    if inp.dsn_envelope.mail_from:
        yield Issue("ENV-1", f"the DSN was sent with MAIL FROM:<{inp.dsn_envelope.mail_from}>, not MAIL FROM:<>")


@check("ENV-2", "envelope", "dsn_envelope")
def to_envelope_sender(inp: Inputs) -> Iterator[Issue]:
    assert inp.envelope is not None and inp.dsn_envelope is not None
    sender = inp.envelope.mail_from
    if not sender:
        return  # ENV-5's business
    rcpts = [r.lower() for r in inp.dsn_envelope.rcpt_to]
    if sender.lower() in rcpts:
        return
    got = ", ".join(f"<{r}>" for r in inp.dsn_envelope.rcpt_to) or "nobody"
    hf = inp.envelope.header_from
    if hf and hf.lower() in rcpts and hf.lower() != sender.lower():
        yield Issue("ENV-2", f"the DSN went to the header From: <{hf}> instead of the envelope sender <{sender}>")
    else:
        yield Issue("ENV-2", f"the DSN's RCPT TO is {got}, not the original envelope sender <{sender}>")


@check("ENV-3", "envelope")
def to_header(inp: Inputs) -> Iterator[Issue]:
    assert inp.envelope is not None
    sender = inp.envelope.mail_from
    if not sender:
        return
    to = _to_addresses(inp)
    if sender.lower() not in (a.lower() for a in to):
        shown = quote(", ".join(inp.dsn.headers_named("To"))) if to else "missing"
        yield Issue("ENV-3", f"To: {shown} does not name the original envelope sender <{sender}>")


@check("ENV-4", "dsn_envelope")
def dsn_mail_parameters(inp: Inputs) -> Iterator[Issue]:
    assert inp.dsn_envelope is not None
    ret = inp.dsn_envelope.mail_params.get("RET")
    if ret is not None:
        yield Issue("ENV-4", f"the DSN's MAIL command carries RET={ret}")
    notify = inp.dsn_envelope.rcpt_params.get("NOTIFY")
    if notify is not None and notify.upper() != "NEVER":
        yield Issue("ENV-4", f"the DSN's RCPT command carries NOTIFY={notify}, not NEVER")


@check("ENV-5", "envelope")
def no_dsn_for_null_sender(inp: Inputs) -> Iterator[Issue]:
    assert inp.envelope is not None
    if inp.envelope.mail_from:
        return
    targets = list(_to_addresses(inp))
    if inp.dsn_envelope is not None:
        targets = list(inp.dsn_envelope.rcpt_to) or targets
    if targets and all(_local(t) == "postmaster" for t in targets):
        return  # a double-bounce to the postmaster is allowed
    shown = ", ".join(f"<{t}>" for t in targets) or "an unknown address"
    yield Issue("ENV-5", f"a DSN to {shown} exists for a message whose reverse-path was <>")


@check("H-1")
def from_responsible(inp: Inputs) -> Iterator[Issue]:
    raw = inp.dsn.header("From")
    if raw is None:
        yield Issue("H-1", "From: missing")
        return
    address = parseaddr(raw)[1]
    if _local(address) not in RESPONSIBLE:
        yield Issue("H-1", f"From: {quote(raw)} names neither postmaster nor MAILER-DAEMON")


@check("H-2")
def auto_submitted(inp: Inputs) -> Iterator[Issue]:
    values = inp.dsn.headers_named("Auto-Submitted")
    if len(values) > 1:
        yield Issue("H-2", f"Auto-Submitted appears {len(values)} times")
    for v in values:
        keyword = strip_comments(v).split(";")[0].strip().lower()
        if keyword == "auto-generated":
            yield Issue("H-2", f"Auto-Submitted {quote(v)} labels the DSN auto-generated; a DSN is auto-replied",
                        variant="auto-generated")
