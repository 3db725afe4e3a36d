"""The HTML report as text: escaping, one diagram per scenario with messages, the summary table, what is open."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from harness.report import render_html, render_svg, scenario_record, write_html
from harness.report.html import gist, scenario_id
from harness.report.svg import steps

from .samples import (
    FakeWorld,
    forward_refused,
    next_hop_down,
    queue_full,
    sample_records,
    sent,
    story,
    unreachable_submission,
)

VOID = {"meta", "input", "br", "img", "hr", "link"}
SVG_SELF_CLOSING = {"line", "path", "rect", "circle"}


class Balance(HTMLParser):
    """Every element that is opened is closed, in order (void and self-closed SVG elements aside)."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.ids: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.ids += [v for k, v in attrs if k == "id" and v]
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.ids += [v for k, v in attrs if k == "id" and v]

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes <{self.stack[-1] if self.stack else '(nothing)'}>")
        else:
            self.stack.pop()


def page() -> str:
    return render_html(sample_records(), title="Report <&> of mail", generated="")


def test_well_formed_standalone_page() -> None:
    text = page()
    p = Balance()
    p.feed(text)
    p.close()
    assert p.problems == [] and p.stack == []
    assert len(p.ids) == len(set(p.ids)), "ids are unique in the document"
    assert text.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in text
    # Nothing is fetched: no stylesheet or script links, no URLs except the SVG namespace.
    assert not re.search(r"<link|<img|\ssrc=|@import|url\(", text)
    assert set(re.findall(r"https?://[^\s\"'<>]+", text)) == {"http://www.w3.org/2000/svg"}
    assert "window.onerror" in text and "dataset.ok = '1'" in text


def test_everything_is_escaped() -> None:
    text = page()
    assert "<title>Report &lt;&amp;&gt; of mail</title>" in text
    assert "<script>alert" not in text and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in text
    assert "<jill@example.edu>" not in text  # replies quote addresses in angle brackets
    assert "550 5.1.1 &lt;jill@example.edu&gt;: Recipient address rejected: No such user here" in text
    assert "forwards to &lt;jill@example.edu&gt;, which refuses: library bounces &amp; tells" in text


def test_the_header_says_how_the_servers_were_reached() -> None:
    records = sample_records()
    assert '<p class="access">' not in render_html(records, title="t", generated="")  # records of before: none
    records[0]["access"] = ["gateway (forced; reached at <x>)"]
    records[1]["access"] = ["gateway (forced; reached at <x>)", "direct (this process routes ...)"]
    text = render_html(records, title="t", generated="")
    assert text.count('<p class="access">') == 2 and "servers reached: gateway (forced; reached at &lt;x&gt;)" in text
    assert "servers reached: direct (this process routes ...)" in text


def test_one_diagram_per_scenario_with_messages() -> None:
    records = sample_records()
    text = render_html(records, title="t", generated="")
    with_messages = [r for r in records if r["messages"]]
    assert text.count('class="path-diagram"') == len(with_messages) == 3
    assert text.count("<svg") == text.count("</svg>")
    assert "No verdict was gathered in this scenario" in text
    svg = render_svg(records[0], ident="x")
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg" class="path-diagram" id="x-diagram"')
    assert '<title id="x-title">Path of 1 message(s) in forward_refused[alias]</title>' in svg
    for lane in ("store.example", "mx.library.example", "example.edu", "harness"):
        assert f">{lane}</text>" in svg
    assert svg.count('class="reject-x"') == 1  # edu refuses library at RCPT
    assert 'class="hop arrow dsn"' in svg and 'class="hop mark mailbox"' in svg and 'class="hop mark emit"' in svg
    assert ">RCPT 550 5.1.1</text>" in svg and ">emits DSN (failed) to jack@store.example</text>" in svg


def test_summary_table_links_every_scenario_and_failed_ones_are_open() -> None:
    records = sample_records()
    text = render_html(records, title="t", generated="")
    rows = re.findall(r'<tr class="row-(\w+)"><td class="num">(\d+)</td><td><a href="#([^"]+)">', text)
    assert [(o, int(n)) for o, n, _ in rows] == [("failed", 1), ("passed", 2), ("passed", 3), ("skipped", 4)]
    ids = [scenario_id(i, r) for i, r in enumerate(records, 1)]
    assert [a for _, _, a in rows] == ids == ["s1-forward-refused-alias", "s2-scripted-refusal-at-a-mock-next-hop",
                                              "s3-queue-full", "s4-no-verdict"]
    opened = dict(re.findall(r'<details class="scenario (\w+)" id="([^"]+)"', text)[i][::-1] for i in range(4))
    assert opened == dict(zip(ids, ["failed", "passed", "passed", "skipped"], strict=True))
    assert re.search(r'<details class="scenario failed" id="s1-forward-refused-alias" open>', text)
    assert len(re.findall(r"<details [^>]*\bopen>", text)) == 1
    assert ">FAIL</span>" in text and ">PASS</span>" in text and ">SKIP</span>" in text
    assert "4 scenario(s): 2 passed, 1 failed, 1 skipped; 0.88 s in all" in text


def test_dsn_findings_beside_the_picture() -> None:
    text = page()
    assert '<li class="error"><b>R-4</b> error: Status &#x27;5.1&#x27; is not class.subject.detail' in text
    assert '<li class="warning"><b>R-2</b> warning:' in text
    assert "<dt>Remote-MTA</dt><dd>mx.example.edu</dd>" in text
    assert '<li class="note"><b>report</b> note: not found in jack@store.example&#x27;s mailbox' in text
    assert "No DSN was emitted." in text  # the refusal at MAIL FROM


