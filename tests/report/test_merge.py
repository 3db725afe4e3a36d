"""`mailharness report merge`: the shards' records make one report, their JUnit files one document, and a test
in two shards stops the merge."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.cli import main
from harness.report import write_records_jsonl
from harness.report.merge import MergeError, merge
from harness.report.records import read_records_jsonl

from .samples import sample_records

TESTS = "\n".join(f"def test_{i}():\n    assert {i} != 3\n" for i in range(7))


def shard_files(tmp_path: Path) -> list[Path]:
    records = sample_records()
    return [write_records_jsonl(records[0::2], tmp_path / "records-1.jsonl"),
            write_records_jsonl(records[1::2], tmp_path / "records-2.jsonl")]


def test_records_of_two_shards_make_one_html_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inputs = shard_files(tmp_path)
    out_html, out_records = tmp_path / "out" / "report.html", tmp_path / "out" / "records.jsonl"
    assert main(["report", "merge", *map(str, inputs), f"--html={out_html}", f"--records={out_records}"]) == 0
    merged = read_records_jsonl(out_records)
    assert sorted(r["nodeid"] for r in merged) == sorted(r["nodeid"] for r in sample_records())
    page = out_html.read_text()
    assert "4 scenario(s): 2 passed, 1 failed, 1 skipped" in page and "2 shards merged" in page
    assert f"written: {out_html}" in capsys.readouterr().out


def test_junit_files_of_shards_merge_with_their_totals(pytester: pytest.Pytester, tmp_path: Path) -> None:
    pytester.makepyfile(test_seven=TESTS)
    for k in (1, 2):
        pytester.runpytest("-p", "no:cacheprovider", f"--mailharness-shard={k}/2", f"--junitxml={tmp_path}/j{k}.xml")
    [out] = merge([tmp_path / "j1.xml", tmp_path / "j2.xml"], junit=str(tmp_path / "junit.xml"))
    root = ET.parse(out).getroot()
    assert root.tag == "testsuites" and len(root.findall("testsuite")) == 2
    assert (root.get("tests"), root.get("failures")) == ("7", "1")
    assert sorted(c.get("name", "") for c in root.iter("testcase")) == [f"test_{i}" for i in range(7)]


def test_a_test_in_two_shards_stops_the_merge(tmp_path: Path) -> None:
    one, two = shard_files(tmp_path)
    write_records_jsonl(sample_records()[:2], two)  # the first record is in both now
    with pytest.raises(MergeError, match=r"test_forward_refused\[alias\] is in .*records-1.jsonl and in "
                                         r".*records-2.jsonl: were these shards of one matrix"):
        merge([one, two], html=str(tmp_path / "r.html"))
    assert not (tmp_path / "r.html").exists()


def test_inputs_that_do_not_fit_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notes.txt").write_text("x")
    assert main(["report", "merge", str(tmp_path / "notes.txt"), "--html=x.html"]) == 1
    assert "not a .jsonl records file nor a .xml JUnit file" in capsys.readouterr().err
    (tmp_path / "j.xml").write_text("<testsuite")
    assert main(["report", "merge", str(tmp_path / "j.xml"), f"--junit={tmp_path}/o.xml"]) == 1
    assert "not a JUnit XML file" in capsys.readouterr().err
    assert main(["report", "merge", str(tmp_path / "j.xml")]) == 2
