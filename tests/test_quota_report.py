"""Dovecot's quota report as the quota requirement's probe reads it (harness.mta.postfix.quota), without Docker."""

from __future__ import annotations

from harness.mta.postfix.quota import parse

HEAD = "Quota name\tType\tValue\tLimit\t%\n"


def test_a_limit_in_kilobytes_and_the_messages_counted() -> None:
    q = parse(HEAD + "User quota\tSTORAGE\t1\t2\t50\nUser quota\tMESSAGE\t1\t-\t0\n", "jill@library.example")
    assert (q.limit, q.messages) == (2048, 1)
    assert q.said == "doveadm quota get -u jill@library.example: STORAGE 1 of 2 KB, MESSAGE 1"


def test_no_limit_and_an_error_are_said_as_they_are() -> None:
    q = parse(HEAD + "User quota\tSTORAGE\t0\t-\t0\nUser quota\tMESSAGE\t0\t-\t0\n", "bob@library.example")
    assert (q.limit, q.messages) == (None, 0) and "STORAGE 0 KB, no limit, MESSAGE 0" in q.said
    q = parse("doveadm(bob@x): Error: Failed to initialize user\n", "bob@x")
    assert (q.limit, q.messages) == (None, None) and q.said.endswith("Error: Failed to initialize user")
