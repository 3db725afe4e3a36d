"""The smuggling probe against real Postfix: a client the server exempts from its line-end checks is named (the
requirement is then NOT JUDGED), and through the gateway the probe knows the address the server sees."""

from __future__ import annotations

import pytest

from harness import MailTopology, NodeSpec, TopologySpec, probe_smuggling

JILL, JACK = "jill@library.example", "jack@store.example"


def test_a_client_the_server_exempts_finds_it_vulnerable_and_the_exemption_is_named(
        mail_topology: MailTopology) -> None:
    """With the exemption at its default ($mynetworks, which holds the topology's network for the harness to
    relay), the harness's client may end the data at a bare LF: vulnerable as seen from there, and said why."""
    library = mail_topology.postfix("library")
    library.postconf({"smtpd_forbid_bare_newline_exclusions": "$mynetworks"})

    report = probe_smuggling(mail_topology, "library", recipient=JILL, sender=JACK)

    assert report.vulnerable and report.result("lf-dot-crlf").smuggled is not None, report.render()
    why = library.lenient_to(report.client)
    assert why.startswith("smtpd_forbid_bare_newline_exclusions = 127.0.0.0/8 ") and \
        f"holds {report.client} ({mail_topology.subnet})" in why, why
    library.restore_config()
    assert library.lenient_to(report.client) == "", "the baseline keeps the exemption to loopback"


@pytest.fixture
def gateway_world(monkeypatch: pytest.MonkeyPatch) -> MailTopology:
    monkeypatch.delenv("MAILHARNESS_ACCESS_HOST", raising=False)
    spec = TopologySpec(name="smuggle-gw", nodes=(NodeSpec("store", "store.example", users=("jack",)),
                                                  NodeSpec("library", "library.example", users=("jill",))))
    return MailTopology(spec, access="gateway")


def test_through_the_gateway_the_client_is_the_gateway(gateway_world: MailTopology) -> None:
    with gateway_world as world:
        report = probe_smuggling(world, "library", recipient=JILL, sender=JACK)
        assert world.access.mode == "gateway" and not report.vulnerable, report.render()
        world.sync_logs()
        assert report.client == world.access.client_ip and any(
            f"connect from unknown[{report.client}]" in e.text for e in world.log("library")), world.report()
