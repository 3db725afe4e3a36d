"""End to end on the default topology: real Postfix servers, real DNS, on an internal network."""

from __future__ import annotations

import dns.rcode
import pytest

from harness import Dns, MailTimeout, MailTopology, NodeSpec, TopologySpec, is_dsn
from harness.engine import labels
from harness.engine.docker import client


def test_every_node_answers_with_its_own_banner(mail_topology: MailTopology) -> None:
    for name in ("store", "library", "edu"):
        node = mail_topology.node(name)
        banner = node.wait_banner(timeout=5)
        assert banner.startswith(f"220 {node.hostname} ESMTP")


def test_dns_serves_mx_a_and_ptr(mail_topology: MailTopology) -> None:
    """Asked from the test process on the topology's access path (directly, or through its gateway)."""
    dns_node = mail_topology.dns

    def answers(name: str, rdtype: str) -> list[str]:
        reply = dns_node.query(name, rdtype)
        assert reply.rcode() == dns.rcode.NOERROR, (name, rdtype, dns.rcode.to_text(reply.rcode()))
        return [rr.to_text().rstrip(".") for rrset in reply.answer for rr in rrset]

    assert answers("library.example", "MX") == ["10 mx.library.example"]
    assert answers("mx.library.example", "A") == [mail_topology.node("library").ip]
    assert answers(mail_topology.node("store").ip, "PTR") == ["mx.store.example"]
    assert dns_node.query("nosuchhost.library.example", "A").rcode() == dns.rcode.NXDOMAIN


def test_a_servfail_fault_answers_servfail_over_tcp_too(mail_topology: MailTopology) -> None:
    """The harness asks over TCP (the gateway carries TCP): the DNS server's TCP side reads the same table as its
    UDP side, faults included."""
    with mail_topology.fault(Dns("edu", "servfail")):
        assert mail_topology.dns.query("example.edu", "MX").rcode() == dns.rcode.SERVFAIL
    assert mail_topology.dns.query("example.edu", "MX").rcode() == dns.rcode.NOERROR


def test_the_network_is_internal_and_labelled(mail_topology: MailTopology) -> None:
    net = client().networks.get(mail_topology.network_name)
    assert net.attrs["Internal"] is True
    lab = net.attrs["Labels"]
    assert lab[labels.TOPOLOGY] == mail_topology.id and lab[labels.SESSION] == labels.session_id()
    for node in mail_topology.nodes.values():
        c = node.container.get_wrapped_container()
        c.reload()
        assert c.labels[labels.WORKER] == labels.worker_id() and c.labels[labels.NODE] == node.name
        assert list(c.attrs["NetworkSettings"]["Networks"]) == [mail_topology.network_name], "no other network"


def test_mail_to_a_domain_outside_the_topology_is_refused_at_rcpt(mail_topology: MailTopology) -> None:
    sent = mail_topology.send("jack@store.example", "someone@gmail.com")
    [r] = sent.transcript.rcpt_replies
    assert (r.code, r.enhanced) == (554, "5.7.1") and "outside the test topology" in r.text
    assert mail_topology.queued("store") == []


def test_a_node_cannot_reach_a_server_outside_its_topology(mail_topology: MailTopology) -> None:
    """A second topology's server (our own container, on its own network) is out of reach from this one,
    although it answers from the host: the network boundary holds."""
    other = MailTopology(TopologySpec(name="outside", nodes=(NodeSpec("far", "far.example"),))).start()
    try:
        far = other.node("far")
        assert far.wait_banner(timeout=5).startswith("220 "), "reachable from the host"
        probe = f"timeout 3 bash -c 'exec 3<>/dev/tcp/{far.ip}/25 && head -c 3 <&3' 2>&1; echo rc=$?"
        out = mail_topology.node("store").exec(["sh", "-c", probe], check=False).decode()
        assert "220" not in out and "rc=0" not in out, out
    finally:
        other.stop()


def test_reset_empties_mailboxes_and_scopes_the_logs(mail_topology: MailTopology) -> None:
    mail_topology.send("jack@store.example", "jill@library.example")
    box = mail_topology.mailbox("jill@library.example")
    box.wait_for()
    assert len(box.messages()) == 1
    mail_topology.reset()
    assert box.messages() == []
    assert mail_topology.log() == [] and mail_topology.transcripts == []


