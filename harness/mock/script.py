"""Scripts for the mock SMTP server: plain, immutable data.

A :class:`Script` is a tuple of :class:`Rule` objects plus the EHLO
extensions to advertise.  Each rule answers one *stage* of the SMTP dialogue
(``banner``, ``ehlo``, ``helo``, ``mail``, ``rcpt``, ``data``, ``eod``),
optionally only for addresses matching a glob pattern, with a sequence of
:class:`Step` objects.  A step says what to answer (a :class:`ScriptedReply`, or
``None`` for the server's normal answer), how many times (``times``; ``None``
means for ever), how long to wait first (``delay``, a tarpit) and whether to
reply at all (``action``: ``"reply"``, ``"disconnect"`` or ``"hang"``).

"451 4.3.2 twice, then 250" for recipients at slow.example::

    >>> greylist = rule("rcpt", step("451 4.3.2 try again later", times=2),
    ...                 "250 2.1.5 Ok", match="*@slow.example")
    >>> script = Script(rules=(greylist,)).hide("DSN")
    >>> Script.from_json(script.to_json()) == script
    True

Counts are kept per rule by the interpreter (:mod:`harness.mock.state`),
across sessions.  This module only imports the standard library.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast, get_args

from .tls import CERTIFICATES

Stage = Literal["banner", "ehlo", "helo", "mail", "rcpt", "data", "eod"]
Action = Literal["reply", "disconnect", "hang"]

STAGES: tuple[str, ...] = get_args(Stage)
ACTIONS: tuple[str, ...] = get_args(Action)

#: Extensions advertised by default, in the order they appear in the EHLO reply.
DEFAULT_EXTENSIONS: frozenset[str] = frozenset(
    {"PIPELINING", "SIZE", "8BITMIME", "DSN", "ENHANCEDSTATUSCODES", "SMTPUTF8"}
)
#: Extensions whose advertisement also changes what the mock accepts.
#: STARTTLS works where the server has a certificate (the mock-smtp container); elsewhere it is answered 454.
KNOWN_EXTENSIONS: tuple[str, ...] = (
    "PIPELINING",
    "SIZE",
    "STARTTLS",
    "ENHANCEDSTATUSCODES",
    "8BITMIME",
    "DSN",
    "SMTPUTF8",
)
DEFAULT_SIZE_LIMIT = 10_240_000
SCRIPT_VERSION = 1

_REPLY_RE = re.compile(r"(\d{3})(?:[ -](.*))?", re.DOTALL)
_ENHANCED_RE = re.compile(r"[245]\.\d{1,3}\.\d{1,3}")
_KEYWORD_RE = re.compile(r"[A-Z0-9][A-Z0-9-]*")


@dataclass(frozen=True)
class ScriptedReply:
    """One SMTP reply: ``ScriptedReply(451, "4.3.2", "try again later")``.

    ``text`` may contain ``"\\n"`` for a multi-line reply; every line then
    carries the code (and the enhanced code, if any)::

        >>> ScriptedReply.parse("451 4.3.2 try again later")
        ScriptedReply(code=451, enhanced='4.3.2', text='try again later')
        >>> ScriptedReply(250, None, "first\\nsecond").lines()
        ['250-first', '250 second']
    """

    code: int
    enhanced: str | None = None
    text: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.code, bool) or not isinstance(self.code, int):
            raise TypeError(f"reply code must be an int, not {self.code!r}")
        if not 200 <= self.code <= 599:
            raise ValueError(f"reply code must be 200..599, not {self.code}")
        if self.enhanced is not None and not _ENHANCED_RE.fullmatch(self.enhanced):
            raise ValueError(f"bad enhanced status code {self.enhanced!r}")
        if not isinstance(self.text, str) or "\r" in self.text:
            raise ValueError(f"reply text must be a str without CR: {self.text!r}")

    @classmethod
    def parse(cls, text: str) -> ScriptedReply:
        """Parse ``"451 4.3.2 text"``, ``"250 text"`` or ``"554"``.

        An enhanced code is recognised only right after the code.
        """
        m = _REPLY_RE.fullmatch(text.strip(" "))
        if m is None:
            raise ValueError(f"not an SMTP reply: {text!r}")
        code, rest = int(m.group(1)), m.group(2) or ""
        first, sep, more = rest.partition(" ")
        if _ENHANCED_RE.fullmatch(first):
            return cls(code, first, more)
        return cls(code, None, rest)

    def lines(self) -> list[str]:
        """The reply as wire lines (without CRLF)."""
        texts = self.text.split("\n")
        prefix = f"{self.enhanced} " if self.enhanced else ""
        out = []
        for i, line in enumerate(texts):
            sep = " " if i == len(texts) - 1 else "-"
            body = f"{prefix}{line}" if line else prefix.rstrip(" ")
            out.append(f"{self.code}{sep}{body}" if body or sep == "-" else str(self.code))
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())


@dataclass(frozen=True)
class Step:
    """What a rule does for a number of matching commands.

    ``reply=None`` means "the server's normal reply" (useful with ``delay``).
    ``times=None`` means for ever; ``delay`` is seconds to wait before acting.
    ``action="disconnect"`` closes the connection without replying;
    ``action="hang"`` never replies (until the client gives up).
    """

    reply: ScriptedReply | None = None
    times: int | None = None
    delay: float = 0.0
    action: Action = "reply"

    def __post_init__(self) -> None:
        if self.reply is not None and not isinstance(self.reply, ScriptedReply):
            raise TypeError(f"step reply must be a ScriptedReply or None: {self.reply!r}")
        if self.times is not None and (
            isinstance(self.times, bool) or not isinstance(self.times, int) or self.times < 1
        ):
            raise ValueError(f"step times must be None or an int >= 1: {self.times!r}")
        if isinstance(self.delay, bool) or not isinstance(self.delay, (int, float)):
            raise TypeError(f"step delay must be a number: {self.delay!r}")
        if not math.isfinite(self.delay) or self.delay < 0:
            raise ValueError(f"step delay must be finite and >= 0: {self.delay!r}")
        object.__setattr__(self, "delay", float(self.delay))
        if self.action not in ACTIONS:
            raise ValueError(f"step action must be one of {ACTIONS}: {self.action!r}")


@dataclass(frozen=True)
class Rule:
    """Scripted answers for one stage.

    ``match`` is a case-insensitive glob (:mod:`fnmatch`) on: the sender for
    ``mail`` (``"<>"`` matches the null sender), the recipient for ``rcpt``,
    any accepted recipient of the transaction for ``data`` and ``eod``, the
    client's EHLO/HELO name for ``ehlo``/``helo`` and the client IP address
    for ``banner``.  ``None`` matches everything.  Once all steps with a
    finite ``times`` are used up the rule no longer applies.
    """

    stage: Stage
    steps: tuple[Step, ...]
    match: str | None = None

    def __post_init__(self) -> None:
        if self.stage not in STAGES:
            raise ValueError(f"rule stage must be one of {STAGES}: {self.stage!r}")
        object.__setattr__(self, "steps", tuple(self.steps))
        if not self.steps or not all(isinstance(s, Step) for s in self.steps):
            raise ValueError("a rule needs at least one Step")
        if self.match is not None and not isinstance(self.match, str):
            raise TypeError(f"rule match must be a str or None: {self.match!r}")


def _keyword(name: str) -> str:
    word = name.strip().upper()
    if not _KEYWORD_RE.fullmatch(word.split(" ")[0]) or "\n" in word or "\r" in word:
        raise ValueError(f"bad extension keyword {name!r}")
    return word


@dataclass(frozen=True)
class Script:
    """The whole behaviour of a mock server.

    ``extensions`` are the advertised EHLO keywords (``SIZE`` is advertised
    as ``SIZE <size_limit>``; unknown keywords are advertised verbatim).
    Parameters of an extension that is not advertised are refused with 555.
    ``size_limit`` (bytes, 0 = none) is enforced even when SIZE is hidden.
    ``hostname`` overrides the server's hostname in the banner and EHLO.
    ``logins``: (user, password) pairs. When there are any, the mock is a submission server: AUTH PLAIN and LOGIN
    are offered once TLS is on (AUTH before STARTTLS gets 538 5.7.11), these pairs are accepted, and MAIL before a
    successful AUTH gets 530 5.7.0. STARTTLS itself is offered when ``extensions`` hold it and the server has a
    certificate (the mock-smtp container has one).
    ``auth_in_clear``: AUTH is offered and accepted before STARTTLS too, as a server with Postfix's default
    ``smtpd_tls_auth_only = no`` does: a client that would send its password in clear has the chance (the mock
    records the AUTH command either way).
    ``certificate``: the kind of certificate STARTTLS presents (harness.mock.tls.CERTIFICATES): "valid" (issued by
    the topology's own CA for the node's host name), "expired", "wrong_name", "self_signed" or "untrusted" (issued
    by a CA no node trusts).
    """

    rules: tuple[Rule, ...] = ()
    extensions: frozenset[str] = DEFAULT_EXTENSIONS
    size_limit: int = DEFAULT_SIZE_LIMIT
    hostname: str | None = None
    logins: tuple[tuple[str, str], ...] = ()
    certificate: str = "valid"
    auth_in_clear: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "rules", tuple(self.rules))
        if not all(isinstance(r, Rule) for r in self.rules):
            raise TypeError("Script.rules must hold Rule objects")
        if isinstance(self.extensions, str):
            raise TypeError("Script.extensions must be a collection of keywords")
        object.__setattr__(self, "extensions", frozenset(_keyword(e) for e in self.extensions))
        if isinstance(self.size_limit, bool) or not isinstance(self.size_limit, int):
            raise TypeError(f"size_limit must be an int: {self.size_limit!r}")
        if self.size_limit < 0:
            raise ValueError("size_limit must be >= 0")
        if self.hostname is not None and (not self.hostname or any(c.isspace() for c in self.hostname)):
            raise ValueError(f"bad hostname {self.hostname!r}")
        object.__setattr__(self, "logins", tuple((str(u), str(p)) for u, p in self.logins))
        if self.certificate not in CERTIFICATES:
            raise ValueError(f"certificate must be one of {', '.join(CERTIFICATES)}: {self.certificate!r}")
        if not isinstance(self.auth_in_clear, bool):
            raise TypeError(f"auth_in_clear must be a bool: {self.auth_in_clear!r}")

    # -- small builders -------------------------------------------------
    def add(self, *rules: Rule) -> Script:
        """A copy with ``rules`` appended (rules are tried in order)."""
        return dataclasses.replace(self, rules=self.rules + tuple(rules))

    def hide(self, *extensions: str) -> Script:
        """A copy that does not advertise ``extensions``."""
        gone = {_keyword(e) for e in extensions}
        return dataclasses.replace(self, extensions=self.extensions - gone)

    def advertise(self, *extensions: str) -> Script:
        """A copy that also advertises ``extensions``."""
        return dataclasses.replace(self, extensions=self.extensions | {_keyword(e) for e in extensions})

    def login(self, user: str, password: str) -> Script:
        """A copy that accepts AUTH as `user` with `password` (and then requires AUTH before MAIL)."""
        return dataclasses.replace(self, logins=(*self.logins, (user, password)))

    def offer_auth_in_clear(self) -> Script:
        """A copy that offers and accepts AUTH before STARTTLS too (the passwords of careless clients in clear)."""
        return dataclasses.replace(self, auth_in_clear=True)

    def present(self, certificate: str) -> Script:
        """A copy whose STARTTLS presents the certificate of that kind ("expired", "wrong_name"...)."""
        return dataclasses.replace(self, certificate=certificate)

    def advertises(self, extension: str) -> bool:
        return _keyword(extension) in self.extensions

    # -- JSON -------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "version": SCRIPT_VERSION,
            "hostname": self.hostname,
            "size_limit": self.size_limit,
            "extensions": sorted(self.extensions),
            "rules": [_rule_to_dict(r) for r in self.rules],
            "logins": [list(pair) for pair in self.logins],
            "certificate": self.certificate,
            "auth_in_clear": self.auth_in_clear,
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, sort_keys=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Script:
        _check_keys("script", data, {"version", "hostname", "size_limit", "extensions", "rules", "logins",
                                      "certificate", "auth_in_clear"})
        version = data.get("version", SCRIPT_VERSION)
        if version != SCRIPT_VERSION:
            raise ValueError(f"unsupported script version {version!r}")
        return cls(
            rules=tuple(_rule_from_dict(r) for r in _list(data.get("rules", []), "rules")),
            extensions=frozenset(_list(data.get("extensions", sorted(DEFAULT_EXTENSIONS)), "extensions")),
            size_limit=data.get("size_limit", DEFAULT_SIZE_LIMIT),
            hostname=data.get("hostname"),
            logins=tuple((str(u), str(p)) for u, p in _list(data.get("logins", []), "logins")),
            certificate=data.get("certificate", "valid"),
            auth_in_clear=data.get("auth_in_clear", False),
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> Script:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("a script file must hold a JSON object")
        return cls.from_dict(data)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the script as JSON atomically (temporary file, then rename)."""
        atomic_write(path, self.to_json().encode())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Script:
        with open(path, "rb") as f:
            return cls.from_json(f.read())


