"""The one exception root. Every error the harness raises on purpose is a `MailharnessError`, so a user can
catch them all with one clause; each kind keeps the builtin base it had (a `VerdictError` is still an
`AssertionError`, so pytest shows it as a failed assertion; a `ConfigError` is still a `ValueError`)."""

from __future__ import annotations


class MailharnessError(Exception):
    """Base of every error the harness raises on purpose (the messages say what was expected, what happened,
    and the last lines of the relevant mail log)."""


class UsageError(MailharnessError, ValueError):
    """A value given to the harness (an option, a spec, an argument) is not one it takes; the message lists the
    ones it does."""


class NotFound(MailharnessError, KeyError):
    """No such thing by that name (a node, a mailbox, a bundled folder); the message lists what there is."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class WrongKind(MailharnessError, TypeError):
    """The thing named is of another kind than the call needs (a mock node where a real MTA is needed...)."""


class KeywordError(MailharnessError, TypeError):
    """A keyword argument the public API does not take: the message names the nearest valid keyword and lists them
    all (harness.keywords)."""


class StateError(MailharnessError, RuntimeError):
    """The call does not fit the object's state (a topology started twice, or not started)."""
