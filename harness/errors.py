"""The one exception root. Every error the harness raises on purpose is a `MailharnessError`, so a user can
catch them all with one clause; each kind keeps the builtin base it had (a `VerdictError` is still an
`AssertionError`, so pytest shows it as a failed assertion; a `ConfigError` is still a `ValueError`)."""

from __future__ import annotations


class MailharnessError(Exception):
    """Base of every error the harness raises on purpose (the messages say what was expected, what happened,
    and the last lines of the relevant mail log)."""
