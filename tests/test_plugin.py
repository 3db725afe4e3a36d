"""The plugin itself, tested with pytester (in subprocesses, so each run gets a fresh engine client)."""

import pytest


def test_options_and_fixtures_are_registered(pytester: pytest.Pytester) -> None:
    r = pytester.runpytest_subprocess("--help")
    r.stdout.fnmatch_lines(["*--mailharness-keep=*", "*--mailharness-summary*"])
    r = pytester.runpytest_subprocess("--fixtures")
    r.stdout.fnmatch_lines(["*mail_topology*", "*mail_topology_factory*"])


def test_bad_keep_value_in_ini_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nmailharness_keep = sometimes\n")
    pytester.makepyfile("def test_x(): pass")
    r = pytester.runpytest_subprocess()
    assert r.ret != 0
    r.stderr.fnmatch_lines(["*keep='sometimes'*never, on-failure, always*"])


def test_without_an_engine_tests_fail_with_the_fix_never_skip(pytester: pytest.Pytester,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    pytester.makepyfile("""
        def test_needs_mail(mail_topology):
            pass
    """)
    r = pytester.runpytest_subprocess()
    r.assert_outcomes(errors=1)
    r.stdout.fnmatch_lines(["*no Docker engine answers at unix:///nonexistent/docker.sock*",
                            "*ci/ensure-docker.sh*"])
    assert "skipped" not in r.stdout.str()


def test_summary_table(pytester: pytest.Pytester) -> None:
    pytester.makepyfile('''
        def test_ok():
            """checks nothing much"""
        def test_bad():
            """fails on purpose"""
            assert False
    ''')
    r = pytester.runpytest_subprocess("--mailharness-summary")
    r.stdout.fnmatch_lines(["*mailharness summary*", "verdict*time*scenario*what it checks",
                            "PASS*ok*checks nothing much", "FAIL*bad*fails on purpose", "1 passed, 1 failed"])


def test_the_in_process_mock_fixture_needs_no_docker(pytester: pytest.Pytester,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    pytester.makepyfile("""
        import smtplib
        from harness.mock import Script, rule

        def test_scripted(mock_smtp):
            mock_smtp.script = Script().add(rule("rcpt", "550 5.1.1 nobody here", match="nobody@*"))
            with smtplib.SMTP("127.0.0.1", mock_smtp.port) as c:
                c.ehlo("client.test")
                c.docmd("MAIL", "FROM:<a@b.example>")
                assert c.docmd("RCPT", "TO:<nobody@x.example>")[0] == 550
                assert c.docmd("RCPT", "TO:<jill@x.example>")[0] == 250
                c.rset()
                c.sendmail("a@b.example", ["jill@x.example"], "Subject: hi\\r\\n\\r\\nbody\\r\\n")
            [msg] = mock_smtp.wait_for_messages(1, timeout=5)
            assert msg.recipients == ("jill@x.example",)
    """)
    r = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    r.assert_outcomes(passed=1)


def test_tests_on_the_mock_topology_form_one_xdist_group(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("""
        import pytest

        @pytest.fixture
        def mail_topology_with_mock():  # shadows the plugin's: collection only, nothing starts
            return None

        def pytest_collection_finish(session):
            for item in session.items:
                groups = [m.args[0] for m in item.iter_markers("xdist_group")]
                print(f"GROUPS {item.name} {groups}")
    """)
    pytester.makepyfile("""
        def test_on_mock(mail_topology_with_mock):
            pass

        def test_plain():
            pass
    """)
    r = pytester.runpytest_subprocess("--collect-only", "-s", "-p", "no:cacheprovider")
    r.stdout.fnmatch_lines(["GROUPS test_on_mock ['mailharness-mock']", "GROUPS test_plain []"])
    # and xdist sees the group: under --dist loadgroup it schedules the test as "<nodeid>@<group>" (its own
    # collection hook reads the marker, so the plugin's must run before it)
    r = pytester.runpytest_subprocess("-n", "2", "--dist", "loadgroup", "-v", "-p", "no:cacheprovider")
    r.stdout.fnmatch_lines(["*PASSED*test_on_mock@mailharness-mock*"])
    assert "test_plain@" not in r.stdout.str()


def test_the_mock_group_holds_with_the_plugins_mailharness_run_names(pytester: pytest.Pytester,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """`mailharness run` turns plugin autoloading off and names xdist's plugin as "xdist.plugin" (cli._PLUGINS):
    the group must hold there too (it did not: every worker started the mock topology, 4 s of a 27 s run)."""
    from harness import cli

    pytester.makeconftest("""
        import pytest

        @pytest.fixture
        def mail_topology_with_mock():
            return None
    """)
    pytester.makepyfile("""
        def test_on_mock(mail_topology_with_mock):
            pass
    """)
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    r = pytester.runpytest_subprocess(*cli._PLUGINS, "-n", "2", "--dist", "loadgroup", "-v", "-p", "no:cacheprovider")
    r.stdout.fnmatch_lines(["*PASSED*test_on_mock@mailharness-mock*"])


def test_mailharness_run_is_parallel_with_the_mock_group_on_one_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness import cli

    monkeypatch.setattr(cli.os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    assert cli._workers([]) == ["-n", "4", "--dist", "loadgroup"], "a worker a core, and one more"
    assert cli._workers(["-n", "0"]) == [], "the caller's choice stands"
    monkeypatch.setattr(cli.os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert cli._workers([]) == []
def test_a_requirement_that_does_not_apply_is_n_a_with_why_and_does_not_fail_the_run(
        pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        from harness.sut.conformance import not_applicable, requirement

        @requirement("RFC 3461 s4.1", "hint")
        def test_notify_never():
            not_applicable("the server does not offer DSN in its EHLO reply")
    """)
    r = pytester.runpytest_subprocess("--mailharness-summary", "--junitxml=j.xml", "-p", "no:cacheprovider")
    out = r.stdout.str()
    assert r.ret == 0, out
    assert "N/A" in out and "not applicable: the server does not offer DSN in its EHLO reply" in out
    assert "0 passed, 0 failed, 1 not applicable" in out
    junit = (pytester.path / "j.xml").read_text()
    assert '<property name="verdict" value="N/A" />' in junit
    assert '<property name="not_applicable" value="the server does not offer DSN in its EHLO reply" />' in junit


def test_a_requirement_the_harness_cannot_judge_says_not_judged_and_why(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest
        from harness.sut.conformance import not_judged, requirement

        @requirement("RFC 1", "hint")
        def test_judged():
            assert True

        @requirement("RFC 2", "hint")
        def test_cannot_tell():
            not_judged("mysql: tables cannot be read here; pass --mta-recipient")

        def test_ordinary_skip():
            pytest.skip("not applicable")
    """)
    r = pytester.runpytest_subprocess("--mailharness-summary", "--junitxml=j.xml", "-p", "no:cacheprovider")
    out = r.stdout.str()
    assert "NOT JUDGED" in out and "not judged: mysql: tables cannot be read here" in out
    assert "1 passed, 0 failed, 1 skipped, 1 not judged" in out
    junit = (pytester.path / "j.xml").read_text()
    assert '<property name="verdict" value="NOT JUDGED" />' in junit
    assert '<property name="not_judged" value="mysql: tables cannot be read here; pass --mta-recipient" />' in junit
    assert '<property name="verdict" value="PASS" />' in junit


def test_an_expected_failure_says_xfail_and_the_departure_it_shows(pytester: pytest.Pytester) -> None:
    """A scenario that ends on the departures from the RFCs it knows the server makes (suites.known_departures):
    XFAIL with the departure in the summary, and the run does not fail; when the server conforms, it FAILS."""
    pytester.makepyfile("""
        from harness.suites import known_departures

        def test_departs():
            known_departures("Exim", {"RFC 3461 s6.3 (a): ENVID decoded": "Original-Envelope-Id: a+2Bb"})

        def test_conforms_now():
            known_departures("Exim", {"RFC 3461 s6.3 (a): ENVID decoded": None})
    """)
    r = pytester.runpytest_subprocess("--mailharness-summary", "-p", "no:cacheprovider")
    out = r.stdout.str()
    assert r.ret == 1, out
    assert "XFAIL" in out and "expected failure: Exim departs from the RFCs: RFC 3461 s6.3 (a): ENVID decoded " \
        "(seen: Original-Envelope-Id: a+2Bb)" in out
    assert "conforms now: RFC 3461 s6.3 (a): ENVID decoded" in out
    assert "0 passed, 1 failed, 1 expected failure(s) (known departures)" in out


def test_mail_fault_empties_the_queues_before_it_undoes_the_faults(pytester: pytest.Pytester) -> None:
    """A message a fault held back (a 451, a TLS policy) must not go out once the fault is undone at the test's end:
    the queues are emptied first (MailTopology.drop_queues), as a reset does before it clears the faults."""
    pytester.makeconftest("""
        import pytest

        CALLS = []

        class World:
            def apply(self, *faults):
                CALLS.append(("apply", faults))
                return lambda: CALLS.append(("undo", faults))

            def drop_queues(self):
                CALLS.append(("drop_queues", ()))

        @pytest.fixture
        def mail_topology():
            return World()

        @pytest.fixture
        def calls():
            return CALLS
    """)
    pytester.makepyfile("""
        def test_a(mail_fault):
            mail_fault("one")
            mail_fault("two")

        def test_b(calls):
            assert calls == [("apply", ("one",)), ("apply", ("two",)), ("drop_queues", ()),
                             ("undo", ("two",)), ("undo", ("one",))]

        def test_c(mail_fault, calls):
            pass  # no fault applied: nothing emptied

        def test_d(calls):
            assert [c for c, _ in calls].count("drop_queues") == 1
    """)
    r = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:xdist")
    r.assert_outcomes(passed=4)
