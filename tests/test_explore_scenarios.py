"""The explorer's pure parts, without Docker: scenarios as data, the strategies, the database format, the written
test's source, and the command's bad usage (exit 2)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from harness import AcceptUnknownUsers, DiskFull, Forward, MailboxFull, Refuse
from harness.cli import main
from harness.explore import Rcpt, Scenario, Targets, Violation
from harness.explore.explorer import Discovery
from harness.explore.scenario import from_json, to_json
from harness.explore.strategies import scenarios
from harness.explore.writer import regression_source

ROOT = Path(__file__).resolve().parents[1]
MINE = Targets("corp.example", "alice@corp.example", "library")


@settings(max_examples=200, deadline=None)
@given(scenarios(("default", "mock")))
def test_scenarios_are_kept_as_json_and_read_back_equal(s: Scenario) -> None:
    assert from_json(to_json(s)) == s


@settings(max_examples=200, deadline=None)
@given(scenarios(("default", "mock")))
def test_generated_scenarios_stay_within_their_bounds(s: Scenario) -> None:
    assert 1 <= len(s.recipients) <= 3 and len(s.faults) <= 3
    assert not any(isinstance(f, AcceptUnknownUsers) for f in s.faults), "a misconfiguration is not a fault"
    assert s.start == "before" or (s.faults and s.sender != "forged")
    assert s.variant == "mock" or not s.mock
    if s.variant == "mock":  # example.edu is a mock there: no Postfix fault may name it
        assert all(f.node != "edu" or type(f).__name__ in ("Dns",) for f in s.faults), s


@settings(max_examples=100, deadline=None)
@given(scenarios(("config",), MINE))
def test_scenarios_on_your_configuration_use_only_faults_that_need_no_harness_tables(s: Scenario) -> None:
    assert all(r.kind not in ("forwarded", "over_quota") for r in s.recipients)
    assert not any(isinstance(f, (Refuse, Forward, MailboxFull)) for f in s.all_faults(MINE))


def test_recipient_kinds_imply_their_faults() -> None:
    s = Scenario(recipients=(Rcpt("forwarded", via="forward"), Rcpt("over_quota"), Rcpt("known")),
                 faults=(DiskFull("library"),))
    t = Targets()
    assert [r.kind for r in s.unique_recipients(t)] == ["forwarded"], "one recipient per address"
    assert s.all_faults(t) == (Forward("library", to="jill@example.edu", via="forward"), DiskFull("library"))
    assert s.forwards(t) == {"jill@library.example": ["jill@example.edu"]}


def test_a_written_test_reads_like_the_bundled_scenarios_and_imports_only_the_public_api() -> None:
    s = Scenario(sender="forged", recipients=(Rcpt("unknown", notify=("FAILURE",), orcpt=True),),
                 faults=(DiskFull("library", retry_for="2s"),))
    found = Discovery(Violation("no backscatter", "library accepted mail for nosuchuser@library.example, then "
                                                  "bounced it (5.1.1)", "accepted then bounced"),
                      s, "story", [], Targets(), 3.0, reproduced=2)
    src = regression_source(found, seed=7)
    tree = ast.parse(src)
    doc = ast.get_docstring(tree) or ""
    assert doc.startswith("No backscatter:") and "RFC 5321 s6.2" in doc and "seed 7" in doc
    imported = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert imported == ["harness"], src
    [fn] = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    assert fn.name == "test_no_backscatter_accepted_then_bounced"
    assert [a.arg for a in fn.args.args] == ["mail_topology", "mail_fault"]
    assert 'mail_fault(DiskFull("library", retry_for="2s"))' in src
    assert 'Recipient("nosuchuser@library.example", notify=("FAILURE",), orcpt="nosuchuser@library.example"),' in src
    assert 'sent = mail_topology.send("jill@example.edu", rcpts, via="library")' in src
    assert "story.assert_no_backscatter()" in src
    assert 'assert_guarantees(mail_topology, story, "no backscatter")' in src


@settings(max_examples=15, deadline=None)
@given(scenarios(("default", "mock")))
# a forward and a refusal given together: 122 columns on one line (hypothesis found it in a CI-like run)
@example(Scenario(recipients=(Rcpt("forwarded", via="alias"),),
                  faults=(Refuse("library", "jill@library.example", "550 5.1.1 No such user here"),)))
def test_every_written_test_passes_the_projects_linter(s: Scenario) -> None:
    found = Discovery(Violation("DSN compliance", "the failed DSN from library: R-7 error", "R-7"), s, "",
                      ["library"] if s.start == "after" else [], Targets(), 1.0, reproduced=2)
    src = regression_source(found, seed=1)
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "--stdin-filename", "tests/test_generated.py",
                           "-"], input=src, capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stdout + "\n" + src


def test_a_test_for_faults_after_acceptance_holds_the_message_first() -> None:
    s = Scenario(recipients=(Rcpt("known"),), faults=(Refuse("library", "jill@library.example", "451 4.3.2 x"),),
                 start="after")
    found = Discovery(Violation("conservation", "dropped", "dropped"), s, "", ["library"], Targets(), 1.0,
                      reproduced=2)
    src = regression_source(found)
    ast.parse(src)
    order = [src.index(x) for x in ('hold = mail_topology.apply(Down("library"))', "mail_topology.send(",
                                    "wait_log(", "hold()", "mail_topology.apply(Refuse(")]
    assert order == sorted(order), src


@pytest.mark.parametrize("argv", [["--budget", "0"], ["--workers", "0"], ["--variants", "nosuch"],
                                  ["--mta-config", "/nonexistent-dir"]])
def test_bad_usage_exits_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explore", *argv]) == 2
    assert "mailharness explore:" in capsys.readouterr().err


def test_an_unknown_option_exits_2() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["explore", "--no-such-option"])
    assert exc.value.code == 2


@given(st.sampled_from(["conservation", "no backscatter", "responsibility", "DSN compliance", "NOTIFY semantics"]))
def test_each_guarantee_names_its_rfc(g: str) -> None:
    assert "RFC" in Violation(g, "x").rfc
