"""An Exim node in a topology, as a Postfix node runs: store (Postfix) -> library (Exim) -> edu (Postfix), on each
Exim release. What the node itself does (its image, delivery, refusals, relaying, queue, log barrier, reset and
restart); the evidence read from its logs is harness.mta.exim.evidence's, tested on its own."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from typing import TypeVar

import pytest

from harness import MailTopology, NodeSpec, TopologySpec
from harness.faults import Down
from harness.mta.base import SYNC_PROGRAM, ConfigRefused
from harness.mta.exim.node import EximNode
from harness.mta.versions import releases
from harness.nodes.base import NodeError

T = TypeVar("T")


def _spec(version: str, library: NodeSpec | None = None) -> TopologySpec:
    return TopologySpec(name="exim", nodes=(
        NodeSpec("store", "store.example", users=("jack",)),
        library or NodeSpec("library", "library.example", users=("jill",), kind="exim", version=version),
        NodeSpec("edu", "example.edu", users=("jill",)),
    ))


@pytest.fixture(scope="module", params=list(releases("exim")))
def world(request: pytest.FixtureRequest) -> Iterator[MailTopology]:
    with MailTopology(_spec(request.param)) as w:
        yield w


@pytest.fixture
def w(world: MailTopology) -> MailTopology:
    world.reset()
    return world


def _exim(w: MailTopology) -> EximNode:
    node = w.node("library")
    assert isinstance(node, EximNode), node
    return node


def _poll(probe: Callable[[], T | None], what: str, timeout: float = 20.0) -> T:
    """`probe()` until it gives something (not None), or fail after `timeout` s saying what it gave last."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        last = probe()
        if last is not None and last is not False:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:g}s (last seen: {last!r})")
        time.sleep(0.05)


def _delivered(w: MailTopology, address: str, message_id: str, timeout: float = 20.0) -> EmailMessage:
    """The message `message_id` in `address`'s Maildir (read with the harness's mailbox reader), polled."""
    box = w.mailbox(address)
    seen: list[str] = []

    def probe() -> EmailMessage | None:
        msgs = box.messages()
        seen[:] = [str(m["Message-ID"]) for m in msgs]
        return next((m for m in msgs if m["Message-ID"] == message_id), None)

    try:
        return _poll(probe, f"{message_id} in {address}'s mailbox", timeout)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; it holds {seen or 'nothing'}\n{w.report()}") from None


def test_the_image_runs_its_exim_release(world: MailTopology) -> None:
    node = _exim(world)
    said = node.exec(["exim", "-bV"]).decode("utf-8", "replace").splitlines()[0]
    assert said.startswith(f"Exim version {node.spec.version}"), said
    assert node.spec.version in ("4.96", "4.98") and node.release == f"Exim {node.spec.version}"
    if node.spec.version == "4.98":  # Debian 13's point release
        assert said.startswith("Exim version 4.98."), said


def test_mail_from_postfix_lands_in_the_users_maildir(w: MailTopology) -> None:
    sent = w.send("jack@store.example", "jill@library.example")
    assert sent.accepted, sent.transcript.render()
    msg = _delivered(w, "jill@library.example", str(sent.message["Message-ID"]))
    assert f"with esmtp (Exim {_exim(w).spec.version}" in " ".join(map(str, msg.get_all("Received", [])))
    files = _exim(w).exec(["sh", "-c", "stat -c '%U %n' /var/mail/jill/new/*"]).decode().split()
    assert files[0] == "jill" and files[1].startswith("/var/mail/jill/new/"), files


def test_an_unknown_user_is_refused_at_rcpt(w: MailTopology) -> None:
    sent = w.send("jack@store.example", ["nobody@library.example"], via="library")
    [reply] = sent.transcript.rcpt_replies
    assert reply.code == 550, sent.transcript.render()
    assert not sent.accepted and _exim(w).queue() == []
    # through Postfix: its client reads the refusal at RCPT and bounces to its sender
    w.send("jack@store.example", "nobody@library.example")
    ev = w.wait_log(lambda e: e.node == "store" and "status=bounced" in e.line and "nobody@library.example" in e.line,
                    what="store's bounce of nobody@library.example")
    assert "said: 550" in ev.line and "in reply to RCPT TO command" in ev.line, ev.line


def test_a_domain_outside_the_topology_is_refused_and_never_queued(w: MailTopology) -> None:
    sent = w.send("jack@store.example", ["bob@outside.test"], via="library")
    [reply] = sent.transcript.rcpt_replies
    assert (reply.code, reply.enhanced) == (550, "5.7.1"), sent.transcript.render()
    assert "mailharness: domain outside the test topology, never delivered" in reply.text
    assert _exim(w).queue() == []


