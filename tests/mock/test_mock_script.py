"""Scripts as data: replies, steps, rules, JSON, and the interpreter's counters."""

from __future__ import annotations

import doctest
import importlib
import json
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.mock import (
    DEFAULT_EXTENSIONS,
    KNOWN_EXTENSIONS,
    Rule,
    Script,
    ScriptedReply,
    ScriptFile,
    ScriptState,
    Step,
    rule,
    step,
    xtext_decode,
    xtext_encode,
)
from harness.mock.script import STAGES

# -- ScriptedReply -------------------------------------------------------------------------


def test_reply_parse_with_enhanced_code() -> None:
    assert ScriptedReply.parse("451 4.3.2 try again later") == ScriptedReply(451, "4.3.2", "try again later")


def test_reply_parse_without_enhanced_code_and_bare_code() -> None:
    assert ScriptedReply.parse("250 mx.example.edu ESMTP") == ScriptedReply(250, None, "mx.example.edu ESMTP")
    assert ScriptedReply.parse("554") == ScriptedReply(554, None, "")
    assert ScriptedReply.parse("550 5.1.1") == ScriptedReply(550, "5.1.1", "")


@pytest.mark.parametrize("bad", ["", "hello", "45 short", "1234 long", "099 x"])
def test_reply_parse_rejects_non_replies(bad: str) -> None:
    with pytest.raises(ValueError):
        ScriptedReply.parse(bad)


def test_reply_lines_multiline_repeat_code_and_enhanced() -> None:
    assert ScriptedReply(451, "4.7.1", "first\nsecond").lines() == ["451-4.7.1 first", "451 4.7.1 second"]
    assert ScriptedReply(250, None, "").lines() == ["250"]
    assert str(ScriptedReply(550, "5.1.1", "no such user")) == "550 5.1.1 no such user"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"code": 600},
        {"code": 199},
        {"code": 250, "enhanced": "2.0"},
        {"code": 250, "enhanced": "3.0.0"},
        {"code": 250, "text": "a\r\nb"},
    ],
)
def test_reply_validates(kwargs: dict[str, object]) -> None:
    with pytest.raises((ValueError, TypeError)):
        ScriptedReply(**kwargs)  # type: ignore[arg-type]


# -- Step / Rule / Script -------------------------------------------------------------


def test_step_and_rule_builders() -> None:
    r = rule("rcpt", step("451 4.3.2 busy", times=2), "250 2.1.5 Ok", match="*@slow.example")
    assert r == Rule(
        stage="rcpt",
        steps=(Step(ScriptedReply(451, "4.3.2", "busy"), times=2), Step(ScriptedReply(250, "2.1.5", "Ok"))),
        match="*@slow.example",
    )


@pytest.mark.parametrize(
    "make",
    [
        lambda: Step(times=0),
        lambda: Step(delay=-1),
        lambda: Step(delay=float("nan")),
        lambda: Step(action="explode"),  # type: ignore[arg-type]
        lambda: Rule(stage="quit", steps=(Step(),)),  # type: ignore[arg-type]
        lambda: Rule(stage="rcpt", steps=()),
        lambda: Script(size_limit=-1),
        lambda: Script(extensions="DSN"),  # type: ignore[arg-type]
        lambda: Script(hostname="two words"),
    ],
)
def test_invalid_script_parts_are_refused(make: object) -> None:
    with pytest.raises((ValueError, TypeError)):
        make()  # type: ignore[operator]


def test_hide_and_advertise() -> None:
    s = Script().hide("dsn", "SMTPUTF8").advertise("starttls")
    assert s.extensions == (DEFAULT_EXTENSIONS - {"DSN", "SMTPUTF8"}) | {"STARTTLS"}
    assert not s.advertises("DSN") and s.advertises("STARTTLS")


