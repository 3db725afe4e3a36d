"""One generated scenario, as data: where it runs, the message, the faults, and when the faults start.

    Scenario(sender="forged", recipients=(Rcpt("unknown"),), faults=(DiskFull("library"),))

A scenario says nothing about the world it runs in beyond the roles of the default topology: store.example
(Jack's server, where ordinary mail is submitted), library.example (the server under test: the harness's own, or
yours with --mta-config) and example.edu (a Postfix, or a scripted mock in the "mock" variant). `Targets` turns
roles into addresses for the server actually in place of library.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Literal

from ..errors import UsageError
from ..faults import Fault, Forward, MailboxFull

Variant = Literal["default", "mock", "config"]
SenderKind = Literal["ordinary", "forged", "null"]
RcptKind = Literal["known", "unknown", "remote", "local", "forwarded", "over_quota"]
Start = Literal["before", "after"]
Via = Literal["alias", "forward", "virtual"]
MockKind = Literal["refuse", "tempfail", "tempfail_then_accept", "no_dsn"]

OVER_QUOTA_LIMIT = 100_000  # the mailbox limit of an over-quota recipient (MailboxFull), in bytes


@dataclass(frozen=True)
class Targets:
    """The server under test's domain and a recipient it knows (jill@library.example, or your configuration's)."""

    domain: str = "library.example"
    known: str = "jill@library.example"
    node: str = "library"


@dataclass(frozen=True)
class Rcpt:
    """One recipient, by kind, with its RFC 3461 NOTIFY (empty: none given) and whether ORCPT is sent.

    known: a user of the server under test; unknown: a local part it does not have; remote: jill@example.edu;
    local: jack@store.example (delivered where it was submitted); forwarded: the known user, forwarded to
    example.edu (`via` an alias, a .forward or a virtual alias); over_quota: the known user at her mailbox's limit.
    """

    kind: RcptKind = "known"
    notify: tuple[str, ...] = ()
    orcpt: bool = False
    via: Via = "alias"

    def address(self, t: Targets) -> str:
        if self.kind in ("known", "forwarded", "over_quota"):
            return t.known
        if self.kind == "unknown":
            return f"nosuchuser@{t.domain}"
        if self.kind == "remote":
            return "jill@example.edu"
        return "jack@store.example"


@dataclass(frozen=True)
class MockStep:
    """What the mock example.edu does at RCPT (variant "mock"): refuse (5xx), tempfail (4xx always),
    tempfail_then_accept (4xx `times` times, then 250: a fault that heals after N retries), no_dsn (it does not
    announce the DSN extension)."""

    kind: MockKind = "refuse"
    times: int = 1


@dataclass(frozen=True)
class Scenario:
    variant: Variant = "default"
    sender: SenderKind = "ordinary"
    recipients: tuple[Rcpt, ...] = (Rcpt(),)
    ret: str | None = None
    envid: str | None = None
    size: int = 0  # body bytes beyond the generated message's own
    faults: tuple[Fault, ...] = ()
    start: Start = "before"
    mock: tuple[MockStep, ...] = ()

    # -- the envelope ------------------------------------------------------------------------------------------
    def sender_address(self) -> str:
        return {"ordinary": "jack@store.example", "forged": "jill@example.edu", "null": ""}[self.sender]

    def via(self, t: Targets) -> str:
        """Where the message is submitted: Jack's server, or (forged) straight to the server under test's MX, as a
        spammer claiming to be someone else does."""
        return t.node if self.sender == "forged" else "store"

    def unique_recipients(self, t: Targets) -> tuple[Rcpt, ...]:
        """One recipient per address (the first of each), as the envelope carries them."""
        seen: dict[str, Rcpt] = {}
        for r in self.recipients:
            seen.setdefault(r.address(t).lower(), r)
        return tuple(seen.values())

    def all_faults(self, t: Targets) -> tuple[Fault, ...]:
        """The faults drawn, preceded by those the recipients' kinds imply (a forward, a full mailbox)."""
        user = t.known.split("@", 1)[0]
        implied: list[Fault] = []
        for r in self.unique_recipients(t):
            if r.kind == "forwarded":
                implied.append(Forward(t.node, user=user, to="jill@example.edu", via=r.via))
            elif r.kind == "over_quota":
                implied.append(MailboxFull(t.node, user=user, limit=OVER_QUOTA_LIMIT))
        return tuple(dict.fromkeys((*implied, *self.faults)))

    def forwards(self, t: Targets) -> dict[str, list[str]]:
        """address -> forward targets, from the Forward faults (a node's domain and user)."""
        domains = {"store": "store.example", "library": t.domain, t.node: t.domain, "edu": "example.edu"}
        out: dict[str, list[str]] = {}
        for f in self.all_faults(t):
            if isinstance(f, Forward) and f.node in domains:
                out.setdefault(f"{f.user}@{domains[f.node]}".lower(), []).append(f.to.lower())
        return out

    # -- reading ---------------------------------------------------------------------------------------------
    def size_key(self) -> tuple[int, int, int]:
        """How big a scenario is (for choosing the smallest example): faults, recipients, parameters."""
        params = sum(bool(r.notify) + r.orcpt for r in self.recipients) + bool(self.ret) + bool(self.envid)
        return (len(self.faults) + len(self.mock), len(self.recipients), params)

    def describe(self, t: Targets | None = None) -> str:
        t = t or Targets()
        rcpts = ", ".join(f"{r.address(t)} ({r.kind}" + (f" via {r.via}" if r.kind == "forwarded" else "")
                          + (f", NOTIFY={','.join(r.notify)}" if r.notify else "") + (", ORCPT" if r.orcpt else "")
                          + ")" for r in self.unique_recipients(t))
        parts = [f"[{self.variant}] <{self.sender_address()}> ({self.sender}) -> {rcpts}"]
        if self.ret or self.envid:
            parts.append(f"RET={self.ret or '-'} ENVID={self.envid or '-'}")
        if self.size:
            parts.append(f"+{self.size} bytes")
        faults = self.all_faults(t)
        if faults:
            parts.append(f"faults ({self.start} submission): " + ", ".join(f.describe() for f in faults))
        if self.mock:
            parts.append("mock edu: " + ", ".join(f"{m.kind}" + (f" x{m.times}" if m.kind.startswith("tempfail_")
                                                                  else "") for m in self.mock))
        return "; ".join(parts)


# -- kept between runs (the example database): JSON, never code ----------------------------------------------------
def to_json(s: Scenario) -> str:
    def fault(f: Fault) -> dict[str, object]:
        return {"type": type(f).__name__, **vars(f)}

    d = dataclasses.asdict(s)
    d["faults"] = [fault(f) for f in s.faults]
    return json.dumps(d, sort_keys=True)


def from_json(text: str) -> Scenario:
    from .. import faults as catalogue

    d = json.loads(text)
    faults = []
    for f in d.pop("faults"):
        cls = getattr(catalogue, f.pop("type"))
        if not (isinstance(cls, type) and issubclass(cls, Fault)):
            raise UsageError(f"not a fault of the catalogue: {cls!r}")
        faults.append(cls(**f))
    rcpts = tuple(Rcpt(r["kind"], tuple(r["notify"]), r["orcpt"], r["via"]) for r in d.pop("recipients"))
    mock = tuple(MockStep(m["kind"], m["times"]) for m in d.pop("mock"))
    return Scenario(recipients=rcpts, faults=tuple(faults), mock=mock, **d)
