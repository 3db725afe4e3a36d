"""Postfix releases: NodeSpec.version, --mailharness-mta (parsing, precedence, applying it to topologies), the
CLI's --mta. No Docker."""

from __future__ import annotations

import dataclasses

import pytest

from harness import NodeSpec, TopologySpec, default_topology
from harness.cli import main
from harness.mta.versions import default_version, release, releases
from harness.plugin.settings import MtaChoice, apply_mta, parse_mta
from harness.topology import topology_with_mock_next_hop

RELEASES, DEFAULT = releases("postfix"), default_version("postfix")


def test_the_release_table() -> None:
    assert RELEASES["3.7"].debian == "bookworm" and RELEASES["3.10"].debian == "trixie"
    assert DEFAULT in RELEASES
    assert release("postfix", "").version == DEFAULT
    assert release("postfix", "3.10").debian == "trixie"


def test_nodespec_version_is_checked_against_the_releases() -> None:
    assert NodeSpec("a", "a.example", version="3.10").version == "3.10"
    assert NodeSpec("a", "a.example").version == ""
    with pytest.raises(ValueError, match=r"node 'a': Postfix '3.9' is not a release.*known: 3.7 \(bookworm\), "
                                         r"3.10 \(trixie, the default\)"):
        NodeSpec("a", "a.example", version="3.9")
    with pytest.raises(ValueError, match="version '3.10' is for MTA nodes; a mock node has none"):
        NodeSpec("a", "a.example", kind="mock", version="3.10")


@pytest.mark.parametrize(("value", "want"), [
    ("postfix", (MtaChoice("postfix"),)),
    ("postfix@3.10", (MtaChoice("postfix", "3.10"),)),
    ("Postfix@3.7", (MtaChoice("postfix", "3.7"),)),
    ("library=postfix@3.10", (MtaChoice("postfix", "3.10", "library"),)),
    ("postfix@3.7, library=postfix@3.10", (MtaChoice("postfix", "3.7"), MtaChoice("postfix", "3.10", "library"))),
    (" postfix@3.10 store=postfix@3.7 ", (MtaChoice("postfix", "3.10"), MtaChoice("postfix", "3.7", "store"))),
    ("library=exim@4.96", (MtaChoice("exim", "4.96", "library"),)),
    ("", ()),
])
def test_parse_mta(value: str, want: tuple[MtaChoice, ...]) -> None:
    assert parse_mta([value]) == want
    assert parse_mta([str(c) for c in want]) == want  # str() gives back what was written


