"""Faults compose: on a running topology, any order of applying and undoing faults leaves each node in exactly
the state the still-applied faults imply (hypothesis drives the order; the expectations below are written from
the fault catalogue's documentation, not from harness.faults.interpret)."""

from __future__ import annotations

import os
from collections.abc import Callable

import dns.rcode
import dns.rdatatype
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from harness import (
    AcceptUnknownUsers,
    DiskFull,
    Dns,
    Down,
    Fault,
    Forward,
    MailboxFull,
    MailTopology,
    QueueFull,
    QueueLifetime,
    Refuse,
    SizeLimit,
    Tarpit,
    UnknownUser,
    Unreachable,
)
from harness.engine.docker import client
from harness.faults.interpret import FaultError

CATALOGUE: list[Fault] = [
    UnknownUser("library", "jill"),
    AcceptUnknownUsers("library"),
    DiskFull("library"), DiskFull("library", retry_for="3s"),
    QueueFull("store"),
    MailboxFull("library", "jill", 100_000), MailboxFull("library", "jill", 200_000),
    SizeLimit("library", 10_000), SizeLimit("library", 20_000),
    Forward("library", via="alias"), Forward("library", to="jack@store.example", via="alias"),
    Forward("library", via="forward"), Forward("library", via="virtual"),
    Forward("edu", to="jill@library.example", via="forward"),
    Refuse("library", "jill@library.example", "451 4.3.2 later"), Refuse("edu", "jill@example.edu"),
    QueueLifetime("store"), QueueLifetime("edu", "60s", "1s"),
    Down("library"), Down("edu", whole_host=True, client_timeout="3s"),
    Unreachable("edu"), Tarpit("edu", client_timeout="4s"),
    Dns("library", "nxdomain"), Dns("library", "dead_mx"), Dns("edu", "servfail"), Dns("edu", "no_mx"),
]
PARAMS = ("maximal_queue_lifetime", "bounce_queue_lifetime", "delay_warning_time", "queue_minfree",
          "local_recipient_maps", "mail_spool_directory", "mailbox_size_limit", "message_size_limit",
          "bounce_size_limit", "smtp_connect_timeout", "smtp_helo_timeout")
TABLES = ("local_recipients", "aliases", "virtual", "refuse")
FILES = ("/var/mail/.mh-fill", "/var/mail/jill/.forward", "/var/spool/mh-mbox/jill")
POSTFIX = ("store", "library", "edu")


