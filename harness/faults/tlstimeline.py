"""When each node's client had to use TLS: the TlsPolicy faults as they came and went, by position in the topology's
event log, for the story of each hop (harness.verdict: Hop.tls_required) and the report's path picture.

    timeline = TlsTimeline()
    before = events.mark(); ledger.apply(TlsPolicy("library", "encrypt")); timeline.note(ledger.faults, name_of,
                                                                                      before, events.mark())
    timeline.required("library", seq)   # "TlsPolicy(library, level='encrypt')" for what library logged at seq

A stricter policy counts from the moment it holds (the log position after its faults were applied), a looser one
from the moment its removal began: a hop logged while a change was under way is never said to break a policy it
may not have been under yet.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ..mta.facts import requires_tls
from . import Fault, TlsPolicy


class TlsTimeline:
    """The TlsPolicy level of each node over the event log (the baseline's, "", where none applies)."""

    def __init__(self) -> None:
        self.levels: dict[str, str] = {}  # node -> the level applied now
        self.history: list[tuple[int, str, str]] = []  # (from this log position, node, level)

    def note(self, faults: Iterable[Fault], name_of: Callable[[str], str], before: int, after: int) -> None:
        """The faults applied now (`faults`, in order; `name_of` gives a fault's node name), after a change that
        began at log position `before` and held at `after`."""
        now: dict[str, str] = {}
        for f in faults:
            if isinstance(f, TlsPolicy):
                now[name_of(f.node)] = f.level
        for node in sorted(set(now) | set(self.levels)):
            old, new = self.levels.get(node, ""), now.get(node, "")
            if old != new:
                self.history.append((after if requires_tls(new) else before, node, new))
        self.levels = now

    def required(self, node: str, seq: int) -> str:
        """Why `node`'s client had to use TLS at log position `seq` ("TlsPolicy(library, level='encrypt')"), "" when
        it did not."""
        level = ""
        for mark, name, lvl in self.history:
            if name == node and mark <= seq:
                level = lvl
        return f"TlsPolicy({node}, level={level!r})" if requires_tls(level) else ""
