"""MailTopology: a TopologySpec brought to life on one internal Docker network. A context manager.

    with MailTopology(default_topology()) as world:
        sent = world.send("jack@store.example", "jill@library.example")
        world.mailbox("jill@library.example").wait_for()
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import ipaddress
import json
import logging
import random
import re
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any, Literal

import docker.errors
from docker.types import IPAMConfig, IPAMPool

from . import evidence, mta, pki
from .access import DIRECT, Access, Chooser, gateway_first, mode_from
from .engine import images
from .engine import labels as lbl
from .engine.docker import client
from .errors import StateError, WrongKind
from .evidence.events import EventLog, LogEvent
from .faults import Fault
from .faults.ledger import Applied, FaultLedger
from .faults.tlstimeline import TlsTimeline
from .keywords import keywords
from .mail import Mailbox, make_message, warm_up
from .mta.base import SYNC_PROGRAM, MtaNode
from .nodes import DnsNode, MockNode, Node
from .nodes.base import Placement, in_parallel
from .pki import Pki
from .sent import Sent
from .smtp import Envelope, Recipient, Transcript, submit
from .topology import TopologySpec, default_topology

if TYPE_CHECKING:
    from .mta.postfix.node import PostfixNode
    from .verdict import Story

log = logging.getLogger("mailharness")
_live: weakref.WeakSet[MailTopology] = weakref.WeakSet()
_swept = False
_sweep_lock = threading.Lock()


@dataclass(frozen=True)
class Timings:
    network: float = 0.0
    containers: float = 0.0
    ready: float = 0.0
    total: float = 0.0


@keywords
class MailTopology:
    """Start, reset and stop a topology; send mail into it; read its mailboxes; follow its logs. A context manager
    (``with MailTopology(spec) as world:`` starts it and stops it); the fixtures give a started one.

    What a test reads besides the methods: ``spec`` (its `TopologySpec`), ``id`` (unique, the prefix of its
    containers' and network's names), ``nodes`` (node name -> node: ``world.nodes["library"].ip``), ``sent`` and
    ``transcripts`` (the messages sent and their SMTP sessions since the last reset), ``stories`` (the verdicts
    gathered since then), ``access`` (how the test process reaches the nodes), ``pki`` (the topology's own CA and
    its nodes' certificates, harness.pki: ``world.pki.ca`` for a client of your own that verifies) and ``timings``
    (how long the start took, in seconds).
    """

    def __init__(self, spec: TopologySpec | None = None, *, ready_timeout: float = 30.0, access: str | None = None):
        self.spec = spec or default_topology()
        self.access_mode = mode_from(access)  # auto, direct or gateway (harness.access); MAILHARNESS_ACCESS
        self.access: Access = DIRECT  # the path chosen at start
        self.id = f"{self.spec.name}-{uuid.uuid4().hex[:8]}"
        self.ready_timeout = ready_timeout
        self.events = EventLog()
        self.mark = 0
        self.nodes: dict[str, Node] = {}
        self.transcripts: list[Transcript] = []
        self.stories: list[Story] = []  # verdicts gathered since the last reset (for reports)
        self.sent: list[Sent] = []  # messages sent since the last reset
        self.dsns_seen: list[tuple[str, str, EmailMessage]] = []  # (mailbox, Message-ID, DSN) wait_for_dsn returned
        self.network_name = f"mailharness-{self.id}"
        self.subnet = ""
        self.timings = Timings()
        self._network: Any = None
        self._tags: dict[str, str] = {}
        self._started = False
        self._kept = False
        self._ledger = FaultLedger(self)
        self._tls = TlsTimeline()  # when each node's client had to use TLS (the story's Hop.tls_required)
        self._dns: DnsNode | None = None
        self._dns_records: list[tuple[str, str, str]] = []
        self._dead_ip = ""
        self.pki: Pki | None = None  # the topology's own CA and every node's certificates (harness.pki), once started

    # -- lifecycle ---------------------------------------------------------------------------------
    def __enter__(self) -> MailTopology:
        if self._network is None:  # `with MailTopology(spec).start() as world:` starts it once
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> MailTopology:
        """Create the network and start every node; a topology that was stopped can be started again."""
        global _swept
        if self._network is not None:
            raise StateError(f"{self.id} is running already: a second start() would create its network and "
                               "containers again (stop() it first)")
        t0 = time.monotonic()
        warm_up()  # faker, for the first message, while the containers start
        kinds = tuple(dict.fromkeys(n.kind for n in self.spec.nodes if n.kind in mta.KINDS))
        tags = images.ensure(("dns", "mock-smtp", *kinds),
                             versions={k: [n.version for n in self.spec.nodes if n.kind == k] for k in kinds})
        self._tags = tags
        with _sweep_lock:
            if not _swept:
                lbl.sweep_orphans()
                _swept = True
        _live.add(self)
        # The topology's CA and the nodes' certificates are made (in a container of their own) while the network is
        # created: every node gets its files before it starts.
        names = {n.name: n.hostname for n in self.spec.nodes}
        making = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mailharness-pki")
        pki_future = making.submit(pki.make, names, tags["mock-smtp"], self.id)
        making.shutdown(wait=False)
        self._create_network()
        t1 = time.monotonic()
        net = ipaddress.ip_network(self.subnet)
        hosts = list(net.hosts())
        dns_ip = str(hosts[1])
        records = []
        try:
            self.pki = pki_future.result()
        except BaseException:
            self.stop()
            raise
        for i, spec in enumerate(self.spec.nodes):
            ip = str(hosts[9 + i])
            placement = self._placement(ip, dns_ip)
            if spec.kind in mta.KINDS:
                self.nodes[spec.name] = mta.start_node(spec, self.spec, tags[images.key(spec.kind, spec.version)],
                                                       placement)
            else:
                self.nodes[spec.name] = MockNode(spec, tags["mock-smtp"], placement)
            self.nodes[spec.name].add_files(self.pki.files(spec.name))
            # A node that is no MX (a backend behind a gateway) has its address record only.
            records += [(d, spec.hostname, ip) for d in (spec.domain, *spec.other_domains)] if spec.mx \
                else [("", spec.hostname, ip)]
        self._dns_records = records
        self._dead_ip = str(hosts[-1])  # an address in the subnet where nothing ever runs (DNS dead_mx)
        ports = {n.hostname: tuple(dict.fromkeys((25, *n.ports))) for n in self.spec.nodes}
        self._dns = DnsNode(self._tags["dns"], self._placement(dns_ip, None), records, dead_ip=self._dead_ip,
                            ports=ports)
        everything: list[Node] = [self.dns, *self.nodes.values()]
        self._started = True
        targets = [f"{self.dns.ip}:53", *(f"{n.ip}:25" for n in self.nodes.values())]
        chooser = Chooser(self.access_mode, topology_id=self.id, network=self.network_name, gateway_ip=str(hosts[2]),
                          image=tags["mock-smtp"])
        try:
            # Each node starts in its own thread, the gateway too when it is known to be needed: a fast one need not
            # wait for a slow one. Then the path is chosen (a probe of the DNS node) and every node awaited on it.
            starts = [functools.partial(_start_node, n, self.ready_timeout) for n in everything]
            if gateway_first(self.access_mode):
                starts.append(functools.partial(_timed, functools.partial(chooser.start_gateway, targets)))
            done = in_parallel(starts)
            t2 = t1 + max(d for d in done)
            self.access = chooser.choose((self.dns.ip, 53), targets)
            for n in everything:
                n.access = self.access
            in_parallel([functools.partial(n.wait_ready, self.ready_timeout, 0) for n in everything])
        except BaseException:
            self.stop()
            raise
        t3 = time.monotonic()
        self.timings = Timings(t1 - t0, t2 - t1, t3 - t2, t3 - t0)
        self.mark = self.events.mark()
        log.info("mailharness: topology %s up in %.2fs, access %s", self.id, t3 - t0, self.access)
        return self

    @property
    def dns(self) -> DnsNode:
        """The topology's DNS server."""
        if self._dns is None:
            raise StateError(f"{self.id} is not started: it has no DNS server yet")
        return self._dns

    def _placement(self, ip: str, dns_ip: str | None) -> Placement:
        return Placement(topology_id=self.id, network=self.network_name, subnet=self.subnet, ip=ip, dns_ip=dns_ip,
                         events=self.events)

    def _create_network(self) -> None:
        c = client()
        last: Exception | None = None
        for _ in range(20):
            self.subnet = f"10.{random.randint(64, 254)}.{random.randint(0, 255)}.0/24"
            gw = str(next(ipaddress.ip_network(self.subnet).hosts()))
            try:
                self._network = c.networks.create(
                    self.network_name, driver="bridge", internal=True, labels=lbl.labels(topology=self.id),
                    ipam=IPAMConfig(pool_configs=[IPAMPool(subnet=self.subnet, gateway=gw)]),
                )
                return
            except docker.errors.APIError as exc:  # the subnet is taken (another worker, another project)
                last = exc
        raise StateError(f"could not create an internal network for {self.id}: {last}")

    # -- faults ----------------------------------------------------------------------------------------
    def apply(self, *faults: Fault) -> Callable[[], None]:
        """Apply faults now, together and on top of the others; returns their removal, which undoes exactly what
        these faults changed (the others stay). Every fault still applied is removed by `reset()`."""
        before = self.events.mark()
        entries = self._ledger.apply(*faults)
        self._tls.note(self._ledger.faults, self._name, before, self.events.mark())
        return functools.partial(self._remove, entries)

    def _remove(self, entries: Sequence[Applied]) -> None:
        before = self.events.mark()
        self._ledger.remove(*entries)
        self._tls.note(self._ledger.faults, self._name, before, self.events.mark())

    def _name(self, key: str) -> str:
        return self.node(key).name

    def tls_required(self, node: str, peer: str, seq: int) -> str:
        """Why `node`'s client had to use TLS with `peer` for what it logged at `seq`: a TlsPolicy that required
        it then, or YOUR configuration's policy for its relayhost (NodeSpec.relay_tls) when `peer` stands in for
        it; "" when nothing required it (the story's Hop.tls_required)."""
        why = self._tls.required(node, seq)
        if why or node not in self.nodes:
            return why
        spec = self.spec.node(node)
        m = re.match(r"\[([^\]]+)\]|([^:\[\]]+)", spec.relayhost.strip())  # [host]:port, host:port, host
        host = (m.group(1) or m.group(2) or "").lower() if m else ""
        if spec.relay_tls and host and peer in self.nodes and self.nodes[peer].hostname.lower() == host:
            return f"{spec.relay_tls} (the configuration's policy for its relayhost)"
        return ""

    @property
    def faults(self) -> tuple[Fault, ...]:
        """The faults applied now, in the order they were applied."""
        return self._ledger.faults

    @contextlib.contextmanager
    def fault(self, *faults: Fault) -> Iterator[MailTopology]:
        """Apply faults for the duration of a `with` block."""
        remove = self.apply(*faults)
        try:
            yield self
        finally:
            remove()

    def set_dns(self, faults: dict[str, str]) -> None:
        """The DNS answers with `faults` (domain -> kind, see harness.faults.Dns) from the next query on; {} heals.
        Faults come through `apply`, which merges the DNS faults applied; this is its last step."""
        self.dns.set_faults(faults)

    def reset(self) -> None:
        """Queues emptied, mailboxes cleared, configuration back to its baseline; events and transcripts
        of the previous test set aside. Faults still applied are removed first, once the queues are empty: a message
        a fault held back (a TLS policy, a next hop down) would otherwise go out under the restored configuration in
        the moment before its queue is emptied, and reach the next test's servers (seen with Exim's queue runner:
        a message `encrypt` deferred, delivered in clear into the next test's mock)."""
        if self._ledger.applied:
            self.drop_queues()
        before = self.events.mark()
        self._ledger.clear()
        self._tls.note((), self._name, before, self.events.mark())
        # The previous test's last lines (and the reset's own, postsuper's "Deleted") may still be on their way
        # through the container's log stream: the new test's evidence begins after them, not among them. Each MTA
        # node logs the barrier's token at the end of its reset, in the same command (sync_logs's barrier).
        token, mark = uuid.uuid4().hex[:12], self.events.mark()
        synced = [n for n in self.nodes.values() if isinstance(n, MtaNode) and n.alive]
        in_parallel([functools.partial(n.reset, sync=token) if n in synced else n.reset
                     for n in self.nodes.values()])
        self._await_sync(synced, token, mark, 10.0)
        self.transcripts = []
        self.stories = []
        self.sent = []
        self.dsns_seen = []
        self.mark = self.events.mark()

    def drop_queues(self) -> None:
        """Throw away what every MTA node's queue holds (and the deliveries under way). Before faults are undone
        at a test's end (the mail_fault fixture) as before a reset: a message a fault held back would otherwise go
        out under the restored configuration and land in the next test (seen: a message a 451 had kept at library
        reached edu while the next test's reset emptied edu's queue, and edu stopped taking mail for a minute)."""
        in_parallel([n.drop_queue for n in self.nodes.values() if isinstance(n, MtaNode) and n.alive])

    def keep(self) -> None:
        """Leave every container and the network running past this process, marked as kept: `mailharness up
        --list` shows them, `mailharness down` removes them."""
        self._kept = True
        lbl.mark_kept(self.id, json.dumps(self.describe()))

    def stop(self) -> None:
        """Remove every container and the network."""
        if not self._started and self._network is None:
            return
        self._started = False
        lbl.remove({"label": [f"{lbl.TOPOLOGY}={self.id}"]})
        self._network = None
        lbl.unmark_kept(self.id)

    # -- access --------------------------------------------------------------------------------------
    def node(self, key: str) -> Node:
        """A node by name ("library"), domain, host name, or an address in its domain."""
        return self.nodes[self.spec.node(key).name]

    @property
    def display_names(self) -> dict[str, str]:
        """How messages and reports name the nodes that run YOUR configuration: by its host name (TopologySpec)."""
        return self.spec.display_names

    def mock(self, key: str) -> MockNode:
        """A mock SMTP node by name, domain or address, typed as one (for its script and spool)."""
        node = self.node(key)
        if not isinstance(node, MockNode):
            raise WrongKind(f"{key!r} is {node.name}, a {node.kind} node, not a mock SMTP node "
                            f"(mock nodes here: {[n.name for n in self.nodes.values() if isinstance(n, MockNode)]})")
        return node

    def releases(self) -> str:
        """Which MTA and release each node runs: "store, edu: Postfix 3.10; library: Postfix 3.7" (mock nodes:
        "mock")."""
        by: dict[str, list[str]] = {}
        for n in self.nodes.values():
            by.setdefault(n.release if isinstance(n, MtaNode) else n.kind, []).append(n.name)
        return "; ".join(f"{', '.join(names)}: {what}" for what, names in by.items())

    def mta(self, key: str) -> MtaNode:
        """A node that runs a real MTA, by name, domain or address, typed as one."""
        node = self.node(key)
        if not isinstance(node, MtaNode):
            raise WrongKind(f"{key!r} is {node.name}, a {node.kind} node, not one that runs an MTA")
        return node

    def postfix(self, key: str) -> PostfixNode:
        """A Postfix node by name, domain or address, typed as one (for Postfix's own methods: `postconf`)."""
        from .mta.postfix.node import PostfixNode

        node = self.node(key)
        if not isinstance(node, PostfixNode):
            raise WrongKind(f"{key!r} is {node.name}, a {node.kind} node, not a Postfix node")
        return node

    def mailbox(self, address: str) -> Mailbox:
        """The mailbox of `address` on the node of its domain (NotFound when the node has no such user)."""
        return Mailbox(self, address)

    @keywords(hints={"to": "recipients", "rcpt": "recipients", "recipient": "recipients", "mail_from": "sender"})
    def send(self, sender: str, recipients: str | Sequence[str | Recipient], *, notify: Sequence[str] = (),
             orcpt: bool = False, ret: str | None = None, envid: str | None = None,
             message: EmailMessage | bytes | None = None, subject: str | None = None, body: str | None = None,
             headers: dict[str, str] | None = None, via: str | None = None, timeout: float = 30.0) -> Sent:
        """Submit a message to the sender's node (or `via`) over SMTP and return what the server said, as a `Sent`.
        4xx and 5xx replies never raise: look at ``sent.accepted`` and ``sent.transcript``.

        :param sender: MAIL FROM ("" for the null sender); its domain's node gets the message unless `via` is
            given.
        :param recipients: one address, or several; a `Recipient` carries its own NOTIFY and ORCPT.
        :param notify: NOTIFY for every recipient given as a string: ``("NEVER",)`` or any of
            ``("SUCCESS", "FAILURE", "DELAY")``.
        :param orcpt: send ORCPT (the address itself) for every recipient given as a string.
        :param ret: RET: "FULL" or "HDRS" (how much of the message a DSN returns).
        :param envid: ENVID: the id a DSN reports back as Original-Envelope-Id.
        :param message: the message to send (an EmailMessage or bytes); without it one is made (`make_message`)
            from `subject`, `body` and `headers`, with realistic text for what is not given.
        :param subject: the generated message's Subject.
        :param body: the generated message's text.
        :param headers: more header fields of the generated message (they replace those of the same name).
        :param via: the node to submit to (a name, domain or address), instead of the sender's.
        :param timeout: seconds for each step of the SMTP session.
        """
        rcpts_in = [recipients] if isinstance(recipients, str) else list(recipients)
        rcpts = [r if isinstance(r, Recipient) else Recipient(r, tuple(notify), r if orcpt else None)
                 for r in rcpts_in]
        env = Envelope(sender, tuple(rcpts), ret, envid)
        if isinstance(message, EmailMessage):
            msg = message
        elif isinstance(message, bytes):
            from .mail import parse_message

            msg = parse_message(message)
        else:
            msg = make_message(sender, [r.address for r in rcpts], subject=subject, body=body, headers=headers)
        node = self.node(via or (sender.rsplit("@", 1)[-1] if "@" in sender else self.spec.nodes[0].name))
        data = msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))
        t = submit(node.ip, env, data, timeout=timeout, connect=self.access.connect)
        self.transcripts.append(t)
        sent = Sent(env, t, msg, node.name, self)
        self.sent.append(sent)
        return sent

    @keywords(hints={"to": "recipients", "rcpt": "recipients", "recipient": "recipients", "via": "node"})
    def submit(self, node: str, sender: str, recipients: str | Sequence[str], *,
               message: EmailMessage | None = None, subject: str | None = None, body: str | None = None,
               headers: dict[str, str] | None = None, over: Literal["sendmail", "smtp"] = "sendmail") -> Sent:
        """Submit a message inside `node` as an application there does: through its MTA's sendmail program, or
        (`over="smtp"`) over SMTP to the node's own 127.0.0.1:25, a client in its mynetworks. How a null client or
        an application host sends. `sender` may be unqualified ("app") with sendmail: the MTA qualifies it
        (Postfix: myorigin). The transcript: see harness.submission."""
        from .submission import submit_inside

        n = self.mta(node)
        rcpts = [recipients] if isinstance(recipients, str) else list(recipients)
        env = Envelope(sender, tuple(Recipient(r) for r in rcpts), None, None)
        msg = message or make_message(sender, rcpts, subject=subject, body=body, headers=headers)
        t = submit_inside(n, env, msg.as_bytes(), over)
        self.transcripts.append(t)
        sent = Sent(env, t, msg, n.name, self)
        self.sent.append(sent)
        return sent

    def describe(self) -> list[dict[str, str]]:
        """Each node and the DNS server as a dict (name, kind, hostname, ip, domain, topology...), as `mailharness
        up --json` prints them."""
        out = []
        for n in [*self.nodes.values(), self.dns]:
            d = n.describe()
            spec = self.spec.node(n.name) if n.name in self.nodes else None
            d["domain"] = spec.domain if spec else ""
            d["topology"] = self.id
            out.append(d)
        return out

    def report(self, since: int | None = None) -> str:
        """The mail log of every node since the last reset (or `since`), for failure reports."""
        start = self.mark if since is None else since
        parts = []
        for n in [*self.nodes.values(), self.dns]:
            lines = [e.line for e in self.events.since(start, node=n.name) if e.program != SYNC_PROGRAM]
            parts.append(f"--- {n.name} ({n.hostname}, {n.ip}): {len(lines)} log lines")
            parts += lines
        return "\n".join(parts)

    # -- evidence since the last reset ---------------------------------------------------------------
    def sync_logs(self, timeout: float = 10.0) -> None:
        """A barrier: every node's log has arrived up to now. Each container's log streams on its own, so a line
        one server wrote earlier can arrive after another's later one; a token written to each container's log by
        its MTA itself (MtaNode.sync_command), once seen, proves that all its lines before it are in. (Mock nodes
        keep their record in their spool; stopped or frozen nodes log nothing.)"""
        token = uuid.uuid4().hex[:12]
        nodes = [n for n in self.nodes.values() if isinstance(n, MtaNode) and n.alive]
        mark = self.events.mark()
        in_parallel([functools.partial(n.exec, n.sync_command(token), check=False) for n in nodes])
        self._await_sync(nodes, token, mark, timeout)

    def _await_sync(self, nodes: list[MtaNode], token: str, mark: int, timeout: float) -> None:
        """Until each node's log has shown the barrier's `token` (logged after `mark`)."""
        for n in nodes:
            self.events.wait(lambda e, n=n: e.node == n.name and e.program == SYNC_PROGRAM  # type: ignore[misc]
                             and e.text == token, timeout=timeout, since=mark, what=f"{n.name}'s log to catch up")

    def log(self, node: str | None = None) -> list[LogEvent]:
        """Log events since the last reset, of one node (name, domain or address) or of all."""
        return self.events.since(self.mark, node=self.node(node).name if node else None)

    def rejections(self, node: str | None = None) -> list[evidence.Rejection]:
        """Refusals during the SMTP dialogue (RCPT, MAIL, DATA...) since the last reset (logs synced first)."""
        self.sync_logs()
        return evidence.rejections(self.log(node))

    def queued(self, node: str | None = None) -> list[str]:
        """Queue ids of the messages a node accepted since the last reset (logs synced first)."""
        self.sync_logs()
        return evidence.queued(self.log(node))

    def deliveries(self, node: str | None = None) -> list[evidence.Delivery]:
        """Delivery attempts' outcomes since the last reset (logs synced first)."""
        self.sync_logs()
        return evidence.deliveries(self.log(node))

    def notices(self, node: str | None = None) -> list[evidence.Notice]:
        """DSNs the node generated since the last reset (Postfix's bounce daemon; logs synced first)."""
        self.sync_logs()
        return evidence.notices(self.log(node))

    def session_failures(self, node: str | None = None) -> list[evidence.SessionFailure]:
        """Sessions a node's SMTP client could not hold (connection refused or timed out, lost) on their own log
        line, since the last reset (logs synced first). A delivery's own failure is in `deliveries()`."""
        self.sync_logs()
        return evidence.session_failures(self.log(node))

    def wait_log(self, predicate: Callable[[LogEvent], bool], *, timeout: float = 15.0,
                 what: str = "a log event") -> LogEvent:
        """The first log event since the last reset that matches; MailTimeout (with the last lines) otherwise."""
        return self.events.wait(predicate, timeout=timeout, since=self.mark, what=what)


def _start_node(node: Node, timeout: float) -> float:
    """Start a node and wait until its log says it started (no network path needed); returns the seconds to start
    its container."""
    t0 = time.monotonic()
    node.start()
    t1 = time.monotonic()
    node.wait_started(timeout, 0)
    return t1 - t0


def _timed(fn: Callable[[], object]) -> float:
    t0 = time.monotonic()
    fn()
    return time.monotonic() - t0


@atexit.register
def _stop_all() -> None:  # Ctrl-C, sys.exit or an error: nothing left behind (kept topologies excepted)
    for t in list(_live):
        if not t._kept:
            try:
                t.stop()
            except (docker.errors.DockerException, OSError) as exc:  # the engine may be gone already (at exit)
                log.warning("mailharness: could not remove topology %s at exit: %s (`mailharness down --all` "
                            "removes what is left)", t.id, exc)
