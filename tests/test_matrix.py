"""`mailharness matrix` without Docker: the columns it runs, what it takes out of the text, the table and its notes,
the comparison with a committed file, and the plugin that collects each requirement's verdict (on tests that need
no server)."""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest

from harness.errors import UsageError
from harness.matrix import command as matrix_command
from harness.matrix.collect import read, server_log
from harness.matrix.columns import Column, Configuration, all_columns, configurations, select
from harness.matrix.render import compare, md, render
from harness.matrix.results import ColumnResult, Matrix, column_result, transcript_excerpt
from harness.matrix.scrub import scrub
from harness.matrix.stock import StockError, script, unpack
from harness.mta import versions
from harness.mta.stock import Command, ImageFile, Stock, Text

POSTFIX, EXIM_DEBIAN, EXIM_DEFAULT = configurations()
PF, ED, EX = "Debian's Internet Site", "Debian's internet site", "Exim's own default configure"


def test_a_column_per_configuration_and_release_of_its_mta() -> None:
    assert [(c.name, c.kind) for c in configurations()] == [
        ("postfix-stock-debian", "postfix"), ("exim-stock-debian", "exim"), ("exim-stock-default", "exim")]
    assert all(c.stock.what and c.stock.title for c in configurations())
    columns = all_columns()
    expected = [(s.name, v) for kind in versions.KINDS for v in versions.releases(kind) for s in versions.stock(kind)]
    assert [(c.configuration.name, c.version) for c in columns] == expected
    assert {c.mta for c in columns} >= {"postfix@3.7", "postfix@3.10", "exim@4.96", "exim@4.98"}
    assert Column(EXIM_DEFAULT, "4.96").check_arguments("/r/k.config") == [
        "check", "/r/k.config", "--mta", "exim@4.96", "--mta-domain", "library.example"]
    assert Column(EXIM_DEBIAN, "4.98").check_arguments() == ["check", "DIR", "--mta", "exim@4.98"]
    assert Column(EXIM_DEBIAN, "4.98").title == f"Exim 4.98, {ED}"
    assert Column(EXIM_DEBIAN, "4.98").key == "exim-4.98-exim-stock-debian"


def test_the_stock_configurations_are_the_packages_own_files_taken_from_the_image() -> None:
    """Exim's own example.conf, unchanged, and Debian's template driven by an internet site's settings (check takes
    the package's exim4.conf.template from the image); Postfix's main.cf.debian with what its postinst sets."""
    default, debian, postfix = EXIM_DEFAULT.stock, EXIM_DEBIAN.stock, POSTFIX.stock
    assert default.recipe == (ImageFile("/usr/share/doc/exim4-base/examples/example.conf", "configure"),)
    assert default.arguments == ("--mta-domain", "library.example") and "unchanged" in default.what
    settings = next(s for s in debian.recipe if isinstance(s, Text) and s.name == "update-exim4.conf.conf").text
    assert {"dc_eximconfig_configtype='internet'", "dc_use_split_config='false'", "dc_local_interfaces=''",
            "dc_other_hostnames='library.example'"} <= set(settings.splitlines())
    assert debian.recipe == (Text("update-exim4.conf.conf", settings), Text("mailname", "library.example\n")), \
        "no template of ours: check takes the package's own from the image"
    assert "exim4.conf.template" in debian.what and "`dc_use_split_config='false'`" in debian.what
    assert [s.path for s in postfix.recipe if isinstance(s, ImageFile)] == ["/usr/share/postfix/main.cf.debian",
                                                                          "/usr/share/postfix/main.cf.tls"]
    assert all(not s.example for s in (default, debian, postfix))
    with pytest.raises(UsageError, match="exactly one; got neither"):
        Stock("x", "X", "nothing")
    with pytest.raises(UsageError, match="exactly one; got both"):
        Stock("x", "X", "both", example="postfix-good", recipe=(Text("main.cf", ""),))
    assert Column(Configuration("postfix", Stock("good", "good", "the example", example="postfix-good")),
                  "3.7").check_arguments() == ["check", "--example", "postfix-good", "--mta", "postfix@3.7"]


