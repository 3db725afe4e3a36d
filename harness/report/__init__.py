"""Reports of a run: per scenario, what happened to each message hop by hop and what its DSNs said.

    from harness.report import scenario_record, write_html, write_records_jsonl

    record = scenario_record(nodeid, outcome, duration, doc, topology.stories)   # plain, JSON-ready data
    write_records_jsonl(records, "mailharness.jsonl")
    write_html(records, "mailharness.html", title="mail scenarios")              # one standalone file

See docs/reports.md.
"""

from .html import render_html, write_html
from .records import (
    Record,
    hop_text,
    junit_properties,
    read_records_jsonl,
    scenario_record,
    write_records_jsonl,
)
from .svg import render_svg

__all__ = [
    "Record",
    "hop_text",
    "junit_properties",
    "read_records_jsonl",
    "render_html",
    "render_svg",
    "scenario_record",
    "write_html",
    "write_records_jsonl",
]
