"""One report from the shards of a CI matrix (--mailharness-shard=K/N): `mailharness report merge`.

Each shard writes its records (--mailharness-records=reports/records-K.jsonl) and its JUnit file
(--junitxml=reports/junit-K.xml). The merge joins the records into one JSON Lines file and one HTML report, and
the JUnit files into one <testsuites> document (CI systems also accept the files as they are: GitLab's
`reports: junit:` takes a glob). A test found in two inputs stops the merge: the shards were not of one matrix
(different N, or different arguments), and a report counting a test twice would not say what ran.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import MailharnessError
from .html import write_html
from .records import Record, read_records_jsonl, write_records_jsonl


class MergeError(MailharnessError, ValueError):
    """Inputs that cannot be merged into one honest report (a test in two shards, an unreadable file)."""


@dataclass
class Merged:
    records: list[Record] = field(default_factory=list)
    junit: ET.Element | None = None
    sources: dict[str, str] = field(default_factory=dict)  # test id -> the input it came from

    def claim(self, test: str, source: str) -> None:
        if test in self.sources:
            raise MergeError(f"{test} is in {self.sources[test]} and in {source}: were these shards of one matrix "
                             f"(the same N and the same arguments)?")
        self.sources[test] = source


def merge_records(paths: Sequence[str | os.PathLike[str]], merged: Merged | None = None) -> Merged:
    """The records of every shard, sorted by node id (the order the shards were dealt in)."""
    merged = merged or Merged()
    for path in paths:
        try:
            records = read_records_jsonl(path)
        except (OSError, ValueError) as exc:
            raise MergeError(f"{path}: not a records file (--mailharness-records): {exc}") from exc
        for r in records:
            merged.claim(f"record {r.get('nodeid', '?')}", str(path))
            merged.records.append(r)
    merged.records.sort(key=lambda r: str(r.get("nodeid", "")))
    return merged


def merge_junit(paths: Sequence[str | os.PathLike[str]], merged: Merged | None = None) -> Merged:
    """Every <testsuite> of every file under one <testsuites>, with the totals added up."""
    merged = merged or Merged()
    root = ET.Element("testsuites", {"name": "mailharness (merged shards)"})
    totals = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
    time = 0.0
    for path in paths:
        try:
            doc = ET.parse(path).getroot()
        except (OSError, ET.ParseError) as exc:
            raise MergeError(f"{path}: not a JUnit XML file (--junitxml): {exc}") from exc
        suites = [doc] if doc.tag == "testsuite" else doc.findall("testsuite")
        for suite in suites:
            for case in suite.iter("testcase"):
                merged.claim(f"testcase {case.get('classname', '')}.{case.get('name', '')}", str(path))
            suite.set("name", f"{suite.get('name', 'pytest')} ({Path(path).name})")
            for key in totals:
                totals[key] += int(suite.get(key, "0") or 0)
            time += float(suite.get("time", "0") or 0)
            root.append(suite)
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{time:.3f}")
    merged.junit = root
    return merged


def write_junit(root: ET.Element, path: str | os.PathLike[str]) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(out, encoding="utf-8", xml_declaration=True)
    return out


def merge(inputs: Sequence[str | os.PathLike[str]], *, html: str = "", records: str = "",
          junit: str = "") -> list[Path]:
    """Merge the inputs (.jsonl records, .xml JUnit files) into the outputs asked for; returns what was written."""
    jsonl = [p for p in inputs if str(p).endswith(".jsonl")]
    xml = [p for p in inputs if str(p).endswith(".xml")]
    other = [str(p) for p in inputs if p not in jsonl and p not in xml]
    if other:
        raise MergeError(f"not a .jsonl records file nor a .xml JUnit file: {', '.join(other)}")
    if (html or records) and not jsonl:
        raise MergeError("an HTML report or records file needs the shards' records (.jsonl, --mailharness-records)")
    if junit and not xml:
        raise MergeError("a merged JUnit file needs the shards' JUnit files (.xml, --junitxml)")
    merged = merge_junit(xml, merge_records(jsonl))
    written = []
    if records:
        written.append(write_records_jsonl(merged.records, records))
    if html:
        title = f"mailharness report ({len(jsonl)} shard{'s' if len(jsonl) != 1 else ''} merged)"
        written.append(write_html(merged.records, html, title))
    if junit and merged.junit is not None:
        written.append(write_junit(merged.junit, junit))
    return written