def test_script_json_example_and_string_shorthands() -> None:
    text = json.dumps(
        {
            "version": 1,
            "extensions": ["PIPELINING", "SIZE"],
            "size_limit": 1000,
            "rules": [
                {"stage": "rcpt", "match": "*@slow.example", "steps": [{"reply": "451 4.3.2 busy", "times": 2}]},
                {"stage": "eod", "steps": ["250 2.0.0 fine", {"action": "disconnect", "delay": 1.5}]},
            ],
        }
    )
    s = Script.from_json(text)
    assert s.rules[0].steps[0] == Step(ScriptedReply(451, "4.3.2", "busy"), times=2)
    assert s.rules[1].steps == (Step(ScriptedReply(250, "2.0.0", "fine")), Step(delay=1.5, action="disconnect"))
    assert s.extensions == {"PIPELINING", "SIZE"} and s.size_limit == 1000 and s.hostname is None
    assert Script.from_json(s.to_json()) == s


@pytest.mark.parametrize(
    "doc",
    [
        {"rules": [], "extra": 1},
        {"rules": [{"stage": "rcpt", "steps": [{"reply": "250 ok", "time": 2}]}]},
        {"version": 2},
        {"rules": [{"stage": "rcpt", "steps": "250"}]},
    ],
)
def test_from_json_is_strict(doc: object) -> None:
    with pytest.raises(ValueError):
        Script.from_json(json.dumps(doc))


def test_save_is_atomic_and_loads_back(tmp_path: Path) -> None:
    path = tmp_path / "script.json"
    s = Script(hostname="mx.example.edu").add(rule("banner", "554 5.7.1 go away"))
    s.save(path)
    assert Script.load(path) == s
    assert [p.name for p in tmp_path.iterdir()] == ["script.json"]  # no temporary file left


# -- JSON round trip (property) -----------------------------------------------------

replies = st.builds(
    ScriptedReply,
    code=st.integers(200, 599),
    enhanced=st.none() | st.builds(lambda c, a, b: f"{c}.{a}.{b}", st.sampled_from("245"), st.integers(0, 999),
                                   st.integers(0, 999)),
    text=st.text(st.characters(blacklist_characters="\r"), max_size=30),
)
steps = st.builds(
    Step,
    reply=st.none() | replies,
    times=st.none() | st.integers(1, 10_000),
    delay=st.floats(0, 1e6, allow_nan=False, allow_infinity=False),
    action=st.sampled_from(["reply", "disconnect", "hang"]),
)
rules = st.builds(
    Rule,
    stage=st.sampled_from(STAGES),
    steps=st.lists(steps, min_size=1, max_size=4).map(tuple),
    match=st.none() | st.text(max_size=20),
)
keywords = st.sampled_from(KNOWN_EXTENSIONS) | st.from_regex(r"\A[A-Z][A-Z0-9-]{0,10}\Z")
scripts = st.builds(
    Script,
    rules=st.lists(rules, max_size=5).map(tuple),
    extensions=st.frozensets(keywords, max_size=8),
    size_limit=st.integers(0, 2**40),
    hostname=st.none() | st.from_regex(r"\A[a-z0-9.-]{1,30}\Z"),
)


@given(scripts)
def test_script_json_round_trip(script: Script) -> None:
    assert Script.from_json(script.to_json()) == script
    assert Script.from_json(script.to_json(indent=None).encode()) == script


@given(st.text(st.characters(exclude_categories=["Cs"]), max_size=40))
def test_xtext_round_trip(text: str) -> None:
    encoded = xtext_encode(text)
    assert all(33 <= ord(c) <= 126 and c != "=" for c in encoded)
    assert xtext_decode(encoded) == text


def test_xtext_decode_rejects_malformed() -> None:
    assert xtext_decode("rfc822;bob+2Bsmith@example.com") == "rfc822;bob+smith@example.com"
    for bad in ("a+2", "a+zz", "a b", "a=b"):
        with pytest.raises(ValueError):
            xtext_decode(bad)


# -- the interpreter -------------------------------------------------------------------


