"""A wrong keyword to the public API is a TypeError (and a MailharnessError) that names the nearest valid keyword
and lists them all, in the order of the signature; a right one still works."""

from __future__ import annotations

import dataclasses
import inspect
import pickle
from collections.abc import Callable
from typing import Any

import pytest

import harness
from harness import (
    DiskFull,
    Fault,
    MailharnessError,
    MailTopology,
    NodeSpec,
    Sent,
    Story,
    TopologySpec,
    UnknownUser,
    assert_dsn,
    make_message,
    parse_dsn,
    validate,
)
from harness.errors import KeywordError
from harness.keywords import keywords, message
from harness.mail import Mailbox
from tests.dsn.builder import build


def test_assert_dsn_says_which_keyword_was_meant_and_lists_the_valid_ones() -> None:
    with pytest.raises(TypeError) as caught:
        assert_dsn(build(), final_recipient="jill@library.example")  # type: ignore[call-arg]
    text = str(caught.value)
    assert text.startswith("assert_dsn() got an unexpected keyword argument 'final_recipient'; "
                           "did you mean 'recipient'? Valid: ")
    valid = text.split("Valid: ", 1)[1].split(", ")
    assert valid == [p for p in inspect.signature(assert_dsn).parameters]  # every keyword, in the signature's order
    assert isinstance(caught.value, KeywordError) and isinstance(caught.value, MailharnessError)


def test_a_misspelling_gets_the_nearest_keyword() -> None:
    with pytest.raises(KeywordError, match=r"'diagnostic_code'; did you mean 'diagnostic_contains'\?"):
        assert_dsn(b"", diagnostic_code="5.1.1")  # type: ignore[call-arg]
    with pytest.raises(KeywordError, match=r"'statuss'; did you mean 'status'\?"):
        assert_dsn(b"", statuss="5.1.1")  # type: ignore[call-arg]


def test_nothing_near_gets_no_guess_but_still_the_list() -> None:
    with pytest.raises(KeywordError) as caught:
        assert_dsn(b"", zzz=1)  # type: ignore[call-arg]
    assert str(caught.value).startswith("assert_dsn() got an unexpected keyword argument 'zzz'. "
                                        "Valid: dsn_or_message, ")
    assert "did you mean" not in str(caught.value)


def test_several_wrong_keywords_are_named_together() -> None:
    with pytest.raises(KeywordError, match=r"got unexpected keyword arguments 'final_recipient' \(did you mean "
                                           r"'recipient'\?\), 'zzz'\. Valid: "):
        assert_dsn(b"", final_recipient="x", zzz=1)  # type: ignore[call-arg]


def _raises_on(call: Callable[..., Any], what: str, wrong: str, meant: str, **right: Any) -> None:
    with pytest.raises(KeywordError, match=rf"^{what}\(\) got an unexpected keyword argument '{wrong}'; did you "
                                           rf"mean '{meant}'\? Valid: .*\b{meant}\b"):
        call(**{wrong: None}, **right)


@pytest.mark.parametrize(("call", "what", "wrong", "meant"), [
    (lambda **kw: NodeSpec("gateway", "corp.example", **kw), "NodeSpec", "user", "users"),
    (lambda **kw: NodeSpec("gateway", "corp.example", **kw), "NodeSpec", "release", "version"),
    (lambda **kw: TopologySpec(**kw), "TopologySpec", "node", "nodes"),
    (lambda **kw: MailTopology(**kw), "MailTopology", "timeout", "ready_timeout"),
    (lambda **kw: UnknownUser("library", **kw), "UnknownUser", "usr", "user"),
    (lambda **kw: DiskFull("library", **kw), "DiskFull", "retry", "retry_for"),
    (lambda **kw: make_message("a@b.example", [], **kw), "make_message", "subjet", "subject"),
    (lambda **kw: validate(b"", **kw), "validate", "profil", "profile"),
    (lambda **kw: parse_dsn(b"", **kw), "parse_dsn", "sourc", "source"),
], ids=lambda x: x if isinstance(x, str) else "")
def test_constructors_and_functions_of_the_public_api(call: Callable[..., Any], what: str, wrong: str,
                                                      meant: str) -> None:
    _raises_on(call, what, wrong, meant)


