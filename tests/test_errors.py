"""One exception root: every error the harness raises on purpose is a MailharnessError and keeps its old base."""

from __future__ import annotations

import pytest

import harness
from harness.dsn.assertions import DsnAssertionError
from harness.dsn.model import NotADSN, NotADSNError
from harness.engine.base import BuildError
from harness.engine.docker import EngineUnavailable
from harness.errors import KeywordError, MailharnessError, NotFound, StateError, UsageError, WrongKind
from harness.evidence.events import FollowerDied, MailTimeout
from harness.mock.params import Refusal
from harness.mock.recorder import MockTimeout
from harness.sut.byoc import ConfigError

REPARENTED = [
    (MailTimeout, AssertionError),
    (FollowerDied, MailTimeout),
    (EngineUnavailable, RuntimeError),
    (BuildError, RuntimeError),
    (ConfigError, ValueError),
    (NotADSNError, ValueError),
    (MockTimeout, TimeoutError),
    (DsnAssertionError, AssertionError),
    (UsageError, ValueError),
    (NotFound, KeyError),
    (WrongKind, TypeError),
    (StateError, RuntimeError),
    (KeywordError, TypeError),
]


def _make(cls: type[Exception], message: str) -> Exception:
    if cls is NotADSNError:  # built from the parse result; its message names the source and the reason
        return NotADSNError(NotADSN(source="m.eml", line_endings="LF", headers=(), content_type="text/plain",
                                    reason=message))
    return cls(message)


@pytest.mark.parametrize(("cls", "old_base"), REPARENTED, ids=[c.__name__ for c, _ in REPARENTED])
def test_each_error_is_a_mailharness_error_and_still_of_its_old_base(cls: type[Exception],
                                                                     old_base: type[Exception]) -> None:
    assert issubclass(cls, MailharnessError)
    assert issubclass(cls, old_base)
    with pytest.raises(old_base, match="the message, unchanged$"):
        raise _make(cls, "the message, unchanged")


def test_one_clause_catches_them_all() -> None:
    for cls, _ in REPARENTED:
        with pytest.raises(MailharnessError):
            raise _make(cls, "x")


def test_messages_are_unchanged() -> None:
    assert str(NotADSNError(NotADSN(source="m.eml", line_endings="LF", headers=(), content_type="text/plain",
                                    reason="no status part"))) == "m.eml: not a DSN (ordinary): no status part"
    assert str(ConfigError("main.cf: missing")) == "main.cf: missing"


def test_the_mock_refusal_is_internal_control_flow_not_a_user_error() -> None:
    # Refusal carries an SMTP reply from the argument parser to the mock's protocol, which answers with it.
    assert not issubclass(Refusal, MailharnessError)


def test_the_root_is_in_the_public_api() -> None:
    assert harness.MailharnessError is MailharnessError
    assert "MailharnessError" in harness.__all__


def test_a_name_not_found_reads_as_its_message() -> None:
    assert str(NotFound("no node 'x'; nodes: store")) == "no node 'x'; nodes: store"  # KeyError would quote it


def test_wrong_arguments_to_the_public_api_are_mailharness_errors() -> None:
    from harness.dsn.profiles import check_profile
    from harness.plugin.shard import Shard

    with pytest.raises(UsageError, match="expected K/N"):
        Shard.parse("two of four")
    with pytest.raises(UsageError, match="unknown profile"):
        check_profile("no-such-profile")
