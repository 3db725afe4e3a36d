"""Faults compose on Exim as on Postfix (issue 20): the property of tests/e2e/compose.py on a topology whose library
and edu run Exim (one on each release: library the newest, edu the oldest) and whose store runs Postfix, so that the
client time-outs a host gone away sets land on both MTAs; then, through SMTP, the bugs it found on Exim (or that
writing its expectations did)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness import AcceptUnknownUsers, Down, MailboxFull, MailTopology, NodeSpec, SizeLimit, TopologySpec
from harness.mta.versions import releases

from .compose import run


@pytest.fixture(scope="module")
def world() -> Iterator[MailTopology]:
    exim = list(releases("exim"))
    spec = TopologySpec(name="compose-exim", nodes=(
        NodeSpec("store", "store.example", users=("jack",)),
        NodeSpec("library", "library.example", users=("jill",), kind="exim", version=exim[-1]),
        NodeSpec("edu", "example.edu", users=("jill",), kind="exim", version=exim[0]),
    ))
    with MailTopology(spec) as w:
        yield w


@pytest.fixture
def w(world: MailTopology) -> MailTopology:
    world.reset()
    return world


def test_any_order_of_applying_and_undoing_faults_leaves_what_the_applied_ones_imply_on_exim(
        world: MailTopology) -> None:
    assert [world.node(n).kind for n in ("store", "library", "edu")] == ["postfix", "exim", "exim"]
    run(world)


def test_a_halted_exim_node_comes_back_with_the_faults_still_applied(w: MailTopology) -> None:
    """Found while writing the property's Exim expectations (a sequence its random runs rarely draw): edu's Exim
    restarts from its baseline files (its entrypoint restores /etc/exim4/mh), so the size limit and the
    accept-unknown flag applied before it was stopped were gone when it ran again, the faults still listed as
    applied."""
    w.apply(SizeLimit("edu", 30_000), AcceptUnknownUsers("edu"))
    w.apply(Down("edu", whole_host=True, client_timeout="1s"))()
    assert w.faults == (SizeLimit("edu", 30_000), AcceptUnknownUsers("edu"))
    unknown = w.send("jack@store.example", "nobody@example.edu", via="edu")
    assert [r.code for r in unknown.transcript.rcpt_replies] == [250], unknown.transcript.render()
    big = w.send("jack@store.example", "jill@example.edu", via="edu", body="x" * 40_000 + "\n")
    assert not big.accepted, big.transcript.render()
    ehlo = big.transcript.reply("EHLO")
    assert ehlo is not None and "SIZE 30000" in ehlo.text.splitlines(), big.transcript.render()


@pytest.mark.parametrize("limits", [(100_000, 200_000), (200_000, 100_000)])
def test_two_quotas_for_one_user_keep_the_mailbox_full_until_both_are_undone(
        w: MailTopology, limits: tuple[int, int]) -> None:
    """Found while writing the property's Exim expectations (the Maildir holds at least the quota in force): that
    quota is the user's first quota line (lsearch), and the folder held only the last MailboxFull's limit: a larger
    quota applied first, a smaller one after, and the mailbox had room."""
    first, second = (w.apply(MailboxFull("library", "jill", limit)) for limit in limits)
    for undo in (first, None):
        sent = w.send("jack@store.example", "jill@library.example")
        story = sent.verdict()
        story.bounced_by("library", to="jack@store.example")
        if undo is not None:
            undo()
    second()
    sent = w.send("jack@store.example", "jill@library.example")
    w.mailbox("jill@library.example").wait_for(lambda m: m["Message-ID"] == sent.message["Message-ID"])


def test_undoing_a_full_mailbox_leaves_no_folder_behind(w: MailTopology) -> None:
    """Found by the property at its first run: the folder MailboxFull fills (a Maildir++ folder, .mh-fill) stayed
    after its undo, and after the reset between its cases."""
    w.apply(MailboxFull("library", "jill", 100_000))()
    left = w.mta("library").exec(["find", "/var/mail/jill", "-mindepth", "1", "-maxdepth", "1"]).decode().split()
    assert sorted(left) == ["/var/mail/jill/cur", "/var/mail/jill/new", "/var/mail/jill/tmp"], left
