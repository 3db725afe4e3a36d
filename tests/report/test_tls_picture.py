"""Each hop's TLS in the story, the records and the path picture: a padlock per hop to a next hop (closed for TLS,
green where the certificate verified; open in clear), and a hop that went in clear although the sending node's
policy required TLS marked in red, with the policy; the policy's timeline (TlsPolicy applied and removed). No
Docker: Postfix log lines replayed through gather()."""

from __future__ import annotations

from typing import Any

from harness import TlsPolicy
from harness.faults.tlstimeline import TlsTimeline
from harness.report import render_html, scenario_record
from harness.report.records import hop_text
from harness.report.svg import render_svg
from harness.verdict import gather

from ..logworld import LogWorld
from .samples import sent

MID = "<179663100000.1.1@store.example>"
T = "Dec 07 05:28:27 mx postfix"
EDU = "mx.library.example[10.1.1.11]:25"


def _lines(tls: bool) -> list[tuple[str, str]]:
    out = [("store", f"{T}/cleanup[39]: 7E84518407E: message-id={MID}")]
    if tls:
        out.append(("store", f"{T}/smtp[40]: Verified TLS connection established to {EDU}: TLSv1.3 with cipher "
                             "TLS_AES_256_GCM_SHA384 (256/256 bits)"))
    out += [("store", f"{T}/smtp[40]: 7E84518407E: to=<jill@library.example>, relay={EDU}, delay=0.04, "
                      "delays=0.02/0.01/0.01/0.01, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 85DF7184101)"),
            ("store", f"{T}/qmgr[25]: 7E84518407E: removed"),
            ("library", f"{T}/cleanup[68]: 85DF7184101: message-id={MID}"),
            ("library", f"{T}/local[69]: 85DF7184101: to=<jill@library.example>, relay=local, delay=0.01, "
                        "delays=0.01/0/0/0, dsn=2.0.0, status=sent (delivered to maildir)"),
            ("library", f"{T}/qmgr[63]: 85DF7184101: removed")]
    return out


class PolicyWorld(LogWorld):
    """A log world whose store had to use TLS (as MailTopology says from the TlsPolicy faults applied)."""

    def __init__(self, lines: list[tuple[str, str]], required: str) -> None:
        super().__init__(lines)
        self.required = required

    def tls_required(self, node: str, peer: str, seq: int) -> str:
        return self.required if (node, peer) == ("store", "library") else ""


def _record(world: LogWorld) -> dict[str, Any]:
    story = gather(world, sent(MID, ["jill@library.example"]), timeout=0)
    return scenario_record("suites/test_x.py::test_tls", "passed", 0.1, "tls", [story], read_dsns=False)


def test_a_hop_over_tls_gets_a_closed_green_padlock() -> None:
    record = _record(LogWorld(_lines(tls=True)))
    [hop] = [h for m in record["messages"] for h in m["hops"] if h["kind"] == "relayed"]
    assert (hop["tls"], hop["tls_verified"], hop["tls_required"]) == ("TLSv1.3, verified", True, "")
    assert hop_text(hop).endswith("[TLSv1.3, verified]")
    svg = render_svg(record, ident="s1")
    assert 'class="tls verified"' in svg and "TLS: TLSv1.3, verified" in svg
    assert 'class="tls clear' not in svg


def test_a_hop_in_clear_against_the_policy_is_marked_red_with_the_policy() -> None:
    world = PolicyWorld(_lines(tls=False), "TlsPolicy(store, level='encrypt')")
    story = gather(world, sent(MID, ["jill@library.example"]), timeout=0)
    [hop] = [h for h in story.hops if h.kind == "relayed"]
    assert hop.in_clear_against_policy and hop.tls_required == "TlsPolicy(store, level='encrypt')"
    assert hop.render().endswith("[in clear, TLS required: TlsPolicy(store, level='encrypt')]")
    record = scenario_record("suites/test_x.py::test_tls", "failed", 0.1, "tls", [story], read_dsns=False)
    [rec] = [h for m in record["messages"] for h in m["hops"] if h["kind"] == "relayed"]
    assert hop_text(rec) == hop.render()
    svg = render_svg(record, ident="s1")
    assert 'class="tls clear required"' in svg and ">relayed in clear" in svg
    assert "in clear, although TLS was required (TlsPolicy(store, level=&#x27;encrypt&#x27;))" in svg
    page = render_html([record], title="t")
    assert '<tr class="relayed tls-against">' in page
    assert "in clear; TLS was required: TlsPolicy(store, level=&#x27;encrypt&#x27;)" in page


def test_a_hop_in_clear_that_no_policy_forbade_gets_a_grey_open_padlock() -> None:
    record = _record(PolicyWorld(_lines(tls=False), ""))
    svg = render_svg(record, ident="s1")
    assert 'class="tls clear"' in svg and "TLS was required" not in svg


def test_the_policy_counts_from_when_it_holds_until_its_removal_began() -> None:
    timeline = TlsTimeline()
    timeline.note([TlsPolicy("library.example", "encrypt")], lambda key: "library", before=10, after=14)
    assert timeline.required("library", 12) == ""  # logged while the policy was being applied
    assert timeline.required("library", 14) == "TlsPolicy(library, level='encrypt')"
    timeline.note([TlsPolicy("library", "encrypt"), TlsPolicy("library", "may")], lambda key: key, 20, 25)
    assert timeline.required("library", 21) == ""  # a looser policy counts from when its change began
    timeline.note([TlsPolicy("library", "verify")], lambda key: key, 30, 31)
    timeline.note([], lambda key: key, 40, 45)
    assert [timeline.required("library", s) for s in (30, 31, 39, 40)] == [
        "", "TlsPolicy(library, level='verify')", "TlsPolicy(library, level='verify')", ""]
    assert timeline.required("store", 31) == ""
