"""What the harness changes in a user's Postfix configuration has one home: the script that changes it
(containers/postfix/user-config.sh), whose "# override:" lines the reports show. Every parameter the script sets
with `postconf -e` is named by one of them, so the list cannot leave a change out."""

from __future__ import annotations

import re

from harness.engine.images import containers_dir
from harness.mta import overrides


def test_the_reports_list_is_read_from_the_script() -> None:
    listed = overrides("postfix")
    assert ("maillog_file = /dev/stdout", "the mail log is the container's log, followed as events") in listed
    assert all(what and why for what, why in listed), listed


def test_every_parameter_the_script_sets_is_named_by_an_override_line() -> None:
    script = (containers_dir() / "postfix" / "user-config.sh").read_text()
    commands = re.findall(r"^postconf -e((?:.*\\\n)*.*)$", script, re.M)
    assert commands, "the script sets parameters with postconf -e"
    params = {m for c in commands for m in re.findall(r'"([a-z_]+) = ', c)}
    params |= set(re.findall(r'^[a-z]+="([a-z_]+) = ', script, re.M))  # set through a variable: listen="..."
    assert {"maillog_file", "transport_maps", "postscreen_greet_wait"} <= params, params
    named = " ".join(what for what, _ in overrides("postfix"))
    assert not [p for p in params if p not in named], f"not listed in an override line: {params - set(named.split())}"