def test_a_mailbox_read_while_mail_arrives_never_fails(mail_topology: MailTopology) -> None:
    """Reading a Maildir while deliveries land in it (tar once exited 1: "new: file changed as we read it"): every
    read succeeds, and the last one holds every message."""
    import threading
    import time

    box = mail_topology.mailbox("jill@library.example")
    n = 40

    def send_all() -> None:
        for i in range(n):
            mail_topology.send("jack@store.example", "jill@library.example", subject=f"read race {i}")

    sender = threading.Thread(target=send_all)
    sender.start()
    reads, counts = 0, [0]
    deadline = time.monotonic() + 60
    while counts[-1] < n and time.monotonic() < deadline:  # polls with a deadline; each read is one exec
        counts.append(len(box.messages()))
        reads += 1
    sender.join()
    assert counts[-1] == n, f"after {reads} reads the mailbox held {counts[-1]} of {n} messages"
    assert reads > 1 and counts == sorted(counts), counts


def test_waiting_for_mail_that_never_comes_says_what_was_seen(mail_topology: MailTopology) -> None:
    mail_topology.send("jack@store.example", "jill@library.example")
    mail_topology.mailbox("jill@library.example").wait_for()  # delivered there (under load it can take > 1.5 s)
    with pytest.raises(MailTimeout) as exc:
        mail_topology.mailbox("jill@example.edu").wait_for(timeout=1.5)
    text = str(exc.value)
    assert "a message delivered to jill@example.edu" in text
    assert "log lines on library" in text and "status=sent (delivered to maildir)" in text
    assert "nothing was delivered to jill@example.edu since the last reset" in text


def test_several_recipients_with_dsn_parameters(mail_topology: MailTopology) -> None:
    sent = mail_topology.send("jack@store.example", ["jill@library.example", "jill@example.edu"],
                              notify=["SUCCESS", "FAILURE"], orcpt=True, ret="HDRS", envid="case-42")
    assert sent.accepted
    assert sent.transcript.exchanges[2].command == "MAIL FROM:<jack@store.example> RET=HDRS ENVID=case-42"
    for addr in ("jill@library.example", "jill@example.edu"):
        mail_topology.mailbox(addr).wait_for()
    # NOTIFY=SUCCESS: Postfix tells Jack of each delivery (RFC 3461 "relayed"/"delivered" DSNs).
    dsn = mail_topology.mailbox("jack@store.example").wait_for_dsn()
    assert is_dsn(dsn)


def test_mailbox_of_an_unknown_user_is_refused_clearly(mail_topology: MailTopology) -> None:
    with pytest.raises(KeyError, match="no mailbox 'nobody' on library; mailboxes: jill, postmaster"):
        mail_topology.mailbox("nobody@library.example")


def test_nobody_is_not_a_valid_recipient(mail_topology: MailTopology) -> None:
    """The `nobody` trap: system accounts are not recipients with an explicit table."""
    sent = mail_topology.send("jack@store.example", "nobody@library.example")
    assert sent.accepted
    mail_topology.mailbox("jack@store.example").wait_for_dsn()
    [r] = mail_topology.rejections("library")
    assert r.reply.code == 550 and r.recipient == "nobody@library.example"


def test_the_client_port_is_not_fixed(mail_topology: MailTopology) -> None:
    with mail_topology.node("library").connect(25, timeout=5) as s:
        assert s.recv(100).startswith(b"220 ")


def test_a_stopped_host_comes_back_and_delivers(mail_topology: MailTopology) -> None:
    from harness import Down

    with mail_topology.fault(Down("library", whole_host=True)):
        assert not mail_topology.node("library").alive
    assert mail_topology.node("library").alive
    mail_topology.send("jack@store.example", "jill@library.example")
    assert mail_topology.mailbox("jill@library.example").wait_for()["To"] == "jill@library.example"


def test_a_refused_second_recipient_is_in_the_story(mail_topology: MailTopology) -> None:
    """After an accepted recipient smtpd logs the next refusal with the queue id, not NOQUEUE: still a refusal."""
    sent = mail_topology.send("jack@store.example", ["jill@library.example", "nosuchuser@library.example"],
                              via="library")
    assert [r.code for r in sent.transcript.rcpt_replies] == [250, 550]
    story = sent.verdict()
    story.assert_rejected_by("library", stage="RCPT", code=550, recipient="nosuchuser@library.example")
    story.assert_delivered_to("jill@library.example")


def test_a_configuration_postfix_refuses_says_so_and_a_failed_edit_says_why(mail_topology: MailTopology) -> None:
    """A reload is one command in the node (edit, reload, wait): its two failures keep their own messages, and the
    node still runs its configuration of before."""
    from harness.nodes.base import NodeError

    library = mail_topology.postfix("library")
    with pytest.raises(NodeError, match="configuration edit failed: .*no-such-file"):
        library.edit_config("cat /etc/postfix/no-such-file")
    with pytest.raises(NodeError, match="Postfix refused the changed configuration: .*fatal"):
        library.edit_config("echo 'a line without an equals sign' >> /etc/postfix/main.cf")
    library.restore_config()
    sent = mail_topology.send("jack@store.example", "jill@library.example", via="library")
    assert sent.accepted, sent.transcript
