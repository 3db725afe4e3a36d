"""The narrow doors: the verdict, the mailboxes and the report read the world through harness.ports' Protocols,
never through MailTopology (no import of harness.world, not even for type checkers), and only harness.evidence
reads Postfix's log lines."""

from __future__ import annotations

import ast
import typing
from pathlib import Path

import pytest

import harness
from harness import ports
from harness.mail import Mailbox
from harness.verdict import SentWorld, Story, gather
from harness.world import MailTopology, Sent

ROOT = Path(harness.__file__).parent
VERDICT = ["verdict/__init__.py", "verdict/story.py", "verdict/linking.py"]
READERS = [*VERDICT, "mail.py", "report/records.py", "report/svg.py", "report/html.py", "report/__init__.py"]


def imported(path: Path) -> set[str]:
    """Every module the file imports, at run time or for type checkers, as absolute names."""
    out: set[str] = set()
    package = "harness" + ("." + ".".join(path.relative_to(ROOT).parts[:-1]) if len(path.relative_to(ROOT).parts) > 1
                           else "")
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            mod = ".".join(x for x in (base, node.module or "") if x)
            out.add(mod)
            out |= {f"{mod}.{a.name}" for a in node.names}
    return out


@pytest.mark.parametrize("name", READERS)
def test_readers_never_import_the_world(name: str) -> None:
    mods = imported(ROOT / name)
    assert not {m for m in mods if m == "harness.world" or m.startswith("harness.world.")}, mods


@pytest.mark.parametrize("name", [*VERDICT, "mail.py", "report/records.py", "report/svg.py"])
def test_only_evidence_reads_postfix_log_lines(name: str) -> None:
    assert "re" not in imported(ROOT / name), f"{name} parses text itself: Postfix's words belong in harness.evidence"


def test_the_readers_are_typed_against_the_ports() -> None:
    hints = typing.get_type_hints(gather)
    assert (hints["world"], hints["sent"]) == (ports.StoryWorld, ports.Submission)
    story = typing.get_type_hints(Story)
    assert (story["sent"], story["directory"], story["mailboxes"]) == (ports.Submission, ports.NodeDirectory,
                                                                       ports.Mailboxes)
    assert "world" not in story and not hasattr(Story, "world")
    assert Mailbox.__init__.__annotations__["store"] == "MailStore" and not hasattr(Mailbox, "topology")
    assert Sent.__annotations__["world"] == "SentWorld | None"


def members(protocol: type) -> set[str]:
    return {n for klass in protocol.__mro__ if klass not in (object, typing.Protocol, typing.Generic)
            for n in [*vars(klass), *klass.__dict__.get("__annotations__", {})] if not n.startswith("_")}


@pytest.mark.parametrize("protocol", [SentWorld, ports.StoryWorld, ports.MailStore])
def test_a_mail_topology_has_every_member_of_the_ports(protocol: type) -> None:
    world = MailTopology()  # not started: no container, only its members
    missing = {n for n in members(protocol) if not hasattr(world, n)}
    assert members(protocol) and not missing, missing
    if protocol is SentWorld:
        assert "stories" in members(protocol)


def test_a_sent_message_is_a_submission() -> None:
    assert members(ports.Submission) <= set(Sent.__dataclass_fields__) | set(vars(Sent))
