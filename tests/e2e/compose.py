"""The property behind tests/e2e/test_faults_compose*.py: on a running topology, any order of applying and undoing
faults leaves each node in exactly the state the still-applied faults imply. Hypothesis drives the order; the
state of an MTA node is read from the running container by its MTA's module (compose_postfix, compose_exim), which
writes its expectations from the fault catalogue's documentation (docs/faults.md, containers/*/README), never from
harness.faults.interpret. Shared here: the catalogue, the container and DNS checks, and what the node's SMTP server
answers (listening or not, STARTTLS, SIZE, the certificate it presents), which means the same on every MTA."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Protocol

import dns.rcode
import dns.rdatatype
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from harness import (
    AcceptUnknownUsers,
    BadCertificate,
    DiskFull,
    Dns,
    Down,
    Fault,
    Forward,
    MailboxFull,
    MailTopology,
    NoStartTLS,
    QueueFull,
    QueueLifetime,
    Refuse,
    SizeLimit,
    Tarpit,
    TlsPolicy,
    UnknownUser,
    Unreachable,
)
from harness.engine.docker import client

from . import compose_exim, compose_postfix
from .compose_served import Observation, fingerprints_script

# Faults on every node of the default topology's shape (store, library, edu), each meaningful on Postfix and on
# Exim (TlsPolicy's levels: those both MTAs have; Postfix's "secure" has no Exim form).
CATALOGUE: list[Fault] = [
    UnknownUser("library", "jill"),
    AcceptUnknownUsers("library"), AcceptUnknownUsers("edu"),
    DiskFull("library"), DiskFull("library", retry_for="3s"),
    QueueFull("store"), QueueFull("library"),
    MailboxFull("library", "jill", 100_000), MailboxFull("library", "jill", 200_000),
    MailboxFull("edu", "jill", 150_000),
    SizeLimit("library", 10_000), SizeLimit("library", 20_000), SizeLimit("edu", 30_000),
    Forward("library", via="alias"), Forward("library", to="jack@store.example", via="alias"),
    Forward("library", via="forward"), Forward("library", via="virtual"),
    Forward("edu", to="jill@library.example", via="forward"),
    Refuse("library", "jill@library.example", "451 4.3.2 later"), Refuse("edu", "jill@example.edu"),
    QueueLifetime("store"), QueueLifetime("edu", "60s", "1s"),
    TlsPolicy("library", "encrypt"), TlsPolicy("library", "verify"), TlsPolicy("edu", "may"),
    NoStartTLS("library"), NoStartTLS("edu"),
    BadCertificate("library", "expired"), BadCertificate("library", "self_signed"), BadCertificate("edu", "wrong_name"),
    Down("library"), Down("edu", whole_host=True, client_timeout="3s"),
    Unreachable("edu"), Tarpit("edu", client_timeout="4s"),
    Dns("library", "nxdomain"), Dns("library", "dead_mx"), Dns("edu", "servfail"), Dns("edu", "no_mx"),
]
NODES = ("store", "library", "edu")


# -- one MTA's observation and expectations ----------------------------------------------------------------------
class Model(Protocol):
    """What an MTA's module gives the state machine (compose_postfix, compose_exim)."""

    def observe(self, world: MailTopology, node: str, kinds: dict[str, str]) -> Observation: ...

    def check(self, world: MailTopology, node: str, base: Observation, seen: Observation, faults: list[Fault],
              where: str) -> None: ...


MODELS: dict[str, Model] = {"postfix": compose_postfix, "exim": compose_exim}  # by node kind


class Compose(RuleBasedStateMachine):
    world: MailTopology
    baseline: dict[str, Observation]
    kinds: dict[str, dict[str, str]]  # per node: certificate fingerprint -> kind

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
        try:
            self.check(faults, where)
        except AssertionError as exc:
            # Hypothesis replays a failing case to report it; when the replay fails elsewhere (a leftover that the
            # reset between cases did not undo) it reports only that it was flaky: say the first failure here.
            print(f"compose: the first failure: {exc}", flush=True)
            raise

    def check(self, faults: list[Fault], where: str) -> None:
        assert list(self.world.faults) == faults, where
        edu = self.container_state("edu")
        halted = any(isinstance(f, Down) and f.node == "edu" and f.whole_host for f in faults)
        frozen = any(isinstance(f, Tarpit) for f in faults)
        assert edu["status"] == ("exited" if halted else "paused" if frozen else "running"), where
        assert edu["connected"] is not any(isinstance(f, Unreachable) for f in faults), where
        self.check_dns(faults, where)
        for node in NODES:
            if node == "edu" and (halted or frozen):
                continue  # its configuration is written when it runs again (checked then)
            model = MODELS[self.world.node(node).kind]
            seen = model.observe(self.world, node, self.kinds[node])
            model.check(self.world, node, self.baseline[node], seen, faults, where)

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


def run(world: MailTopology) -> None:
    """Run the state machine on `world` (reset), each MTA node read by its MTA's model."""
    world.reset()
    Compose.world, Compose.kinds = world, {}
    for n in NODES:
        out = world.node(n).exec(["sh", "-c", fingerprints_script()]).decode()
        Compose.kinds[n] = {fp: kind for kind, _, fp in (ln.partition(" ") for ln in out.splitlines())}
    Compose.baseline = {n: MODELS[world.node(n).kind].observe(world, n, Compose.kinds[n]) for n in NODES}
    examples = int(os.environ.get("MAILHARNESS_COMPOSE_EXAMPLES", "6"))
    # Each step costs a reload or a container change: shrinking a failure takes minutes, so it is asked for
    # (MAILHARNESS_COMPOSE_SHRINK=1); without it the failure shows the whole sequence of steps.
    phases = [p for p in Phase if p is not Phase.shrink or os.environ.get("MAILHARNESS_COMPOSE_SHRINK")]
    run_state_machine_as_test(Compose, settings=settings(
        max_examples=examples, stateful_step_count=8, deadline=None, database=None, phases=phases,
        suppress_health_check=list(HealthCheck)))
