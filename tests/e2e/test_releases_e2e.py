"""Postfix releases side by side: each node runs the image of its version, and they exchange mail."""

from __future__ import annotations

from harness import MailTopology, NodeSpec, TopologySpec
from harness.mta.versions import default_version, releases

RELEASES, DEFAULT = releases("postfix"), default_version("postfix")


def test_each_node_runs_its_release_and_mail_goes_between_releases() -> None:
    versions = list(RELEASES)
    nodes = tuple(NodeSpec(f"n{i}", f"n{i}.example", users=("ann",), version=v) for i, v in enumerate(versions))
    with MailTopology(TopologySpec(name="releases", nodes=(*nodes, NodeSpec("dflt", "dflt.example")))) as t:
        for n, v in zip(nodes, versions, strict=True):
            said = t.nodes[n.name].exec(["postconf", "-h", "mail_version"]).decode().strip()
            assert said.startswith(f"{v}."), f"{n.name} asked for Postfix {v}, runs {said}"
        assert t.nodes["dflt"].exec(["postconf", "-h", "mail_version"]).decode().startswith(f"{DEFAULT}.")
        first, last = nodes[0], nodes[-1]
        t.send(f"ann@{first.domain}", f"ann@{last.domain}")
        assert t.mailbox(f"ann@{last.domain}").wait_for()["From"] == f"ann@{first.domain}"
        t.send(f"ann@{last.domain}", f"ann@{first.domain}")
        assert t.mailbox(f"ann@{first.domain}").wait_for()["From"] == f"ann@{last.domain}"