def step(
    reply: str | ScriptedReply | None = None,
    *,
    times: int | None = None,
    delay: float = 0.0,
    action: Action = "reply",
) -> Step:
    """Build a :class:`Step`; ``reply`` may be a string like ``"451 4.3.2 busy"``."""
    if isinstance(reply, str):
        reply = ScriptedReply.parse(reply)
    return Step(reply=reply, times=times, delay=delay, action=action)


def rule(stage: Stage, *steps: Step | ScriptedReply | str, match: str | None = None) -> Rule:
    """Build a :class:`Rule`; bare strings/replies become steps that last for ever.

    >>> rule("mail", "550 5.7.1 go away", match="*@spam.example").steps[0].reply.code
    550
    """
    return Rule(stage=stage, steps=tuple(s if isinstance(s, Step) else step(s) for s in steps), match=match)


def atomic_write(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory."""
    directory = os.path.dirname(os.fspath(path)) or "."
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


# -- JSON helpers ------------------------------------------------------------


def _check_keys(what: str, data: Mapping[str, Any], allowed: set[str]) -> None:
    if not isinstance(data, Mapping):
        raise ValueError(f"{what} must be a JSON object, not {data!r}")
    unknown = set(data) - allowed
    if unknown:
        raise ValueError(f"unknown {what} field(s): {', '.join(sorted(unknown))}")


def _list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError(f"{what} must be a JSON array, not {value!r}")
    return value


def _reply_to_dict(reply: ScriptedReply) -> dict[str, Any]:
    return {"code": reply.code, "enhanced": reply.enhanced, "text": reply.text}


def _reply_from_json(value: Any) -> ScriptedReply | None:
    if value is None:
        return None
    if isinstance(value, str):
        return ScriptedReply.parse(value)
    _check_keys("reply", value, {"code", "enhanced", "text"})
    return ScriptedReply(value["code"], value.get("enhanced"), value.get("text", ""))


def _step_to_dict(s: Step) -> dict[str, Any]:
    return {
        "reply": None if s.reply is None else _reply_to_dict(s.reply),
        "times": s.times,
        "delay": s.delay,
        "action": s.action,
    }


def _step_from_dict(data: Any) -> Step:
    if isinstance(data, str):
        return step(data)
    _check_keys("step", data, {"reply", "times", "delay", "action"})
    return Step(
        reply=_reply_from_json(data.get("reply")),
        times=data.get("times"),
        delay=data.get("delay", 0.0),
        action=cast(Action, data.get("action", "reply")),
    )


def _rule_to_dict(r: Rule) -> dict[str, Any]:
    return {"stage": r.stage, "match": r.match, "steps": [_step_to_dict(s) for s in r.steps]}


def _rule_from_dict(data: Any) -> Rule:
    _check_keys("rule", data, {"stage", "match", "steps"})
    return Rule(
        stage=cast(Stage, data.get("stage")),
        steps=tuple(_step_from_dict(s) for s in _list(data.get("steps"), "steps")),
        match=data.get("match"),
    )


__all__ = [
    "ACTIONS",
    "DEFAULT_EXTENSIONS",
    "DEFAULT_SIZE_LIMIT",
    "KNOWN_EXTENSIONS",
    "STAGES",
    "Action",
    "ScriptedReply",
    "Rule",
    "Script",
    "Stage",
    "Step",
    "atomic_write",
    "rule",
    "step",
]