def bounce_size(message_size_limit: int) -> str:
    """What a fault that sets message_size_limit sets bounce_size_limit to: below it, at most the default."""
    return str(min(50_000, message_size_limit // 2))


def params_of(f: Fault) -> dict[tuple[str, str], str]:
    """The main.cf parameters each fault sets, as the catalogue documents them."""
    others = [n for n in POSTFIX if n != f.node]
    if isinstance(f, AcceptUnknownUsers):
        return {(f.node, "local_recipient_maps"): ""}
    if isinstance(f, DiskFull):
        return {(f.node, "maximal_queue_lifetime"): f.retry_for, (f.node, "bounce_queue_lifetime"): f.retry_for}
    if isinstance(f, QueueFull):
        return {(f.node, "queue_minfree"): str(10**15)}
    if isinstance(f, MailboxFull):
        return {(f.node, "mail_spool_directory"): "/var/spool/mh-mbox", (f.node, "mailbox_size_limit"): str(f.limit),
                (f.node, "message_size_limit"): str(f.limit), (f.node, "bounce_size_limit"): bounce_size(f.limit)}
    if isinstance(f, SizeLimit):
        return {(f.node, "message_size_limit"): str(f.limit), (f.node, "bounce_size_limit"): bounce_size(f.limit)}
    if isinstance(f, QueueLifetime):
        return {(f.node, "maximal_queue_lifetime"): f.lifetime, (f.node, "bounce_queue_lifetime"): f.lifetime,
                (f.node, "delay_warning_time"): f.delay_warning}
    if isinstance(f, Down) and f.whole_host or isinstance(f, Unreachable):
        return {(n, "smtp_connect_timeout"): f.client_timeout for n in others}
    if isinstance(f, Tarpit):
        return {(n, "smtp_helo_timeout"): f.client_timeout for n in others}
    return {}


class Observed:
    """One Postfix node's configuration and files, read in one exec."""

    def __init__(self, out: str):
        sections = out.split("\n--- ")
        values = sections[0].split("\n")
        assert len(sections) == 4 and len(values) == len(PARAMS), f"unexpected output of the node:\n{out}"
        self.params = dict(zip(PARAMS, values, strict=True))
        self.tables: dict[str, list[str]] = {}
        for block in sections[1].split("== ")[1:]:
            name, _, body = block.partition("\n")
            self.tables[name] = [ln for ln in body.splitlines() if ln.strip()]
        self.smtp_service = sections[2].partition("\n")[2].strip()
        self.files: dict[str, tuple[int, str]] = {}
        for ln in sections[3].splitlines()[1:]:
            path, size, head = (ln.split(" ", 2) + ["", ""])[:3]
            self.files[path] = (int(size), head)


def observe(world: MailTopology, node: str) -> Observed:
    script = (f"postconf -h {' '.join(PARAMS)}; echo '--- tables'; "
              + "".join(f"echo '== {t}'; cat /etc/postfix/{t}; " for t in TABLES)
              + "echo '== refuse.lmdb'; postmap -s lmdb:/etc/postfix/refuse; "
              + "echo '--- master'; postconf -M smtp/inet 2>/dev/null; echo '--- files'; "
              + "".join(f"[ -e {p} ] && echo \"{p} $(stat -c %s {p}) $(head -c 60 {p} | tr -d '\\n')\"; "
                        for p in FILES) + "true")
    return Observed(world.postfix(node).exec(["sh", "-c", script]).decode())


class Compose(RuleBasedStateMachine):
    world: MailTopology
    baseline: dict[str, Observed]

    def __init__(self) -> None:
        super().__init__()
        self.applied: list[tuple[Fault, Callable[[], None]]] = []
        self.history: list[str] = []

    @initialize()
    def clean(self) -> None:
        self.world.reset()
        assert self.world.faults == ()

    @rule(fault=st.sampled_from(CATALOGUE))
    def apply(self, fault: Fault) -> None:
        self.history.append(f"apply {fault.describe()}")
        self.applied.append((fault, self.world.apply(fault)))

    @rule(data=st.data())
    def undo(self, data: st.DataObject) -> None:
        if not self.applied:
            return
        i = data.draw(st.integers(0, len(self.applied) - 1), label="undo index")
        fault, remove = self.applied.pop(i)
        self.history.append(f"undo {fault.describe()}")
        remove()

    @invariant()
    def state_is_what_the_applied_faults_imply(self) -> None:
        faults = [f for f, _ in self.applied]
        where = "after: " + "; ".join(self.history)
        assert list(self.world.faults) == faults, where
        edu = self.container_state("edu")
        halted = any(isinstance(f, Down) and f.node == "edu" for f in faults)
        frozen = any(isinstance(f, Tarpit) for f in faults)
        assert edu["status"] == ("exited" if halted else "paused" if frozen else "running"), where
        assert edu["connected"] is not any(isinstance(f, Unreachable) for f in faults), where
        self.check_dns(faults, where)
        for node in POSTFIX:
            if node == "edu" and (halted or frozen):
                continue  # its configuration is written when it runs again (checked then)
            self.check_node(node, [f for f in faults], where)

    def check_node(self, node: str, faults: list[Fault], where: str) -> None:
        seen, base = observe(self.world, node), self.baseline[node]
        want = dict(base.params)
        for f in faults:  # the last applied fault that sets a parameter wins; none left: the baseline value
            want.update({p: v for (n, p), v in params_of(f).items() if n == node})
        assert seen.params == want, f"{node}: {where}"
        mine = [f for f in faults if f.node == node]
        gone = {f.user for f in mine if isinstance(f, UnknownUser)}
        assert seen.tables["local_recipients"] == [ln for ln in base.tables["local_recipients"]
                                                   if ln.split()[0] not in gone], f"{node}: {where}"
        assert seen.tables["aliases"] == base.tables["aliases"] + [
            f"{f.user} {f.to}" for f in mine if isinstance(f, Forward) and f.via == "alias"], f"{node}: {where}"
        assert seen.tables["virtual"] == base.tables["virtual"] + [
            f"{f.user}@{self.world.node(node).domain} {f.to}" for f in mine
            if isinstance(f, Forward) and f.via == "virtual"], f"{node}: {where}"
        assert seen.tables["refuse"] == base.tables["refuse"] + [
            f"{f.address} {f.reply}" for f in mine if isinstance(f, Refuse)], f"{node}: {where}"
        # smtpd reads the refusals from their index (lmdb:): it holds the text's entries, the first line of a key
        # winning as with any Postfix table
        index: dict[str, str] = {}
        for ln in seen.tables["refuse"]:
            key, _, reply = ln.partition(" ")
            index.setdefault(key.lower(), reply.strip())
        assert sorted(seen.tables["refuse.lmdb"]) == sorted(f"{k}\t{v}" for k, v in index.items()), \
            f"{node}: the index of the refusals is not their text; {where}"
        down = any(isinstance(f, Down) and not f.whole_host for f in mine)
        assert (seen.smtp_service == "") is down, f"{node}: smtp/inet {seen.smtp_service!r}; {where}"
        forwards = [f for f in mine if isinstance(f, Forward) and f.via == "forward"]
        assert seen.files.get("/var/mail/jill/.forward", (0, ""))[1] == (forwards[-1].to if forwards else ""), where
        assert ("/var/mail/.mh-fill" in seen.files) is any(isinstance(f, DiskFull) for f in mine), where
        quota = [f for f in mine if isinstance(f, MailboxFull)]
        assert seen.files.get("/var/spool/mh-mbox/jill", (0, ""))[0] == (quota[-1].limit - 16 if quota else 0), where

    def container_state(self, node: str) -> dict[str, object]:
        c = client().containers.get(self.world.node(node).id)
        return {"status": c.status, "connected": self.world.network_name in c.attrs["NetworkSettings"]["Networks"]}

    def check_dns(self, faults: list[Fault], where: str) -> None:
        kinds = {f.node: f.kind for f in faults if isinstance(f, Dns)}  # the last one per domain wins
        for node, domain in (("library", "library.example"), ("edu", "example.edu")):
            kind = kinds.get(node, "")
            reply = self.world.dns.query(domain, "MX")  # on the topology's access path
            rcode = reply.rcode()
            mxs = sorted(str(rr.exchange).rstrip(".") for rrset in reply.answer for rr in rrset
                         if rrset.rdtype == dns.rdatatype.MX)
            answer = {dns.rcode.NXDOMAIN: ["NXDOMAIN"], dns.rcode.SERVFAIL: ["SERVFAIL"]}.get(
                rcode, mxs or ["no MX"])
            want = {"nxdomain": ["NXDOMAIN"], "servfail": ["SERVFAIL"], "no_mx": ["no MX"],
                    "dead_mx": [f"dead.{domain}"]}.get(kind, [f"mx.{domain}"])
            assert answer == want, f"MX {domain}: {where}"


def test_any_order_of_applying_and_undoing_faults_leaves_what_the_applied_ones_imply(
        mail_topology: MailTopology) -> None:
    Compose.world = mail_topology
    Compose.baseline = {n: observe(mail_topology, n) for n in POSTFIX}
    examples = int(os.environ.get("MAILHARNESS_COMPOSE_EXAMPLES", "6"))
    # Each step costs a reload or a container change: shrinking a failure takes minutes, so it is asked for
    # (MAILHARNESS_COMPOSE_SHRINK=1); without it the failure shows the whole sequence of steps.
    phases = [p for p in Phase if p is not Phase.shrink or os.environ.get("MAILHARNESS_COMPOSE_SHRINK")]
    run_state_machine_as_test(Compose, settings=settings(
        max_examples=examples, stateful_step_count=8, deadline=None, database=None, phases=phases,
        suppress_health_check=list(HealthCheck)))


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