def test_counts_then_fall_through_to_next_rule_or_default() -> None:
    r1 = rule("rcpt", step("451 4.3.2 busy", times=2), step("452 4.2.2 full", times=1))
    r2 = rule("rcpt", "550 5.1.1 nope", match="nobody@*")
    state = ScriptState(Script(rules=(r1, r2)))
    codes = []
    for _ in range(5):
        d = state.decide("rcpt", "nobody@x.example")
        codes.append(None if d is None or d.step.reply is None else d.step.reply.code)
    assert codes == [451, 451, 452, 550, 550]
    assert state.decide("rcpt", "someone@x.example") is None  # r1 used up, r2 does not match
    assert state.hits(r1) == 3 and state.hits(r2) == 2


@given(st.lists(st.integers(1, 4), min_size=1, max_size=4))
def test_step_sequence_follows_times(times: list[int]) -> None:
    r = Rule("mail", tuple(Step(ScriptedReply(250, None, str(i)), times=t) for i, t in enumerate(times)))
    state = ScriptState(Script(rules=(r,)))
    seen = []
    while (d := state.decide("mail", "a@b")) is not None:
        seen.append(d.step_index)
    assert seen == [i for i, t in enumerate(times) for _ in range(t)]


def test_matching_rules() -> None:
    state = ScriptState(
        Script(
            rules=(
                rule("mail", "550 5.7.1 null", match="<>"),
                rule("mail", "550 5.7.1 spam", match="*@SPAM.example"),
                rule("eod", "554 5.7.1 any", match="b@*"),
                rule("banner", "554 5.7.1 blocked", match="10.*"),
            )
        )
    )

    def code(stage: str, addrs: list[str]) -> int | None:
        d = state.decide(stage, addrs)  # type: ignore[arg-type]
        return None if d is None or d.step.reply is None else d.step.reply.code

    assert code("mail", [""]) == 550
    assert code("mail", ["joe@spam.EXAMPLE"]) == 550  # case-insensitive
    assert code("mail", ["joe@ham.example"]) is None
    assert code("eod", ["a@x", "b@y"]) == 554  # any recipient of the transaction
    assert code("eod", ["a@x"]) is None
    assert code("banner", ["10.1.2.3"]) == 554 and code("banner", ["127.0.0.1"]) is None


def test_counters_survive_script_replacement_for_equal_rules() -> None:
    r = rule("rcpt", step("451 4.3.2 busy", times=1))
    state = ScriptState(Script(rules=(r,)))
    assert state.decide("rcpt", "a@b") is not None
    state.script = Script(rules=(rule("mail", "550 5.7.1 x"), r))
    assert state.decide("rcpt", "a@b") is None  # same rule value: still used up
    state.reset_counters()
    assert state.decide("rcpt", "a@b") is not None


def test_script_file_reloads_on_change_and_keeps_old_on_garbage(tmp_path: Path) -> None:
    path = tmp_path / "script.json"
    log: list[str] = []
    state = ScriptState()
    watcher = ScriptFile(path, state, log.append)
    assert watcher.check() and state.script == Script()  # missing: default
    assert not watcher.check()
    first = Script().add(rule("rcpt", "550 5.1.1 no"))
    first.save(path)
    assert watcher.check() and state.script == first
    assert not watcher.check()  # unchanged: no reload
    path.write_text("{ not json")
    assert not watcher.check() and state.script == first
    assert "not loaded" in log[-1]
    second = first.hide("DSN")
    second.save(path)
    os.utime(path, ns=(1, 1))  # even an old mtime counts: the inode changed
    assert watcher.check() and state.script == second


def test_documented_script_file_example_parses() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "mock-smtp.md").read_text()
    block = doc.split("```json\n", 1)[1].split("```", 1)[0]
    s = Script.from_json(block)
    assert s.rules[0].steps[0] == step("451 4.3.2 try again later", times=2)
    assert s.rules[1].steps == (Step(times=1, action="disconnect"),)


@pytest.mark.parametrize(
    "module", ["harness.mock", "harness.mock.script", "harness.mock.state", "harness.mock.params"]
)
def test_docstring_examples(module: str) -> None:
    failures, tried = doctest.testmod(importlib.import_module(module))
    assert tried > 0 and failures == 0