def test_a_recipe_makes_its_folder_step_by_step(tmp_path: Path) -> None:
    """The script a recipe's container runs (here in this machine's sh, on files of its own): the image's files
    appended in order, our texts as they are, a command on the folder; the folder comes back as Docker copies a
    folder out of a container (a tar, under the folder's own name)."""
    (tmp_path / "a.cf").write_text("first = 1\n")
    (tmp_path / "b.cf").write_text("second = 2 'quoted' $dollar\n")
    recipe = (ImageFile(str(tmp_path / "a.cf"), "main.cf"), ImageFile(str(tmp_path / "b.cf"), "main.cf"),
              Text("notes", "it's \"ours\"\n$HOME\n"),
              Command(("sh", "-c", "echo done; echo third = 3 >> \"$1\"/main.cf", "sh", "{folder}/")))
    work = tmp_path / "work"
    ran = subprocess.run(["sh", "-c", script(recipe, str(work))], capture_output=True, check=True)
    assert b"done" in ran.stderr and b"done" not in ran.stdout, "what the steps print goes to the standard error"
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        tar.add(work, arcname="work")
    out = unpack("mine", "postfix", archive.getvalue(), tmp_path / "made")
    assert sorted(p.name for p in out.iterdir()) == ["main.cf", "notes"]
    assert (out / "main.cf").read_text() == "first = 1\nsecond = 2 'quoted' $dollar\nthird = 3\n"
    assert (out / "notes").read_text() == "it's \"ours\"\n$HOME\n"
    with pytest.raises(StockError, match="expected the recipe to make a configuration of exim; it made main.cf, "
                                         "notes: a configuration of postfix"):
        unpack("mine", "exim", archive.getvalue(), tmp_path / "again")
    with pytest.raises(StockError, match="no readable copy of the folder"):
        unpack("mine", "exim", b"not a tar", tmp_path / "again")
    failed = subprocess.run(["sh", "-c", script((ImageFile(str(tmp_path / "none.cf"), "main.cf"),), str(work))],
                            capture_output=True)
    assert failed.returncode != 0 and b"none.cf" in failed.stderr
    with pytest.raises(StockError, match="expected a file name in the folder"):
        script((Text("../etc/passwd", "x"),))


def test_columns_are_chosen_by_mta_release_and_configuration() -> None:
    columns = all_columns()
    assert [c.title for c in select(columns, ["exim@4.98"])] == [f"Exim 4.98, {ED}", f"Exim 4.98, {EX}"]
    assert {c.configuration.kind for c in select(columns, ["postfix"])} == {"postfix"}
    assert [c.title for c in select(columns, ["exim"], ["exim-stock-default"])] == [f"Exim 4.96, {EX}",
                                                                                     f"Exim 4.98, {EX}"]
    assert select(columns) == columns
    with pytest.raises(UsageError, match=r"--mta exim@9.9: no column .* there are exim@4.96, exim@4.98"):
        select(columns, ["exim@9.9"])
    with pytest.raises(UsageError, match="--config nosuch"):
        select(columns, (), ["nosuch"])


def test_what_changes_from_run_to_run_is_taken_out() -> None:
    text = ("library (Postfix 3.7), probed from 10.75.127.1 to 10.75.127.11:25: queued as C88AB2ED3DD\n"
            "Date: Mon, 07 Dec 2026 08:04:57 -0000; Subject: carrier fc4e58117e-0\n"
            "2026-12-07T08:04:57.123456+00:00 mx postfix/smtpd[4711]: connect from [10.75.127.10]:45678\n"
            "Exim ids 1tXyzA-000Ab1-7x and 1tXyzA-00000000Ab1-0Abc; took 0.61s; /tmp/pytest-of-root/x/report.html\n"
            "(queued at library: C88AB2ED3DD; in no mailbox yet) (queued at library: 4D5B2ED39D; delivered to "
            "jill)\n")
    out = scrub(text, ["10.75.127.0/24"], "/work/repo/examples")
    assert out == ("library (Postfix 3.7), probed from 10.X.Y.1 to 10.X.Y.11:25: queued as <queue id>\n"
                   "Date: <date>; Subject: carrier <token>-0\n"
                   "<time> mx postfix/smtpd[<pid>]: connect from [10.X.Y.10]:<port>\n"
                   "Exim ids <queue id> and <queue id>; took <n>s; <tmp>\n"
                   "(queued at library: <queue id>) (queued at library: <queue id>)\n")