@pytest.mark.parametrize(("value", "message"), [
    ("postfix@3.9", r"'postfix@3.9': Postfix '3.9' is not a release the harness runs; known: 3.7 .*3.10 "
                    r"\(trixie, the default\)"),
    ("sendmail@8.18", r"unknown kind 'sendmail'; known: postfix, exim"),
    ("exim@4.9", r"'exim@4.9': Exim '4.9' is not a release the harness runs; known: 4.96 \(bookworm\), 4.98 "
                 r"\(trixie, the default\)"),
    ("library=", r"expected \[NODE=\]KIND\[@VERSION\]"),
    ("postfix@", r"expected \[NODE=\]KIND\[@VERSION\]"),
    ("a=b=postfix", r"expected \[NODE=\]KIND\[@VERSION\]"),
])
def test_parse_mta_refuses_with_the_reason(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_mta([value])


def _versions(spec: TopologySpec) -> dict[str, str]:
    return {n.name: n.version for n in spec}


def test_apply_mta_every_postfix_node_or_one() -> None:
    t = default_topology()
    assert apply_mta(t, ()) is t
    assert _versions(apply_mta(t, parse_mta(["postfix@3.10"]))) == {"store": "3.10", "library": "3.10", "edu": "3.10"}
    assert _versions(apply_mta(t, parse_mta(["library=postfix@3.10"]))) == {"store": "", "library": "3.10", "edu": ""}
    # a later choice wins for its node; a node the topology lacks changes nothing
    assert _versions(apply_mta(t, parse_mta(["postfix@3.10", "edu=postfix@3.7", "gateway=postfix@3.7"]))) == {
        "store": "3.10", "library": "3.10", "edu": "3.7"}
    assert apply_mta(t, parse_mta(["nosuchnode=postfix@3.10"])) is t


def test_apply_mta_leaves_mock_nodes_and_explicit_versions() -> None:
    t = topology_with_mock_next_hop()
    assert _versions(apply_mta(t, parse_mta(["postfix@3.10"]))) == {"store": "3.10", "library": "3.10", "edu": ""}
    mine = TopologySpec(nodes=(NodeSpec("a", "a.example", version="3.7"), NodeSpec("b", "b.example")))
    out = apply_mta(mine, parse_mta(["postfix@3.10"]))
    assert _versions(out) == {"a": "3.7", "b": "3.10"}
    assert dataclasses.replace(out.nodes[1], version="").hostname == "mx.b.example"  # everything else kept


def test_option_ini_and_environment(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makepyfile("""
        from harness.plugin import _SETTINGS
        def test_x(request):
            print("MTA=" + " ".join(map(str, request.config.stash[_SETTINGS].mta)))
    """)
    monkeypatch.setenv("MAILHARNESS_MTA", "postfix@3.10")
    r = pytester.runpytest_subprocess("-s")
    r.stdout.fnmatch_lines(["mailharness: Postfix 3.10 (trixie) on store, library, edu (--mailharness-mta "
                            "postfix@3.10)", "*MTA=postfix@3.10*"])
    pytester.makeini("[pytest]\nmailharness_mta =\n    postfix@3.7\n    library=postfix@3.10\n")
    r = pytester.runpytest_subprocess("-s")  # the ini file wins over the environment
    r.stdout.fnmatch_lines(["mailharness: Postfix 3.7 (bookworm) on store, edu; Postfix 3.10 (trixie) on library*",
                            "*MTA=postfix@3.7 library=postfix@3.10*"])
    r = pytester.runpytest_subprocess("-s", "--mailharness-mta=edu=postfix@3.10", "--mailharness-mta", "postfix@3.7")
    r.stdout.fnmatch_lines(["*MTA=edu=postfix@3.10 postfix@3.7*"])  # the command line wins over both


def test_bad_mta_value_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x(): pass")
    r = pytester.runpytest_subprocess("--mailharness-mta=postfix@2.11")
    assert r.ret == pytest.ExitCode.USAGE_ERROR
    r.stderr.fnmatch_lines(["*Postfix '2.11' is not a release the harness runs; known: 3.7*"])


def test_cli_mta_passes_through(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    seen: list[list[str]] = []

    def fake_main(args: list[str]) -> int:
        seen.append(list(args))
        return 0

    monkeypatch.setattr("pytest.main", fake_main)
    assert main(["run", "--mta", "postfix@3.10", "--mta", "library=postfix@3.7", "-k", "classic"]) == 0
    assert "--mailharness-mta=postfix@3.10" in seen[0] and "--mailharness-mta=library=postfix@3.7" in seen[0]
    assert seen[0][-2:] == ["-k", "classic"]
    with pytest.raises(SystemExit):
        main(["run", "--mta", "postfix@9"])
    assert "Postfix '9' is not a release" in capsys.readouterr().err


def test_a_choice_of_another_kind_replaces_the_mta() -> None:
    t = default_topology()
    kinds = {n.name: (n.kind, n.version) for n in apply_mta(t, parse_mta(["library=exim@4.96"]))}
    assert kinds == {"store": ("postfix", ""), "library": ("exim", "4.96"), "edu": ("postfix", "")}
    every = {n.name: n.kind for n in apply_mta(t, parse_mta(["exim"]))}
    assert every == {"store": "exim", "library": "exim", "edu": "exim"}
    # a later choice wins for its node, of either kind
    back = {n.name: (n.kind, n.version) for n in apply_mta(t, parse_mta(["exim", "library=postfix@3.7"]))}
    assert back == {"store": ("exim", ""), "library": ("postfix", "3.7"), "edu": ("exim", "")}
    mine = TopologySpec(nodes=(NodeSpec("a", "a.example", config_dir="/etc/postfix"), NodeSpec("b", "b.example")))
    assert [n.kind for n in apply_mta(mine, parse_mta(["exim"]))] == ["postfix", "exim"], \
        "a user's Postfix configuration stays Postfix unless the choice names its node"
    mock = {n.name: n.kind for n in apply_mta(topology_with_mock_next_hop(), parse_mta(["exim"]))}
    assert mock["edu"] == "mock"
