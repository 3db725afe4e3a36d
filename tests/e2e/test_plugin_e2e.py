"""The plugin end to end (pytester, in subprocesses): failure reports, keeping containers, Ctrl-C, up/down, and
--mailharness-keep-dsns=DIR: every DSN a test saw is a file named after the test, which `mailharness dsn-lint`
takes as it is, and the HTML report links to it (issue 22, item 4)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.engine import labels
from harness.engine.docker import client


def _resources(topology_id: str) -> int:
    f: dict[str, str | list[str] | bool] = {"label": [f"{labels.TOPOLOGY}={topology_id}"]}
    return len(client().containers.list(all=True, filters=f)) + len(client().networks.list(filters=f))


def test_a_failed_test_carries_transcripts_and_every_nodes_log(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        def test_fails(mail_topology):
            mail_topology.send("jack@store.example", "nosuchuser@library.example")
            mail_topology.mailbox("jack@store.example").wait_for_dsn()
            assert False, "on purpose"
    """)
    r = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    r.assert_outcomes(failed=1)
    out = r.stdout.str()
    assert "SMTP transcripts" in out and "C: RCPT TO:<nosuchuser@library.example>" in out
    assert "mail logs" in out and "--- library (mx.library.example" in out and "NOQUEUE: reject: RCPT" in out


def test_keep_on_failure_leaves_the_topology_for_mailharness_down(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        def test_fails(mail_topology):
            open("topology-id", "w").write(mail_topology.id)
            assert False
    """)
    r = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--mailharness-keep=on-failure")
    r.assert_outcomes(failed=1)
    r.stdout.fnmatch_lines(["*topologies kept running*", "*mailharness down*"])
    tid = (pytester.path / "topology-id").read_text()
    assert tid in labels.kept() and _resources(tid) == 5, "4 containers and the network stay"
    down = subprocess.run([sys.executable, "-m", "harness.cli", "down", tid], capture_output=True, text=True,
                          timeout=60)
    assert down.returncode == 0 and "removed 4 containers and 1 networks" in down.stdout, down.stdout
    assert tid not in labels.kept() and _resources(tid) == 0


def test_ctrl_c_removes_everything(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import os, signal
        def test_interrupted(mail_topology):
            open("topology-id", "w").write(mail_topology.id)
            # Python only turns SIGINT into KeyboardInterrupt when SIGINT was not ignored at its start, and a
            # background job of a non-interactive shell (a CI step started with `&`) starts with it ignored
            signal.signal(signal.SIGINT, signal.default_int_handler)
            os.kill(os.getpid(), signal.SIGINT)
    """)
    r = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert r.ret == pytest.ExitCode.INTERRUPTED
    tid = (pytester.path / "topology-id").read_text()
    assert _resources(tid) == 0, "nothing left behind after Ctrl-C"


def test_up_json_and_down() -> None:
    up = subprocess.run([sys.executable, "-m", "harness.cli", "up", "--json"], capture_output=True, text=True,
                        timeout=120)
    assert up.returncode == 0, up.stderr
    nodes = json.loads(up.stdout)
    try:
        assert {n["name"] for n in nodes} == {"store", "library", "edu", "dns"}
        lib = next(n for n in nodes if n["name"] == "library")
        assert (lib["domain"], lib["hostname"]) == ("library.example", "mx.library.example") and lib["ip"]
        import socket

        with socket.create_connection((lib["ip"], 25), timeout=5) as s:
            assert s.recv(100).startswith(b"220 mx.library.example")
    finally:
        down = subprocess.run([sys.executable, "-m", "harness.cli", "down", nodes[0]["topology"]],
                              capture_output=True, text=True, timeout=60)
    assert down.returncode == 0 and _resources(lib["topology"]) == 0, down.stdout


def test_dsn_lint_is_a_subcommand(corpus: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "harness.cli", "dsn-lint", "--json", "--profile", "postfix",
                        str(corpus / "postfix" / "s1-dsn-to-jack.eml")], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    rec = json.loads(r.stdout)
    assert rec["is_dsn"] and rec["recipients"][0]["status"] == "5.1.1"


def test_the_html_report_of_a_failed_scenario_has_its_evidence(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        def test_fails(mail_topology):
            '''A refusal asserted at the wrong stage.'''
            sent = mail_topology.send("jack@store.example", "nosuchuser@library.example")
            sent.verdict().assert_rejected_by("library", stage="MAIL")
    """)
    report = pytester.path / "out" / "report.html"
    r = pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--mailharness-html={report}",
                                      f"--mailharness-records={pytester.path / 'out' / 'records.jsonl'}")
    r.assert_outcomes(failed=1)
    page = report.read_text()
    assert 'class="path-diagram"' in page and "why it failed" in page
    assert "expected: rejected by library at MAIL" in page
    assert "SMTP transcripts" in page and "mail logs of every node" in page
    [record] = [json.loads(line) for line in (pytester.path / "out" / "records.jsonl").read_text().splitlines()]
    assert record["outcome"] == "failed" and record["messages"][0]["hops"][1]["kind"] == "rejected"


def test_every_dsn_a_test_saw_is_kept_for_dsn_lint(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_bounces="""
        def test_waited_for(mail_topology):
            '''The DSN handed by wait_for_dsn, no verdict asked.'''
            mail_topology.send("jack@store.example", "nosuchuser@library.example")
            mail_topology.mailbox("jack@store.example").wait_for_dsn()

        def test_two_in_the_verdicts(mail_topology):
            '''Two messages, a DSN each, seen only through their verdicts.'''
            for user in ("nobody", "noone"):
                story = mail_topology.send("jack@store.example", f"{user}@library.example").verdict()
                assert not story.no_dsn("store"), story

        def test_no_bounce(mail_topology):
            mail_topology.send("jack@store.example", "jill@library.example").verdict().assert_no_dsn()
    """)
    dsns, report = pytester.path / "kept", pytester.path / "out" / "report.html"
    r = pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--mailharness-keep-dsns={dsns}",
                                      f"--mailharness-html={report}", f"--junitxml={pytester.path / 'j.xml'}")
    r.assert_outcomes(passed=3)
    names = sorted(p.name for p in dsns.iterdir())
    assert names == ["test_bounces.py_test_two_in_the_verdicts-1.eml", "test_bounces.py_test_two_in_the_verdicts-2.eml",
                     "test_bounces.py_test_waited_for-1.eml"], names
    assert f"mailharness: 3 DSN(s) kept in {dsns}" in r.stdout.str()
    lint = subprocess.run([sys.executable, "-m", "harness.cli", "dsn-lint", "--profile", "postfix", "--delivered",
                           *(str(dsns / n) for n in names)], capture_output=True, text=True, timeout=60)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    page = report.read_text()
    assert page.count('kept as <a href="../kept/test_bounces.py_test_') == 3
    junit = (pytester.path / "j.xml").read_text()
    assert f'name="mailharness_dsn" value="{dsns / names[2]}"' in junit

    again = pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--mailharness-keep-dsns={dsns}",
                                          "-k", "waited_for")
    again.assert_outcomes(passed=1, deselected=2)
    assert (dsns / "test_bounces.py_test_waited_for-2.eml").is_file(), "a second run keeps the first one's files"
    assert len(list(dsns.iterdir())) == 4
