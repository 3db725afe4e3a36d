"""Programmable mock SMTP server (in-process on aiosmtpd, or in the mock-smtp container).

Self-contained: imports only the standard library and aiosmtpd (1.4.3+), so
this directory plus an (empty) ``harness/__init__.py`` is all the container
needs.  See ``docs/mock-smtp.md``.

>>> from harness.mock import MockSMTP, Script, rule, step
>>> script = Script().add(rule("rcpt", step("451 4.3.2 busy", times=2), match="*@slow.example"))
>>> with MockSMTP(script) as mock:          # doctest: +SKIP
...     ...                                  # send mail to ("127.0.0.1", mock.port)
...     mock.wait_for_messages(1)

The CLI module (``harness.mock.server``) is not imported here, so that
``python3 -m harness.mock.server`` runs cleanly.
"""

from .inprocess import MockSMTP
from .recorder import MockTimeout, Recorder
from .records import (
    MessageRecord,
    RcptRecord,
    SessionRecord,
    TranscriptLine,
    reply_code,
    xtext_decode,
    xtext_encode,
)
from .script import (
    DEFAULT_EXTENSIONS,
    KNOWN_EXTENSIONS,
    Action,
    Rule,
    Script,
    ScriptedReply,
    Stage,
    Step,
    rule,
    step,
)
from .spool import Spool, SpoolWriter, read_spool
from .state import Decision, ScriptFile, ScriptState

__all__ = [
    "DEFAULT_EXTENSIONS",
    "KNOWN_EXTENSIONS",
    "Action",
    "Decision",
    "MessageRecord",
    "MockSMTP",
    "MockTimeout",
    "RcptRecord",
    "Recorder",
    "ScriptedReply",
    "Rule",
    "Script",
    "ScriptFile",
    "ScriptState",
    "SessionRecord",
    "Spool",
    "SpoolWriter",
    "Stage",
    "Step",
    "TranscriptLine",
    "read_spool",
    "reply_code",
    "rule",
    "step",
    "xtext_decode",
    "xtext_encode",
]
