"""--mailharness-keep-dsns=DIR end to end (pytester, in a subprocess, against real Postfix servers): every DSN a
test saw is a file named after the test, which `mailharness dsn-lint` takes as it is, and the HTML report links
to it (issue 22, item 4)."""

from __future__ import annotations

import subprocess
import sys

import pytest


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
