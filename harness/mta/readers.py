"""Each MTA's log reader (harness.mta.<kind>.evidence), found by kind: where harness.evidence hands the events of a
node to the package of the MTA that wrote them, and where a server's 250 reply is read in its MTA's words."""

from __future__ import annotations

import importlib
from types import ModuleType

from ..errors import UsageError

# The MTA whose reader reads a line no MTA wrote (a DNS or mock node's, one made by hand): it finds nothing in it.
DEFAULT_KIND = "postfix"
# Every MTA package whose log reader the core may need (a world may mix them)
READERS = ("postfix", "exim")


def evidence_reader(kind: str) -> ModuleType:
    """The log reader of MTA `kind` (harness.mta.<kind>.evidence): the functions harness.evidence dispatches to;
    "" is DEFAULT_KIND's."""
    kind = kind or DEFAULT_KIND
    if kind not in READERS:
        raise UsageError(f"no log reader for MTA kind {kind!r}; MTAs: {', '.join(READERS)}")
    return importlib.import_module(f"{__package__}.{kind}.evidence")


def queued_as(text: str) -> str:
    """The queue id a server's 250 reply to the end of data names, in the words of whichever MTA gave it
    ("250 2.0.0 Ok: queued as ABC", "250 OK id=1vXyZ1-000000-Ab"); "" when none says it."""
    for kind in READERS:
        qid = str(evidence_reader(kind).queued_as(text))
        if qid:
            return qid
    return ""