def test_the_queue_ids_the_nodes_logged_are_taken_out_whatever_their_shape() -> None:
    text = "250 2.0.0 Ok: queued as 3041728592; (queued at library: 3041728592) 1tXyzA-000Ab1-7x: <=\n" \
           "SIZE 10240000, epoch 1733558697"
    assert scrub(text, queue_ids=["3041728592", "1tXyzA-000Ab1-7x"]) == \
        "250 2.0.0 Ok: queued as <queue id>; (queued at library: <queue id>) <queue id>: <=\nSIZE 10240000, " \
        "epoch <n>"
    assert scrub("id3041728592z", queue_ids=["3041728592"]) == "id3041728592z"  # a part of a word is not one


def test_the_folder_a_recipe_made_is_shown_as_dir() -> None:
    folder = "/work/wt/reports/matrix/exim-4.96-exim-stock-default.config"
    text = f"{folder}/configure: line 12: ...; see {folder}"
    assert scrub(text, examples="/work/wt/examples", folder=folder) == "DIR/configure: line 12: ...; see DIR"
    assert column_result(Column(EXIM_DEFAULT, "4.96"), [record("x", "N/A", f"{folder}/configure has no relay")],
                         folder=folder).cells["x"].reason == "DIR/configure has no relay"


def test_random_tokens_and_message_ids_are_taken_out_whatever_their_digits() -> None:
    text = ("Subject: carrier 4093126578-0; Message-ID: <carrier-4093126578-1@store.example>; topology "
            "default-1a2b3c4d\nMessage-ID: <173355869712.4711.9876543210123456789@store.example>")
    assert scrub(text) == "Subject: carrier <token>-0; Message-ID: <carrier-<token>-1@store.example>; topology " \
                          "default-<token>\nMessage-ID: <<message id>@store.example>"


def test_what_is_the_same_in_every_run_stays() -> None:
    text = ("RFC 5321 s6.2 and s4.1.1.4; Postfix 3.10, Exim 4.98; waits up to 2s; the topology's are /24s between "
            "10.64.0.0 and 10.254.255.255; 250 2.1.5 Ok; smtpd_tls_security_level = may; verify-server-ok; "
            "/work/repo/examples/postfix-debian")
    assert scrub(text, ["10.75.127.0/24"], "/work/repo/examples") == text.replace("/work/repo/examples", "examples")


def record(name: str, verdict: str, reason: str = "", index: int = 0, **more: Any) -> dict[str, Any]:
    return {"nodeid": f"suites/conformance/test_x.py::test_{name}", "index": index, "name": name,
            "ref": f"RFC 5321 ({name})", "doc": f"What {name} checks <CR><LF>.", "verdict": verdict,
            "reason": reason, "subnets": ["10.75.127.0/24"], "release": "Postfix 3.7",
            "nodes": "store, library, edu: Postfix 3.7", **more}


SMUGGLED = """AssertionError: library (Postfix 3.7), probed from 10.75.127.1: VULNERABLE to SMTP smuggling
    lf-dot-lf    ended DATA early, the smuggled message was accepted (queued at library: C88AB2ED3DD; in no mailbox yet)
    cr-dot-cr    did not end DATA early


lf-dot-lf (<LF>.<LF>): ended DATA early
     (connected from 10.75.127.1 to 10.75.127.11:25)
  S: 220 mx.library.example ESMTP Postfix (Debian/GNU)
  C: DATA
  S: 250 2.0.0 Ok: queued as C729E2ED3A1   <- before the probe's end of data
  the smuggled message:
    <smuggled-fc4e58117e-0@store.example>: queued at library: C88AB2ED3DD"""


def matrix_of(*columns: tuple[Column, list[dict[str, Any]]]) -> Matrix:
    return Matrix.of([column_result(c, recs, "/work/repo/examples") for c, recs in columns])


P37, P310, E498 = Column(POSTFIX, "3.7"), Column(POSTFIX, "3.10"), Column(EXIM_DEBIAN, "4.98")
NO_RELAYHOST = "the configuration names no relayhost"