def test_rows_in_order_with_the_dsn_emission_before_its_way_back() -> None:
    rows = steps(sample_records()[0]["messages"][0])
    assert [(s.what, s.number, s.hop.get("kind", "")) for s in rows] == [
        ("hop", 1, "accepted"), ("hop", 2, "relayed"), ("hop", 3, "forwarded"), ("hop", 4, "rejected"),
        ("hop", 5, "bounced"), ("emit", 0, ""), ("hop", 6, "relayed"), ("hop", 7, "delivered")]
    mock = steps(sample_records()[1]["messages"][0])
    assert [s.hop.get("kind") or s.what for s in mock] == ["accepted", "rejected", "bounced", "emit", "delivered"]


def test_gist_and_file(tmp_path: Path) -> None:
    records = sample_records()
    assert gist(records[0]) == ("refused by edu at RCPT (550 5.1.1); bounced at library (5.1.1); "
                                "DSN failed from library [1 error, 3 warnings]")
    assert gist(records[2]) == "refused by store at MAIL (452 4.3.1)"
    assert gist(records[3]) == "no verdict gathered"
    out = write_html(records, tmp_path / "deep" / "report.html", "mail")
    assert out.read_text(encoding="utf-8").count('class="path-diagram"') == 3


def test_a_scenario_with_two_messages_draws_both_in_one_picture() -> None:
    r = scenario_record("t.py::test_two", "failed", 1.0, "", [forward_refused(), queue_full()])
    svg = render_svg(r, ident="two")
    assert svg.count('class="path-diagram"') == 1
    assert "message 1: &lt;jack@store.example&gt;" in svg and "message 2: &lt;jack@store.example&gt;" in svg
    assert ">MAIL 452 4.3.1</text>" in svg


def test_a_record_that_cannot_be_drawn_does_not_break_the_report() -> None:
    bad = {"name": "odd", "outcome": "passed", "duration": 0, "nodes": [{"domain": "no name"}],
           "messages": [{"hops": []}]}
    text = render_html([bad, *sample_records()], title="t", generated="")
    assert "This scenario could not be drawn: KeyError: &#x27;name&#x27;" in text
    assert text.count('class="path-diagram"') == 3


def test_gist_of_a_message_only_accepted() -> None:
    lines = [("store", "Nov 29 13:29:49 mx postfix/cleanup[39]: 7E84518407E: message-id=<9@store.example>"),
             ("store", "Nov 29 13:29:49 mx postfix/qmgr[25]: 7E84518407E: removed")]
    only = story(FakeWorld(lines), sent("<9@store.example>", ["jill@library.example"]))
    r = scenario_record("t.py::test_x", "failed", 0.1, "", [only])
    assert gist(r) == "accepted at store, nothing seen after that"


def test_a_copy_still_queued_is_drawn_last() -> None:
    lines = [("store", "Nov 29 13:05:05 mx postfix/cleanup[117]: 0384E176400: message-id=<1@store.example>"),
             ("store", "Nov 29 13:05:05 mx postfix/smtp[118]: 0384E176400: to=<jill@library.example>, relay=mx.library"
                       ".example[10.1.1.11]:25, delay=1, delays=0/0/0/1, dsn=4.3.2, status=deferred (host mx.library"
                       ".example[10.1.1.11] said: 451 4.3.2 try later (in reply to RCPT TO command))")]
    s = story(FakeWorld(lines), sent("<1@store.example>", ["jill@library.example"], qid="0384E176400"))
    r = scenario_record("t.py::test_deferred", "failed", 0.1, "", [s])
    assert [x.what for x in steps(r["messages"][0])] == ["hop", "hop", "pending"]
    svg = render_svg(r, ident="d")
    assert ">still queued \u00b7 0384E176400</text>" in svg
    assert ">RCPT 451 4.3.2 deferred</text>" in svg  # no refusal row for it: the attempt is an arrow
    assert gist(r) == "still queued at store"


def test_failed_sessions_are_drawn_and_summed_up() -> None:
    r = scenario_record("t.py::test_down", "failed", 0.1, "", [unreachable_submission()])
    svg = render_svg(r, ident="u")
    assert svg.count('class="reject-x"') == 1 and ">CONNECT unreachable" in svg  # harness -> library, an X
    assert gist(r) == "unreachable library from harness at CONNECT"
    assert '<tr class="unreachable"><td class="num">1</td><td class="node">library</td>' in render_html(
        [r], title="t", generated="")
    r = scenario_record("t.py::test_next_hop_down", "failed", 0.1, "", [next_hop_down()])
    svg = render_svg(r, ident="n")
    assert ">CONNECT no reply 4.4.1</text>" in svg  # store -> library, the attempt deferred
    assert gist(r) == "no reply from library to store at CONNECT; expired at store"


def test_an_expected_failure_is_counted_and_shows_the_departure() -> None:
    """An XFAIL (a departure from the RFCs the scenario knows the server makes) has its badge, its count, and the
    departure under "the departure from the RFCs it shows"."""
    record = scenario_record("suites/test_rfc3461.py::test_envid_orcpt", "expected-failure", 0.3, "ENVID <&>", [])
    record["failure"] = "expected failure: Exim departs from the RFCs: RFC 3461 s6.3 (a) (seen: order+2042)"
    text = render_html([record, *sample_records()], title="t", generated="")
    assert ">XFAIL</span>" in text and "1 expected failure(s) (known departures)" in text
    assert "<summary>the departure from the RFCs it shows</summary>" in text and "RFC 3461 s6.3 (a)" in text