# Methods are checked before they run, so an object that is never used stands in for the instance.
@pytest.mark.parametrize(("method", "wrong", "meant"), [
    (MailTopology.send, "to", "recipients"),
    (MailTopology.send, "notfy", "notify"),
    (MailTopology.submit, "subjct", "subject"),
    (Story.assert_rejected_by, "enhanced", "status"),
    (Story.rejected_by, "stag", "stage"),
    (Story.assert_unreachable, "client", "by"),
    (Story.assert_failed_at, "rcpt", "recipient"),
    (Story.bounced_by, "sender", "to"),
    (Story.assert_delivered_to, "adress", "address"),
    (Sent.verdict, "timout", "timeout"),
    (Mailbox.wait_for, "timout", "timeout"),
    (Mailbox.wait_for_dsn, "timout", "timeout"),
], ids=lambda x: x.__qualname__ if callable(x) else x)
def test_methods_users_call_with_keywords(method: Callable[..., Any], wrong: str, meant: str) -> None:
    _raises_on(lambda **kw: method(object(), **kw), method.__qualname__, wrong, meant)


def test_every_fault_of_the_public_api_checks_its_keywords() -> None:
    faults = [getattr(harness, n) for n in harness.__all__]
    faults = [f for f in faults if isinstance(f, type) and issubclass(f, Fault) and f is not Fault]
    assert len(faults) >= 13
    for cls in faults:
        fields = [f.name for f in dataclasses.fields(cls)]
        with pytest.raises(KeywordError, match=rf"^{cls.__name__}\(\) got an unexpected keyword argument 'nod'; "
                                               rf"did you mean 'node'\? Valid: {', '.join(fields)}$"):
            cls(nod="library")


def test_a_fault_of_your_own_is_checked_too() -> None:
    @dataclasses.dataclass(frozen=True)
    class Mine(Fault):
        depth: int = 1

    assert Mine("library", depth=2).depth == 2
    with pytest.raises(KeywordError, match=r"Mine\(\) got an unexpected keyword argument 'deep'; did you mean "
                                           r"'depth'\? Valid: node, depth"):
        Mine("library", deep=2)  # type: ignore[call-arg]


def test_right_keywords_still_work_and_values_round_trip() -> None:
    node = NodeSpec("gateway", "corp.example", users=("alice",), main_cf={"a": "b"})
    assert node.users == ("alice",) and node.hostname == "mx.corp.example"
    assert dataclasses.replace(node, version="").name == "gateway"  # replace() passes every field as a keyword
    assert TopologySpec(nodes=(node,), name="corp").name == "corp"
    assert pickle.loads(pickle.dumps(UnknownUser("library", user="jill"))) == UnknownUser("library", "jill")
    assert make_message("a@b.example", ["c@d.example"], subject="hi")["Subject"] == "hi"


def test_signatures_and_docstrings_survive_for_help_and_the_api_reference() -> None:
    assert "recipient" in inspect.signature(assert_dsn).parameters
    assert assert_dsn.__doc__ and assert_dsn.__doc__.startswith("Assert that a message is a compliant DSN")
    assert list(inspect.signature(NodeSpec).parameters)[:3] == ["name", "domain", "users"]
    assert list(inspect.signature(UnknownUser).parameters) == ["node", "user"]  # a subclass: its own fields
    # Sphinx reads a class's __signature__ first: each class shows its own fields, not its base's
    shown = [list(c.__signature__.parameters) for c in (Fault, UnknownUser, DiskFull)]  # type: ignore[attr-defined]
    assert shown == [["node"], ["node", "user"], ["node", "retry_for"]]
    assert list(inspect.signature(Story.assert_rejected_by).parameters)[:2] == ["self", "node"]


def test_other_mistakes_stay_pythons_own() -> None:
    with pytest.raises(TypeError) as caught:
        NodeSpec("gateway")  # type: ignore[call-arg]
    assert not isinstance(caught.value, KeywordError) and "domain" in str(caught.value)


def test_a_function_that_takes_any_keyword_is_left_alone() -> None:
    def anything(**kw: object) -> int:
        return len(kw)

    assert keywords(anything) is anything


def test_the_message_itself() -> None:
    assert message("f()", ["colour"], ["color", "size"]) == \
        "f() got an unexpected keyword argument 'colour'; did you mean 'color'? Valid: color, size"
    assert message("f()", ["x"], [], {}) == "f() got an unexpected keyword argument 'x'. Valid: (none)"
    assert message("f()", ["to"], ["recipient", "tot"], {"to": "recipient"}).startswith(
        "f() got an unexpected keyword argument 'to'; did you mean 'recipient'?")