def example_matrix() -> Matrix:
    return matrix_of(
        (P37, [record("outbound_a", "N/A", NO_RELAYHOST, 0), record("outbound_b", "N/A", NO_RELAYHOST, 1),
               record("rejects_unknown", "PASS", index=2), record("smuggling", "FAIL", index=3, message=SMUGGLED),
               record("quota", "NOT JUDGED", "local(8) delivers\nseen: jill", 4)]),
        (P310, [record("outbound_a", "N/A", NO_RELAYHOST, 0), record("outbound_b", "N/A", NO_RELAYHOST, 1),
                record("rejects_unknown", "PASS", index=2), record("smuggling", "PASS", index=3),
                record("quota", "NOT JUDGED", "local(8) delivers\nseen: jill", 4)]),
        (E498, [record("outbound_a", "N/A", NO_RELAYHOST, 0), record("outbound_b", "N/A", NO_RELAYHOST, 1),
                record("rejects_unknown", "PASS", index=2), record("smuggling", "PASS", index=3),
                record("quota", "NOT JUDGED", "appendfile's quota is not set", 4),
                record("tls_new", "PASS", index=5)]))


def test_the_table_has_a_row_per_requirement_and_a_cell_per_column() -> None:
    text = render(example_matrix(), command="mailharness matrix")
    assert f"| requirement | RFC | Postfix 3.7, {PF} | Postfix 3.10, {PF} | Exim 4.98, {ED} |" in text
    assert "| `rejects_unknown` | RFC 5321 (rejects\\_unknown) | PASS | PASS | PASS |" in text
    assert "| `smuggling` | RFC 5321 (smuggling) | FAIL F1 | PASS | PASS |" in text
    assert "| `quota` | RFC 5321 (quota) | NOT JUDGED j1 | NOT JUDGED j1 | NOT JUDGED j2 |" in text
    # a requirement one column has and the others do not (a new one, merged since) is a row more
    assert "| `tls_new` | RFC 5321 (tls\\_new) | (not run) | (not run) | PASS |" in text
    # the inbound requirements first (a reader looks for rejections and bounces first), each in the suite's order
    assert text.index("`rejects_unknown`") < text.index("`tls_new`") < text.index("`outbound_a`") < \
        text.index("`outbound_b`")


def test_each_reason_is_said_once_with_where_it_was_given() -> None:
    text = render(example_matrix(), command="mailharness matrix")
    assert text.count(NO_RELAYHOST) == 1
    assert f"**n1**: {NO_RELAYHOST}\n\n- `outbound_a`, `outbound_b`: every column\n" in text
    assert "**j1**: local(8) delivers\n\n```text\nseen: jill\n```\n\n- `quota`: Postfix 3.7, Debian's Internet " \
           "Site; Postfix 3.10, Debian's Internet Site\n" in text
    assert f"**j2**: appendfile's quota is not set\n\n- `quota`: Exim 4.98, {ED}\n" in text


def test_a_failure_shows_what_was_expected_what_happened_and_a_transcript() -> None:
    text = render(example_matrix(), command="mailharness matrix")
    failure = text[text.index("### F1"):text.index("## Not applicable")]
    assert failure.startswith(f"### F1: `smuggling` on Postfix 3.7, {PF}\n")
    assert "Expected (RFC 5321 (smuggling)): What smuggling checks \\<CR\\>\\<LF\\>." in failure
    assert ("```text\nlibrary (Postfix 3.7), probed from 10.X.Y.1: VULNERABLE to SMTP smuggling\n"
            "    lf-dot-lf    ended DATA early, the smuggled message was accepted (queued at library: <queue id>)\n"
            "    cr-dot-cr    did not end DATA early\n```") in failure
    assert "AssertionError" not in failure
    assert ("The transcript (an excerpt):\n\n```text\nlf-dot-lf (<LF>.<LF>): ended DATA early\n"
            "     (connected from 10.X.Y.1 to 10.X.Y.11:25)\n  S: 220 mx.library.example ESMTP Postfix (Debian/GNU)\n"
            "  C: DATA\n  S: 250 2.0.0 Ok: queued as <queue id>   <- before the probe's end of data\n```") in failure
    assert "the smuggled message:" not in failure


