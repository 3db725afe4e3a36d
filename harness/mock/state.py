"""The script interpreter: the one place that decides what the mock answers.

:class:`ScriptState` holds the current :class:`~harness.mock.script.Script`
and one counter per rule.  The SMTP protocol asks it
``decide(stage, addresses)`` for every scripted stage; the first rule of that
stage whose pattern matches and which still has a step left answers, and its
counter goes up by one.  Counters live across sessions, which is what makes
"451 twice, then 250" deterministic even when the client reconnects::

    >>> from harness.mock.script import Script, rule, step
    >>> r = rule("rcpt", step("451 4.3.2 busy", times=2), "250 2.1.5 Ok")
    >>> state = ScriptState(Script(rules=(r,)))
    >>> [state.decide("rcpt", ["a@x"]).step.reply.code for _ in range(3)]
    [451, 451, 250]

Counters are keyed by the rule's *value*: replacing the script keeps the
count of every rule that is still present (equal), and new rules start at 0.
:meth:`ScriptState.reset_counters` sets them all back to 0.

:class:`ScriptFile` re-reads a JSON script file into a state when the file
changes (checked by ``stat`` only, cheap enough to call at every command).
"""

from __future__ import annotations

import fnmatch
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .script import Rule, Script, Stage, Step


@dataclass(frozen=True)
class Decision:
    """The rule and step chosen for one command.

    ``hit`` is how many times this rule has now answered (1 for the first).
    """

    rule_index: int
    rule: Rule
    step_index: int
    step: Step
    hit: int

    def describe(self) -> str:
        r = self.rule
        what = self.step.action if self.step.reply is None else str(self.step.reply).replace("\n", " | ")
        if self.step.reply is None and self.step.action == "reply":
            what = "default reply"
        delay = f" after {self.step.delay:g}s" if self.step.delay else ""
        pattern = "" if r.match is None else f" {r.match}"
        return (
            f"rule {self.rule_index} ({r.stage}{pattern}) step {self.step_index} "
            f"hit {self.hit}: {what}{delay}"
        )


def _matches(pattern: str | None, addresses: Iterable[str]) -> bool:
    if pattern is None:
        return True
    if pattern == "<>":
        return any(a == "" for a in addresses)
    pat = pattern.lower()
    return any(fnmatch.fnmatchcase(a.lower(), pat) for a in addresses)


def _pick_step(r: Rule, used: int) -> int | None:
    """Index of the step that answers the rule's ``used + 1``-th hit."""
    limit = 0
    for i, s in enumerate(r.steps):
        if s.times is None:
            return i
        limit += s.times
        if used < limit:
            return i
    return None


class ScriptState:
    """Thread-safe holder of the current script and of the rule counters."""

    def __init__(self, script: Script | None = None) -> None:
        self._lock = threading.Lock()
        self._script = script if script is not None else Script()
        self._counts: dict[Rule, int] = {}

    @property
    def script(self) -> Script:
        with self._lock:
            return self._script

    @script.setter
    def script(self, script: Script) -> None:
        if not isinstance(script, Script):
            raise TypeError(f"expected a Script, got {type(script).__name__}")
        with self._lock:
            self._script = script

    def decide(self, stage: Stage, addresses: Iterable[str] | str | None) -> Decision | None:
        """Choose the answer for one command, or ``None`` for the default.

        ``addresses`` are what the rule patterns are matched against (see
        :class:`~harness.mock.script.Rule`); a rule with ``match=None``
        applies even when there is no address.
        """
        if addresses is None:
            addrs: tuple[str, ...] = ()
        elif isinstance(addresses, str):
            addrs = (addresses,)
        else:
            addrs = tuple(addresses)
        with self._lock:
            for index, r in enumerate(self._script.rules):
                if r.stage != stage or not _matches(r.match, addrs):
                    continue
                used = self._counts.get(r, 0)
                step_index = _pick_step(r, used)
                if step_index is None:
                    continue
                self._counts[r] = used + 1
                return Decision(index, r, step_index, r.steps[step_index], used + 1)
        return None

    def hits(self, rule: Rule) -> int:
        """How many commands ``rule`` (or an equal rule) has answered so far."""
        with self._lock:
            return self._counts.get(rule, 0)

    def reset_counters(self) -> None:
        with self._lock:
            self._counts.clear()


class ScriptFile:
    """Keeps a :class:`ScriptState` in step with a JSON script file.

    :meth:`check` compares the file's ``stat`` with the last one loaded and
    re-reads the file if it changed.  A missing file means the default
    script (and counters back to 0); a file that does not parse is reported through ``log`` and the
    previous script stays in force (the file is read again at the next
    check, so a half-written file is picked up once it is complete).
    Writers should still write a temporary file and rename it.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        state: ScriptState,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.path = os.fspath(path)
        self.state = state
        self._log = log
        self._seen: tuple[int, int, int] | None = None
        self._lock = threading.Lock()

    def _say(self, text: str) -> None:
        if self._log is not None:
            self._log(text)

    def check(self) -> bool:
        """Reload if the file changed; return whether a new script was loaded."""
        with self._lock:
            try:
                st = os.stat(self.path)
            except FileNotFoundError:
                if self._seen != (0, 0, 0):
                    self._seen = (0, 0, 0)
                    self.state.script = Script()
                    self.state.reset_counters()  # a removed script is a fresh start (the harness's reset)
                    self._say(f"script {self.path} not found, using the default script")
                    return True
                return False
            key = (st.st_mtime_ns, st.st_size, st.st_ino)
            if key == self._seen:
                return False
            try:
                script = Script.load(self.path)
            except (OSError, ValueError, TypeError, KeyError) as e:
                self._say(f"script {self.path} not loaded ({type(e).__name__}: {e}); keeping the previous one")
                return False
            self._seen = key
            self.state.script = script
            self._say(f"script {self.path} loaded: {len(script.rules)} rule(s), "
                      f"extensions {' '.join(sorted(script.extensions)) or '(none)'}")
            return True


__all__ = ["Decision", "ScriptFile", "ScriptState"]
