"""Where faults are interpreted: each fault of the catalogue becomes the changes it makes (`harness.faults.changes`).

    changes_for(UnknownUser("library", "jill"), topology)
    -> (TableKeyGone(node='library', table='local_recipients', key='jill'),)

A fault addressed to a node that runs an MTA means what that MTA's package says it means
(`MtaNode.fault_changes`, e.g. `harness.mta.postfix.faults`); the MTA-neutral faults (a host down, cut off,
frozen, its DNS broken, a man in the middle that strips its STARTTLS) are interpreted here, and ask every other MTA
node how its client gives up sooner; so are the TLS faults of a mock node (files the mock reads, harness.mock.tls).
This changes nothing itself: `harness.faults.ledger` records the changes of each applied fault and brings the nodes
to the state the applied faults imply, so an undo restores exactly what its fault changed.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Protocol, get_args

from .. import faults as F
from ..mock import tls as mock_tls
from ..mta.base import ClientStage, MtaNode
from ..nodes.base import Node
from ..nodes.dns import MITM
from ..nodes.mock import MockNode
from . import FaultError as FaultError
from .changes import Change, Container, DnsAnswer, File


class Nodes(Protocol):
    """What interpreting a fault reads: the nodes, by key (name, domain, address) and all of them."""

    def node(self, key: str) -> Node: ...

    @property
    def nodes(self) -> Mapping[str, Node]: ...


Changes = tuple[Change, ...]


@functools.singledispatch
def changes_for(fault: F.Fault, topology: Nodes) -> Changes:
    """A fault addressed to one MTA node: that node's MTA interprets it."""
    node = topology.node(fault.node)
    if not isinstance(node, MtaNode):
        raise FaultError(f"{fault.describe()}: {node.name} is a {node.kind} node; this fault needs a real MTA "
                         "(script a mock node's replies instead)")
    return node.fault_changes(fault)


def _client_timeouts(topology: Nodes, target: Node, stage: ClientStage, value: str) -> Changes:
    """Every other MTA node gives up on `target` sooner (its client's time-out for connect or greeting)."""
    return tuple(c for n in topology.nodes.values() if isinstance(n, MtaNode) and n.name != target.name
                 for c in n.client_timeout(stage, value))


@changes_for.register(F.Down)
def _(fault: F.Down, topology: Nodes) -> Changes:
    node = topology.node(fault.node)
    if isinstance(node, MtaNode) and not fault.whole_host:
        # The host stays up, the SMTP service is off: connections are refused at once.
        return node.smtp_off()
    return (*_client_timeouts(topology, node, "connect", fault.client_timeout), Container(node.name, "halted"))


@changes_for.register(F.Unreachable)
def _(fault: F.Unreachable, topology: Nodes) -> Changes:
    node = topology.node(fault.node)
    return (*_client_timeouts(topology, node, "connect", fault.client_timeout),
            Container(node.name, "disconnected"))


@changes_for.register(F.Tarpit)
def _(fault: F.Tarpit, topology: Nodes) -> Changes:
    node = topology.node(fault.node)
    return (*_client_timeouts(topology, node, "greeting", fault.client_timeout), Container(node.name, "frozen"))


@changes_for.register(F.NoStartTLS)
@changes_for.register(F.BadCertificate)
def _(fault: F.NoStartTLS | F.BadCertificate, topology: Nodes) -> Changes:
    node = topology.node(fault.node)
    if isinstance(fault, F.BadCertificate) and fault.kind not in get_args(F.CertificateKind):
        raise FaultError(f"{fault.describe()}: the kinds of bad certificate: {', '.join(get_args(F.CertificateKind))}")
    if isinstance(node, MockNode):
        # The mock reads its faults' files at each EHLO and STARTTLS (harness.mock.tls), over what its script says.
        if isinstance(fault, F.NoStartTLS):
            return (File(node.name, f"{mock_tls.FAULTS_DIR}/{mock_tls.STARTTLS_OFF}", text="NoStartTLS\n"),)
        return (File(node.name, f"{mock_tls.FAULTS_DIR}/{mock_tls.CERTIFICATE}", text=f"{fault.kind}\n"),)
    if not isinstance(node, MtaNode):
        raise FaultError(f"{fault.describe()}: {node.name} is a {node.kind} node, which serves no SMTP")
    return node.fault_changes(fault)


@changes_for.register(F.StripStartTLS)
def _(fault: F.StripStartTLS, topology: Nodes) -> Changes:
    # The MTA-neutral man in the middle (harness.nodes.dns): DNS points the node's host name at it, and it relays to
    # the node's own address with STARTTLS taken out. The node itself is not touched.
    node = topology.node(fault.node)
    if not isinstance(node, (MtaNode, MockNode)):
        raise FaultError(f"{fault.describe()}: {node.name} is a {node.kind} node, which serves no SMTP")
    return (DnsAnswer(node.hostname, MITM),)


@changes_for.register(F.Dns)
def _(fault: F.Dns, topology: Nodes) -> Changes:
    node = topology.node(fault.node)
    domain = node.domain
    if not domain:
        raise FaultError(f"{fault.describe()}: {node.name} has no domain in the topology's DNS")
    return (DnsAnswer(domain, fault.kind),)
