"""End to end: a session that gets no reply (refused, timed out, no greeting) is a hop of the message's story,
with its stage and reason, whether it is the harness's submission or a Postfix node's next hop."""

from __future__ import annotations

import pytest

from harness import Down, Fault, FaultApplier, MailTopology, QueueLifetime, Tarpit, Unreachable


@pytest.mark.parametrize(("fault", "stage", "words"), [
    (Down("library", whole_host=True), "CONNECT", "connect to "),
    (Unreachable("library"), "CONNECT", "connect to "),
    (Tarpit("library"), "BANNER", "timed out while receiving the initial server greeting"),
], ids=["host_stopped", "unreachable", "tarpit"])
def test_a_submission_that_gets_no_reply_is_a_hop(mail_topology: MailTopology, mail_fault: FaultApplier,
                                                    fault: Fault, stage: str, words: str) -> None:
    mail_fault(fault)
    sent = mail_topology.send("jack@store.example", "jill@library.example", via="library", timeout=2)
    assert not sent.accepted
    story = sent.verdict(timeout=2)
    [hop] = story.session_failures()
    assert (hop.node, hop.peer, hop.stage) == ("library", "harness", stage) and words in hop.detail, story.render()
    story.assert_unreachable("library", stage=stage.lower(), by="harness")
    assert story.render().splitlines()[1].startswith("  1. library: "), story.render()


@pytest.mark.parametrize(("fault", "stage", "words"), [
    (Down("library"), "CONNECT", "Connection refused"),
    (Unreachable("library"), "CONNECT", "Connection timed out"),
    (Tarpit("library"), "BANNER", "timed out while receiving the initial server greeting"),
], ids=["next_hop_down", "unreachable", "tarpit"])
def test_a_next_hop_that_gives_no_reply_is_named_in_the_story(mail_topology: MailTopology, mail_fault: FaultApplier,
                                                               fault: Fault, stage: str, words: str) -> None:
    mail_fault(fault, QueueLifetime("store", lifetime="0s"))
    sent = mail_topology.send("jack@store.example", "jill@library.example")
    mail_topology.mailbox("jack@store.example").wait_for_dsn(timeout=20)
    story = sent.verdict()
    [hop] = [h for h in story.hops if h.kind == "deferred" and not h.dsn]
    assert (hop.node, hop.peer, hop.stage, hop.reply) == ("store", "library", stage, None), story.render()
    assert words in hop.detail and f"store -> library: deferred <jill@library.example> at {stage}" in story.render()
    story.assert_unreachable("library", stage=stage, by="store")
