"""Sharding with the real thing: two shards of `mailharness run` at once, each with its own topology, and their
records and JUnit files merged into one report that has every selected scenario exactly once."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

SELECT = "delivered_to_jills or unknown_user_rejected or queue_full or test_notify_never"  # 4 scenarios


def test_two_shards_run_at_once_and_merge_into_one_report(tmp_path: Path) -> None:
    def shard(k: int) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "harness.cli", "run", "-n", "0", "-k", SELECT, f"--mailharness-shard={k}/2",
             f"--mailharness-records=reports/records-{k}.jsonl", f"--junitxml=reports/junit-{k}.xml",
             f"--mailharness-html=reports/shard-{k}.html"],
            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    running = [shard(1), shard(2)]  # at the same time: two processes, two topologies
    outputs = [p.communicate(timeout=600)[0] for p in running]
    for p, out in zip(running, outputs, strict=True):
        assert p.returncode == 0, out[-3000:]
        assert re.search(r"\b2 passed, \d+ deselected", out), out[-3000:]
    ids = [{json.loads(line)["nodeid"] for line in (tmp_path / f"reports/records-{k}.jsonl").read_text().splitlines()}
           for k in (1, 2)]
    assert len(ids[0]) == len(ids[1]) == 2 and not ids[0] & ids[1]

    r = subprocess.run([sys.executable, "-m", "harness.cli", "report", "merge", "reports/records-1.jsonl",
                        "reports/records-2.jsonl", "reports/junit-1.xml", "reports/junit-2.xml",
                        "--html=reports/mailharness.html", "--junit=reports/junit.xml"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "4 scenario(s): 4 passed, 0 failed, 0 skipped" in (tmp_path / "reports/mailharness.html").read_text()
    junit = ET.parse(tmp_path / "reports/junit.xml").getroot()
    assert (junit.get("tests"), junit.get("failures"), junit.get("errors")) == ("4", "0", "0")