def test_a_failure_without_a_transcript_in_its_message_shows_the_test_s_last_one_or_the_log() -> None:
    with_transcripts = column_result(P37, [record("x", "FAIL", message="AssertionError: no DSN arrived",
                                                  transcripts="S: 220 first\n\nS: 220 last\nC: QUIT", log="a\nb")])
    evidence = with_transcripts.cells["x"].evidence
    assert evidence is not None and (evidence.happened, evidence.excerpt, evidence.excerpt_of) == \
        ("no DSN arrived", "S: 220 last\nC: QUIT", "transcript")
    only_log = column_result(P37, [record("x", "FAIL", message="harness.errors.VerdictError: expected a DSN",
                                          log="\n".join(f"line {i} smtpd[{i}]: x" for i in range(30)))])
    evidence = only_log.cells["x"].evidence
    assert evidence is not None and evidence.happened == "VerdictError: expected a DSN"
    assert evidence.excerpt_of == "mail log" and evidence.excerpt.splitlines()[0] == "line 15 smtpd[<pid>]: x"


def test_a_requirement_the_harness_could_not_set_up_is_an_error_with_its_reason() -> None:
    result = column_result(P37, [record("x", "ERROR", message="StateError: could not create an internal network")])
    assert (result.cells["x"].verdict, result.cells["x"].reason) == ("ERROR", "StateError: could not create an "
                                                                              "internal network")
    text = render(Matrix.of([result]), command="mailharness matrix")
    assert "| `x` | RFC 5321 (x) | ERROR e1 |" in text and "**e1**: StateError: could not create" in text


def test_the_text_depends_on_the_verdicts_only() -> None:
    first = render(example_matrix(), command="mailharness matrix", check_command="mailharness matrix --check F")
    again = example_matrix()
    moved = Matrix.of([column_result(r.column, [record(n, c.verdict, c.reason) for n, c in r.cells.items()])
                       for r in again.columns])  # other subnets, same verdicts: the same table
    assert first == render(again, command="mailharness matrix", check_command="mailharness matrix --check F")
    table = [ln for ln in first.splitlines() if ln.startswith("| `")]
    assert table == [ln for ln in render(moved, command="mailharness matrix").splitlines() if ln.startswith("| `")]
    assert first.endswith("\n") and not first.endswith("\n\n")
    assert "Made with `mailharness matrix`; CI runs `mailharness matrix --check F`" in first
    assert "/work/repo" not in first and "10.75.127" not in first


def test_markdown_shows_text_as_written() -> None:
    assert md("a | b <CR> *x* `y` [z] #1 a_b") == "a \\| b \\<CR\\> \\*x\\* \\`y\\` \\[z\\] \\#1 a\\_b"


def test_a_fresh_run_that_differs_shows_the_difference(tmp_path: Path) -> None:
    committed = tmp_path / "m.md"
    text = render(example_matrix(), command="mailharness matrix")
    committed.write_text(text)
    assert compare(text, committed) == ""
    changed = text.replace("| FAIL F1 | PASS | PASS |", "| PASS | PASS | PASS |")
    diff = compare(changed, committed)
    assert f"--- {committed} (committed)" in diff and f"+++ {committed} (this run)" in diff
    assert "-| `smuggling` | RFC 5321 (smuggling) | FAIL F1 | PASS | PASS |" in diff
    assert "+| `smuggling` | RFC 5321 (smuggling) | PASS | PASS | PASS |" in diff
    assert "cannot read" in compare(text, tmp_path / "missing.md")


def test_transcript_excerpt_takes_the_first_exchange_and_its_name() -> None:
    lines = ["summary", "", "variant one:", "   (connected)", "  S: 220 hi", "  C: QUIT", "after", "  S: 220 again"]
    assert transcript_excerpt(lines) == "variant one:\n   (connected)\n  S: 220 hi\n  C: QUIT"
    assert transcript_excerpt(["no transcript here"]) == ""


def fake_run(results: list[ColumnResult]) -> Any:
    def run(columns: list[Column], reports: Path, jobs: int, examples: str, **_: Any) -> list[ColumnResult]:
        return [r for r in results if r.column in columns]
    return run


def args(tmp_path: Path, **more: Any) -> argparse.Namespace:
    base = {"output": str(tmp_path / "m.md"), "check": "", "mta": [], "config": [], "jobs": 0,
            "reports": str(tmp_path / "reports")}
    return argparse.Namespace(**{**base, **more})


