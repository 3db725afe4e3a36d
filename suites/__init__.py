"""Ready-made scenarios: mail behaviour, written to be read as documentation. Run them with `mailharness run`."""

from collections.abc import Callable, Mapping, Sequence
from email.message import EmailMessage
from typing import NoReturn

import pytest

from harness import MailTopology, is_dsn, parse_dsn
from harness.dsn.parse import Source
from harness.dsn.profiles import PROFILES


def dsn_profile(topology: MailTopology, node: str) -> str:
    """The DSN profile for a DSN `node` wrote: its MTA's (Postfix's or Exim's known departures are warnings),
    strict for any other."""
    kind = topology.node(node).kind
    return kind if kind in PROFILES else "strict"


def status_or_undefined(specific: str) -> list[str]:
    """The DSN Status a scenario accepts where it knows the specific one: that one, or the undefined code of a class
    (RFC 3463 s3.1: X.0.0 is for a failure of which only the class is known, and no rule forbids it for any other:
    Exim reports every failure as 5.0.0 and every delay as 4.0.0, whatever it or the next hop knew; an MTA that
    quotes a reply without an enhanced code can only say X.0.0), of either class for a failure after a transient
    error (RFC 3464 s2.3.4 lets a "failed" report keep the 4.x.x that ended it)."""
    return list(dict.fromkeys([specific, f"{specific[0]}.0.0", *(["5.0.0"] if specific[0] == "4" else [])]))


def reported_recipient(dsn: Source, *candidates: str) -> str:
    """The first of `candidates` the DSN reports on (Final-Recipient): after forwarding, the address it went to or
    the address it came for (RFC 3464 s2.3.2 leaves it to the reporting MTA); the first when it names none."""
    parsed = parse_dsn(dsn)
    names = {(b.address or "").lower() for b in getattr(parsed, "recipients", ())}
    return next((c for c in candidates if c.lower() in names), candidates[0])


def own_diagnostic(dsn: Source, words: str | Sequence[str]) -> str | Sequence[str] | None:
    """What a scenario asks of the Diagnostic-Code of a failure no server replied to (a connection refused or
    timed out, a DNS answer, a loop the reporting MTA found itself): `words`, where the DSN gives a Diagnostic-Code;
    nothing where it gives none. RFC 3461 s6.3 asks for the field to quote a remote server's failure reply, and
    RFC 3464 s2.3 leaves it out of the required fields otherwise: Postfix writes its own words ("X-Postfix; ..."),
    Exim none. A failure a server replied to is checked with the reply, always (R-7)."""
    parsed = parse_dsn(dsn)
    given = any(b.diagnostic_code is not None for b in getattr(parsed, "recipients", ()))
    return words if given else None


def dsn_of(action: str) -> Callable[[EmailMessage], bool]:
    """A mailbox predicate: a DSN whose recipients' Action is `action` ("delayed", "failed"). RFC 3464 s2.3.3 lets
    a server send more "delayed" DSNs as the delay goes on: a scenario waits for the one it means by what it says."""
    def matches(msg: EmailMessage) -> bool:
        if not is_dsn(msg):
            return False
        parsed = parse_dsn(msg)
        return any(b.action == action for b in getattr(parsed, "recipients", ()))
    return matches


def known_departures(mta: str, departures: Mapping[str, str | None]) -> NoReturn:
    """End a scenario, all of whose other checks have passed, on the departures from the RFCs it knows `mta` makes:
    `departures` maps each (its RFC and section, and what that requires) to the evidence the run showed, or None
    when the run did not show it. The outcome is an expected failure (XFAIL) that names each departure, its section
    and its evidence; when one of them was not seen the scenario FAILS, so that a release that conforms is noticed
    and the expectation removed (a strict expected failure)."""
    gone = [what for what, seen in departures.items() if seen is None]
    if gone:
        pytest.fail(f"{mta} was expected to depart from the RFCs here and conforms now: {'; '.join(gone)}. Remove "
                    "the expected departure from the scenario.")
    pytest.xfail(f"{mta} departs from the RFCs: "
                 + "; ".join(f"{what} (seen: {seen})" for what, seen in departures.items()))


__all__: Sequence[str] = ("dsn_profile", "status_or_undefined", "reported_recipient", "own_diagnostic", "dsn_of",
                          "known_departures")
