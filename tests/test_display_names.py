"""A node that runs the user's own configuration is named by its host name in every message and report (issue 22,
item 5: `mailharness check` said "expected: rejected by library at RCPT 550", not the user's mail.acme.test). The
other nodes, the topology's own, keep their node names; the checks accept either. From log lines (no Docker)."""

from __future__ import annotations

import dataclasses

import pytest

from harness import VerdictError
from harness.report import junit_properties, render_html, scenario_record
from harness.topology import NodeSpec, TopologySpec, default_topology
from harness.verdict import gather

from .logworld import LogWorld
from .test_verdict import UNKNOWN_USER, sent_to

HOST = "mail.acme.test"  # the host name the user's main.cf gives the server (myhostname)


def with_config(hostname: str = HOST) -> TopologySpec:
    """The default topology with library running a configuration of the user's, as `mailharness check` builds it."""
    base = default_topology()
    mine = NodeSpec("library", "library.example", users=("jill",), hostname=hostname, config_dir="/my/postfix")
    return dataclasses.replace(base, nodes=tuple(mine if n.name == "library" else n for n in base))


def test_the_spec_says_which_nodes_go_by_their_host_name() -> None:
    assert with_config().display_names == {"library": HOST}
    assert default_topology().display_names == {}  # the harness's own nodes keep their names


def test_a_failed_check_names_the_users_server_by_its_host_name() -> None:
    story = gather(LogWorld(UNKNOWN_USER, with_config()), sent_to("nosuchuser@library.example"), timeout=0)
    story.assert_rejected_by("library", stage="RCPT", code=550)  # the checks still take the node name...
    story.assert_rejected_by(HOST, stage="RCPT", code=550)  # ...and the host name
    with pytest.raises(VerdictError) as exc:
        story.assert_rejected_by("library", stage="MAIL", code=550)
    text = str(exc.value)
    assert text.startswith(f"expected: rejected by {HOST} at MAIL 550\n"), text
    assert f"    {HOST}: rejected <nosuchuser@library.example> from store at RCPT: 550 5.1.1" in text
    assert "library" not in text.replace("library.example", ""), "the node name leaks into the message"
    with pytest.raises(VerdictError, match=f"expected: {HOST} accepted the message"):
        story.assert_accepted_by("library")
    with pytest.raises(VerdictError, match=f"expected: {HOST} gave up delivering"):
        story.assert_failed_at("library")


def test_the_topologys_own_nodes_keep_their_names() -> None:
    story = gather(LogWorld(UNKNOWN_USER), sent_to("nosuchuser@library.example"), timeout=0)
    with pytest.raises(VerdictError, match="expected: rejected by library at MAIL 550"):
        story.assert_rejected_by("library", stage="MAIL", code=550)
    assert story.names == {} and story.shown("library") == "library"


def test_the_report_names_the_users_server_by_its_host_name() -> None:
    story = gather(LogWorld(UNKNOWN_USER, with_config()), sent_to("nosuchuser@library.example"), timeout=0)
    record = scenario_record("suites/conformance/test_requirements.py::test_x", "failed", 0.1, "doc", [story])
    assert [n["name"] for n in record["nodes"]] == ["store", HOST, "edu"]
    assert record["nodes"][1]["node"] == "library"  # the topology's own name, for the picture's tooltip
    [m] = record["messages"]
    assert [(h["node"], h["kind"]) for h in m["hops"]][:2] == [("store", "accepted"), (HOST, "rejected")]
    path = dict(junit_properties(record))["mailharness.message.1.path"]
    assert f"{HOST}: rejected <nosuchuser@library.example> from store at RCPT" in path
    page = render_html([record], title="report")
    assert f'data-node="{HOST}"' in page and 'data-node="library"' not in page
    assert "node library" in page
