"""Faults compose: on a running topology, any order of applying and undoing faults leaves each node in exactly
the state the still-applied faults imply (the property: tests/e2e/compose.py, hypothesis driving the order; the
expectations are written from the fault catalogue's documentation, not from harness.faults.interpret), and the
cases it found, through SMTP."""

from __future__ import annotations

import pytest

from harness import Dns, Down, MailboxFull, MailTopology, SizeLimit, UnknownUser, Unreachable
from harness.faults.interpret import FaultError

from .compose import run


def test_any_order_of_applying_and_undoing_faults_leaves_what_the_applied_ones_imply(
        mail_topology: MailTopology) -> None:
    """On the default topology (Postfix, unless --mailharness-mta chose otherwise: each node is read as its MTA);
    Exim's nodes: tests/e2e/test_faults_compose_exim.py."""
    run(mail_topology)


def test_undoing_a_size_limit_keeps_jill_unknown(mail_topology: MailTopology) -> None:
    """The issue's case, through SMTP: UnknownUser and SizeLimit applied, only the size limit undone."""
    mail_topology.apply(UnknownUser("library", "jill"))
    undo_limit = mail_topology.apply(SizeLimit("library", 10_000))
    undo_limit()
    sent = mail_topology.send("jill@library.example", "jill@library.example", via="library")
    [rcpt] = sent.transcript.rcpt_replies
    assert (rcpt.code, rcpt.enhanced) == (550, "5.1.1"), sent.transcript
    assert mail_topology.faults == (UnknownUser("library", "jill"),)


def test_a_network_fault_undone_leaves_the_other_nodes_faults(mail_topology: MailTopology) -> None:
    mail_topology.apply(SizeLimit("library", 10_000))
    heal = mail_topology.apply(Unreachable("edu", client_timeout="1s"))
    heal()
    assert mail_topology.postfix("library").exec(["postconf", "-h", "message_size_limit"]).strip() == b"10000"
    assert mail_topology.postfix("library").exec(["postconf", "-h", "smtp_connect_timeout"]).strip() == b"5s"


def test_two_dns_faults_merge_and_heal_one_by_one(mail_topology: MailTopology) -> None:
    heal_library = mail_topology.apply(Dns("library", "nxdomain"))
    mail_topology.apply(Dns("edu", "dead_mx"))
    heal_library()
    assert mail_topology.dns.faults == {"example.edu": "dead_mx"}


def test_faults_that_cannot_hold_together_are_refused_and_change_nothing(mail_topology: MailTopology) -> None:
    mail_topology.apply(MailboxFull("library", "jill", 100_000))
    with pytest.raises(FaultError, match="mailbox_size_limit .100000. would be smaller than message_size_limit"):
        mail_topology.apply(SizeLimit("library", 200_000))
    assert mail_topology.faults == (MailboxFull("library", "jill", 100_000),)
    assert mail_topology.postfix("library").exec(["postconf", "-h", "message_size_limit"]).strip() == b"100000"


@pytest.mark.parametrize("heal_first", ["unreachable", "down"])
def test_a_host_cut_and_stopped_comes_back_whichever_heals_first(mail_topology: MailTopology, heal_first: str) -> None:
    """A stopped container that is also cut from the network starts again: on engines before API 1.46 its own
    sysctls name eth0, and it could not start without it (found by the property test above)."""
    cut = mail_topology.apply(Unreachable("edu", client_timeout="1s"))
    stop = mail_topology.apply(Down("edu", whole_host=True, client_timeout="1s"))
    first, second = (cut, stop) if heal_first == "unreachable" else (stop, cut)
    first()
    edu = mail_topology.node("edu")
    assert edu.halted is (heal_first == "unreachable") and edu.connected is (heal_first == "unreachable")
    second()
    assert mail_topology.faults == () and edu.alive and edu.connected
    sent = mail_topology.send("jack@store.example", "jill@example.edu")
    assert sent.accepted
    mail_topology.mailbox("jill@example.edu").wait_for()


def test_faults_applied_together_change_a_node_once_and_undo_together(mail_topology: MailTopology) -> None:
    """`apply(f1, f2)`: one reload of the node both change (not one per fault); the removal undoes both, once."""
    library = mail_topology.postfix("library")
    mark = mail_topology.events.mark()
    remove = mail_topology.apply(SizeLimit("library", 10_000), UnknownUser("library", "jill"))
    reloads = [e for e in mail_topology.events.since(mark) if e.node == "library" and "reload -- version" in e.line]
    assert len(reloads) == 1, [e.line for e in reloads]
    assert mail_topology.faults == (SizeLimit("library", 10_000), UnknownUser("library", "jill"))
    remove()
    assert mail_topology.faults == ()
    assert library.exec(["postconf", "-h", "message_size_limit"]).strip() != b"10000"


def test_a_host_cut_off_is_known_to_its_neighbours_first() -> None:
    """Before a node is cut off, the other Postfix nodes have it in their neighbour (ARP) tables, so that a
    connection to it times out (the client's connect time-out) rather than failing on ARP first. A fresh topology:
    no node has talked to library yet."""
    with MailTopology() as world:
        library = world.node("library")

        def entries() -> dict[str, list[str]]:
            tables = {n: world.postfix(n).exec(["cat", "/proc/net/arp"]).decode() for n in ("store", "edu")}
            return {n: [ln for ln in t.splitlines()[1:] if ln.split()[0] == library.ip and ln.split()[2] != "0x0"]
                    for n, t in tables.items()}

        before = entries()
        remove = world.apply(Unreachable("library"))
        after = entries()
        remove()
    assert not any(before.values()), f"a neighbour knew library before the fault: {before}"
    assert all(after.values()), f"a neighbour did not know library when it was cut off: {after}"
