"""What the original sender asked for: NOTIFY (N-1..N-5), ORCPT (R-2), ENVID/ORCPT syntax (P-5), RET (C-1..C-3)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from harness.dsn.context import RecipientParams, xtext_problem
from harness.dsn.findings import Issue, quote
from harness.dsn.model import RecipientBlock
from harness.dsn.registry import Inputs, check, who

FINAL = ("failed", "delivered", "relayed", "expanded")
SUCCESS = ("delivered", "relayed", "expanded")


def _notify(p: RecipientParams) -> str:
    return "absent" if p.notify is None else ",".join(sorted(p.notify)) or "(empty)"


def _matched(inp: Inputs) -> Iterator[tuple[int, RecipientBlock, RecipientParams | None]]:
    assert inp.envelope is not None
    for i, r in enumerate(inp.dsn.recipients):
        yield i, r, inp.envelope.find(r.address, r.original_address)


@check("N-1", "envelope")
def notify_never(inp: Inputs) -> Iterator[Issue]:
    for i, r, p in _matched(inp):
        if p is not None and p.notify is not None and "NEVER" in p.notify:
            yield Issue("N-1", f"{who(i, r)} asked NOTIFY=NEVER yet is listed with Action {quote(r.action_raw)}")


def _asked_never(p: RecipientParams) -> bool:
    return p.notify is not None and "NEVER" in p.notify


@check("N-2", "envelope")
def notify_failure(inp: Inputs) -> Iterator[Issue]:
    for i, r, p in _matched(inp):
        if p is not None and r.action == "failed" and not _asked_never(p) and not p.wants("FAILURE"):
            yield Issue("N-2", f"Action failed for {who(i, r)} whose NOTIFY={_notify(p)} lacks FAILURE")


@check("N-3", "envelope")
def notify_delay(inp: Inputs) -> Iterator[Issue]:
    for i, r, p in _matched(inp):
        if p is not None and r.action == "delayed" and not _asked_never(p) and not p.wants("DELAY"):
            yield Issue("N-3", f"Action delayed for {who(i, r)} whose NOTIFY={_notify(p)} lacks DELAY")


@check("N-4", "envelope")
def notify_success(inp: Inputs) -> Iterator[Issue]:
    for i, r, p in _matched(inp):
        if p is not None and r.action in SUCCESS and not _asked_never(p) and not p.wants("SUCCESS"):
            yield Issue("N-4", f"Action {r.action} for {who(i, r)} whose NOTIFY={_notify(p)} lacks SUCCESS")


@check("N-5")
def one_final_each(inp: Inputs) -> Iterator[Issue]:
    counts = Counter((r.address or "").lower() for r in inp.dsn.recipients if r.action in FINAL and r.address)
    for address, n in counts.items():
        if n > 1:
            yield Issue("N-5", f"{address} is listed {n} times with a final Action in one DSN")


@check("N-5", "envelope")
def only_given_recipients(inp: Inputs) -> Iterator[Issue]:
    for i, r, p in _matched(inp):
        if p is None and r.final_recipient is not None:
            also = f" (Original-Recipient {quote(r.original_address)})" if r.original_recipient else ""
            yield Issue("N-5", f"{who(i, r)}{also} was not a recipient of the original transaction")


@check("R-2", "envelope")
def original_recipient(inp: Inputs) -> Iterator[Issue]:
    for i, r, p in _matched(inp):
        if p is None:
            continue
        want = p.decoded_orcpt
        got = r.original_recipient
        if want is None and got is not None:
            yield Issue(
                "R-2",
                f"Original-Recipient {quote(str(got))} present for {who(i, r)} although RCPT had no ORCPT",
                variant="present-without-orcpt",
            )
        elif want is not None and got is None:
            yield Issue("R-2", f"Original-Recipient missing for {who(i, r)}; RCPT had ORCPT={p.orcpt}")
        elif want is not None and got is not None and (got.type, got.value) != want:
            yield Issue(
                "R-2",
                f"Original-Recipient {quote(str(got))} for {who(i, r)} is not the ORCPT value "
                f"{quote(want[0] + '; ' + want[1])}",
            )


@check("P-5", "envelope")
def xtext_values(inp: Inputs) -> Iterator[Issue]:
    assert inp.envelope is not None
    if inp.envelope.envid is not None:
        problem = xtext_problem(inp.envelope.envid)
        if problem:
            yield Issue("P-5", f"ENVID {quote(inp.envelope.envid)} is not xtext: {problem}")
    for p in inp.envelope.recipients:
        if p.orcpt is None:
            continue
        value = p.orcpt.partition(";")[2].strip()
        problem = xtext_problem(value)
        if problem:
            yield Issue("P-5", f"ORCPT {quote(p.orcpt)} of {p.address} is not xtext: {problem}")


@check("C-1", "envelope")
def ret_hdrs(inp: Inputs) -> Iterator[Issue]:
    assert inp.envelope is not None
    returned = inp.dsn.returned
    if inp.envelope.ret == "HDRS" and returned is not None and returned.kind == "message" and returned.has_body:
        yield Issue("C-1", f"RET=HDRS but the returned content is a whole {returned.content_type} with its body")


@check("C-2", "envelope")
def ret_full(inp: Inputs) -> Iterator[Issue]:
    assert inp.envelope is not None
    if inp.envelope.ret != "FULL" or not any(r.action == "failed" for r in inp.dsn.recipients):
        return
    returned = inp.dsn.returned
    if returned is None:
        yield Issue("C-2", "RET=FULL but the failure DSN returns no content")
    elif returned.kind != "message":
        yield Issue("C-2", f"RET=FULL but the failure DSN returns {returned.content_type} only")


@check("C-3")
def headers_when_no_failure(inp: Inputs) -> Iterator[Issue]:
    returned = inp.dsn.returned
    recipients = inp.dsn.recipients
    if not recipients or any(r.action not in ("delayed", *SUCCESS) for r in recipients):
        return  # a failure, or an action that cannot be read
    if returned is not None and returned.kind == "message" and returned.has_body:
        actions = ", ".join(sorted({r.action or "?" for r in recipients}))
        yield Issue(
            "C-3", f"a DSN without failures (Action {actions}) returns the whole message ({returned.content_type})"
        )