def test_exim_relays_to_a_postfix_node_over_smtp(w: MailTopology) -> None:
    sent = w.send("jill@library.example", "jill@example.edu", via="library")
    assert sent.accepted, sent.transcript.render()
    msg = _delivered(w, "jill@example.edu", str(sent.message["Message-ID"]))
    received = " ".join(map(str, msg.get_all("Received", [])))
    assert "by mx.library.example with esmtp (Exim" in received and "from mx.library.example" in received


def test_a_local_submission_goes_through_exims_sendmail(w: MailTopology) -> None:
    sent = w.submit("library", "jill@library.example", ["jill@example.edu"])
    assert sent.accepted, sent.transcript.render()
    msg = _delivered(w, "jill@example.edu", str(sent.message["Message-ID"]))
    assert msg["Return-Path"] == "<jill@library.example>"


def test_a_deferred_message_is_queued_then_flushed(w: MailTopology) -> None:
    node = _exim(w)
    with w.fault(Down("edu")):
        sent = w.send("jill@library.example", "jill@example.edu", via="library")
        assert sent.accepted, sent.transcript.render()
        entry = _poll(lambda: next((q for q in node.queue() if q.queue_name == "deferred"), None),
                      "a deferred message")
        assert (entry.node, entry.sender, entry.recipients, entry.reasons) == (
            "library", "jill@library.example", ("jill@example.edu",), ("",))
    node.flush_queue()
    _delivered(w, "jill@example.edu", str(sent.message["Message-ID"]))
    _poll(lambda: node.queue() == [], "library's queue to empty")


def test_the_log_barrier_token_comes_through_the_follower(w: MailTopology) -> None:
    node, token = _exim(w), uuid.uuid4().hex[:12]
    mark = w.events.mark()
    node.exec(node.sync_command(token))
    ev = w.events.wait(lambda e: e.node == "library" and e.program == SYNC_PROGRAM, timeout=10, since=mark,
                       what="library's sync token")
    assert ev.text == token and ev.line == f"{SYNC_PROGRAM}: {token}"


def test_reset_empties_the_queue_and_restores_what_exim_reads_at_start(w: MailTopology) -> None:
    node = _exim(w)

    def transport_option(name: str) -> str:
        out = node.exec(["exim", "-bP", "transport", "remote_smtp"]).decode()
        return next(ln for ln in out.splitlines() if ln.startswith(f"{name} ="))

    node.reconfigure('echo "MH_CONNECT_TIMEOUT = 2s" > /etc/exim4/mh/settings')
    assert transport_option("connect_timeout") == "connect_timeout = 2s"
    with pytest.raises(NodeError, match="Exim refused the changed configuration"):
        node.reconfigure('echo "MH_RETRY = nonsense" >> /etc/exim4/mh/settings')
    assert node.exec(["cat", "/etc/exim4/mh/settings"]).decode() == "MH_CONNECT_TIMEOUT = 2s\n", "put back"
    with w.fault(Down("edu")):
        w.send("jill@library.example", "jill@example.edu", via="library")
        _poll(lambda: node.queue() != [], "a queued message")
        w.reset()
        assert node.queue() == []
    assert transport_option("connect_timeout") == "connect_timeout = 5s"
    assert node.exec(["cat", "/etc/exim4/mh/settings"]).decode() == ""


def test_a_restarted_node_comes_back_with_its_baseline_and_takes_the_mail_that_waited(w: MailTopology) -> None:
    node = _exim(w)
    with w.fault(Down("library", whole_host=True)):
        assert node.halted
        sent = w.send("jack@store.example", "jill@library.example")
        assert sent.accepted, sent.transcript.render()
    assert node.alive and node.exec(["cat", "/etc/exim4/mh/users"]).decode().split() == ["jill", "postmaster"]
    _delivered(w, "jill@library.example", str(sent.message["Message-ID"]), timeout=30)


def test_a_configuration_exim_refuses_stops_the_node_with_exims_words() -> None:
    # a node whose identity breaks its configuration (the host name carries a line of its own)
    broken = NodeSpec("library", "library.example", users=("jill",), kind="exim",
                      hostname="mx.library.example\n.include /nonexistent/mailharness")
    with pytest.raises(ConfigRefused, match="(?s)configuration refused by Exim.*nonexistent/mailharness"):
        MailTopology(_spec("", broken)).start()