def test_the_command_writes_the_file_and_checks_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("harness.matrix.run.run_columns", fake_run(list(example_matrix().columns)))
    assert matrix_command.command(args(tmp_path, mta=["postfix"])) == 0
    written = (tmp_path / "m.md").read_text()
    assert "Made with `mailharness matrix --mta postfix`." in written and "Exim 4.98" not in written
    assert matrix_command.command(args(tmp_path, mta=["postfix"], check=str(tmp_path / "m.md"))) == 0
    assert "is what a fresh run gives" in capsys.readouterr().out
    (tmp_path / "m.md").write_text(written.replace("FAIL F1", "PASS"))
    assert matrix_command.command(args(tmp_path, mta=["postfix"], check=str(tmp_path / "m.md"))) == 1
    out = capsys.readouterr().out
    assert "is not what a fresh run gives (run `mailharness matrix --mta postfix --output" in out
    assert "+| `smuggling` | RFC 5321 (smuggling) | FAIL F1 | PASS |" in out
    assert matrix_command.command(args(tmp_path, mta=["sendmail"])) == 2
    assert "no column of the matrix is sendmail" in capsys.readouterr().err


def test_the_collecting_plugin_records_each_verdict_in_the_suite_s_order(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_reqs="""
        import pytest
        from harness.sut.conformance import not_applicable, not_judged, requirement

        @pytest.fixture
        def broken():
            raise RuntimeError("no network")

        @requirement("RFC 1 s1", "fix it")
        def test_passes():
            '''It passes.'''

        @requirement("RFC 2 s2", "fix it")
        def test_fails():
            assert 1 == 2, "expected 1, got 2"

        @requirement("RFC 3 s3", "fix it")
        def test_does_not_apply():
            not_applicable("no relayhost")

        @requirement("RFC 4 s4", "fix it")
        def test_cannot_be_judged():
            not_judged("no quota here")

        @requirement("RFC 5 s5", "fix it")
        def test_cannot_be_set_up(broken):
            pass

        def test_not_a_requirement():
            pass
    """)
    out = pytester.path / "out" / "col"
    result = pytester.runpytest("-p", "harness.matrix.collect", f"--mailharness-matrix={out}")
    result.assert_outcomes(passed=2, failed=1, skipped=2, errors=1)
    records = read(out)
    assert [(r["name"], r["verdict"], r["reason"]) for r in records] == [
        ("passes", "PASS", ""), ("fails", "FAIL", ""), ("does_not_apply", "N/A", "no relayhost"),
        ("cannot_be_judged", "NOT JUDGED", "no quota here"), ("cannot_be_set_up", "ERROR", "")]
    assert records[0]["ref"] == "RFC 1 s1" and records[0]["doc"] == "It passes."
    assert "expected 1, got 2" in records[1]["message"]
    assert "RuntimeError: no network" in records[4]["message"]


def test_records_of_several_workers_are_read_in_the_suite_s_order(tmp_path: Path) -> None:
    base = tmp_path / "col"
    (tmp_path / "col.gw1.jsonl").write_text(json.dumps({"index": 1, "nodeid": "b", "name": "b"}) + "\n")
    (tmp_path / "col.gw0.jsonl").write_text(json.dumps({"index": 2, "nodeid": "c", "name": "c"}) + "\n" +
                                            json.dumps({"index": 0, "nodeid": "a", "name": "a"}) + "\n")
    (tmp_path / "other.gw0.jsonl").write_text(json.dumps({"index": 0, "nodeid": "z", "name": "z"}) + "\n")
    assert [r["name"] for r in read(base)] == ["a", "b", "c"]


def test_the_server_s_own_log_lines_are_kept() -> None:
    report = "--- store (mx.store.example, 10.1.2.10): 1 log lines\nstore line\n--- library (mx, 10.1.2.11): " \
             "2 log lines\nlib 1\nlib 2\n--- libraryx (y): 1 log lines\nother"
    assert server_log(report, "library") == "lib 1\nlib 2"


def test_host_files_can_be_left_out(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.mta.facts import ConfigError
    from harness.mta.postfix.configfacts import host_files

    monkeypatch.delenv("MAILHARNESS_HOST_FILES", raising=False)
    assert host_files()
    monkeypatch.setenv("MAILHARNESS_HOST_FILES", "ignore")
    assert not host_files()
    monkeypatch.setenv("MAILHARNESS_HOST_FILES", "sometimes")
    with pytest.raises(ConfigError, match="expected use"):
        host_files()
