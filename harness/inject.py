"""Where faults are interpreted: each fault of the catalogue becomes the changes it makes (`harness.changes`).

    changes_for(UnknownUser("library", "jill"), topology)
    -> (TableKeyGone(node='library', table='local_recipients', key='jill'),)

This is the only place that knows what a fault means for a node. It changes nothing itself: `harness.ledger`
records the changes of each applied fault and brings the nodes to the state the applied faults imply, so an
undo restores exactly what its fault changed.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Protocol

from . import faults as F
from .changes import Change, Container, DiskFilled, DnsAnswer, File, Param, ServiceOff, TableKeyGone, TableLine
from .errors import MailharnessError
from .nodes.base import Node
from .nodes.postfix import PostfixNode


class FaultError(MailharnessError, RuntimeError):
    """A fault could not be applied to that node (wrong kind of node, unknown user...)."""


class Nodes(Protocol):
    """What interpreting a fault reads: the nodes, by key (name, domain, address) and all of them."""

    def node(self, key: str) -> Node: ...

    @property
    def nodes(self) -> Mapping[str, Node]: ...


Changes = tuple[Change, ...]

# The spool MailboxFull switches delivery to (mbox files, which mailbox_size_limit limits as a whole).
MBOX_SPOOL = "/var/spool/mh-mbox"
# Where Dovecot (containers/postfix/standins.py) keeps per-recipient quotas and the mailboxes.
DOVECOT_QUOTAS = "/etc/dovecot/mh-quota"
DOVECOT_HOMES = "/var/mail/.mh-dovecot"


@functools.singledispatch
def changes_for(fault: F.Fault, topology: Nodes) -> Changes:
    raise FaultError(f"no way to apply {type(fault).__name__}")


def _postfix(topology: Nodes, fault: F.Fault) -> PostfixNode:
    node = topology.node(fault.node)
    if not isinstance(node, PostfixNode):
        raise FaultError(f"{fault.describe()}: {node.name} is a {node.kind} node; this fault needs Postfix "
                         "(script a mock node's replies instead)")
    return node


def _user(node: PostfixNode, fault: F.Fault, user: str) -> None:
    if user not in node.spec.mailboxes:
        users = ", ".join(node.spec.mailboxes)
        raise FaultError(f"{fault.describe()}: no user {user!r} on {node.name} (users: {users})")


def _client_timeouts(topology: Nodes, target: Node, name: str, value: str) -> Changes:
    """Every other Postfix node gives up on `target` sooner (its clients' time-out for connect or greeting)."""
    return tuple(Param(n.name, name, value) for n in topology.nodes.values()
                 if isinstance(n, PostfixNode) and n.name != target.name)


@changes_for.register(F.UnknownUser)
def _(fault: F.UnknownUser, topology: Nodes) -> Changes:
    node = _postfix(topology, fault)
    return (TableKeyGone(node.name, "local_recipients", fault.user),)


@changes_for.register(F.AcceptUnknownUsers)
def _(fault: F.AcceptUnknownUsers, topology: Nodes) -> Changes:
    node = _postfix(topology, fault)
    # Postfix's own fallback: with no recipient table, the local delivery agent finds out (too late).
    return (Param(node.name, "local_recipient_maps", ""),)


@changes_for.register(F.DiskFull)
def _(fault: F.DiskFull, topology: Nodes) -> Changes:
    node = _postfix(topology, fault)
    return (Param(node.name, "maximal_queue_lifetime", fault.retry_for),
            Param(node.name, "bounce_queue_lifetime", fault.retry_for), DiskFilled(node.name))


@changes_for.register(F.QueueFull)
def _(fault: F.QueueFull, topology: Nodes) -> Changes:
    node = _postfix(topology, fault)
    return (Param(node.name, "queue_minfree", str(10**15)),)


@changes_for.register(F.MailboxFull)
def _(fault: F.MailboxFull, topology: Nodes) -> Changes:
    node = _postfix(topology, fault)
    if fault.limit <= 64:
        raise FaultError(f"{fault.describe()}: the limit must be more than 64 bytes")
    if node.spec.dovecot:
        # Dovecot delivers (a configuration's lmtp: transport): its quota plugin, for this recipient only (a
        # passwd-file userdb of one line, read at each delivery): over it, LMTP answers 552 5.2.2.
        address = fault.user if "@" in fault.user else f"{fault.user}@{node.domain}"
        local, _, domain = address.partition("@")
        return (File(node.name, f"{DOVECOT_QUOTAS}/{address}", text=f"{address}::5000:5000::{DOVECOT_HOMES}/"
                     f"{domain}/{local}::userdb_quota_rule=*:bytes={fault.limit} "  # Dovecot 2.3; 2.4:
                     f"userdb_quota_storage_size={fault.limit}\n"),)
    _user(node, fault, fault.user)
    # Postfix limits a mailbox FILE (mailbox_size_limit), so for the fault the node delivers to mbox files in a
    # spool of their own, where the user's mbox is already filled up to the limit: the next message fails
    # with EFBIG, 5.2.2. (Maildir files are limited one by one, and local(8) refuses a message larger than
    # its own limit outright.)
    n = str(fault.limit)
    return (File(node.name, f"{MBOX_SPOOL}/{fault.user}", fill=fault.limit - 16, owner=fault.user,
                 directory=MBOX_SPOOL),
            Param(node.name, "mail_spool_directory", MBOX_SPOOL), Param(node.name, "mailbox_size_limit", n),
            Param(node.name, "message_size_limit", n))


@changes_for.register(F.SizeLimit)
def _(fault: F.SizeLimit, topology: Nodes) -> Changes:
    node = _postfix(topology, fault)
    return (Param(node.name, "message_size_limit", str(fault.limit)),)


@changes_for.register(F.Forward)
def _(fault: F.Forward, topology: Nodes) -> Changes:
    node = _postfix(topology, fault)
    _user(node, fault, fault.user)
    if any(c.isspace() for c in fault.to) or not fault.to:
        raise FaultError(f"{fault.describe()}: `to` must be one address")
    if fault.via == "alias":
        # aliases is a texthash: table (postmap's "key value" format, no colon)
        return (TableLine(node.name, "aliases", f"{fault.user} {fault.to}"),)
    if fault.via == "virtual":
        return (TableLine(node.name, "virtual", f"{fault.user}@{node.domain} {fault.to}"),)
    return (File(node.name, f"/var/mail/{fault.user}/.forward", text=f"{fault.to}\n", owner=fault.user),)


@changes_for.register(F.Refuse)
def _(fault: F.Refuse, topology: Nodes) -> Changes:
    node = _postfix(topology, fault)
    code = fault.reply.split()[0] if fault.reply.split() else ""
    if not (len(code) == 3 and code[0] in "45" and code.isdigit()):
        raise FaultError(f"{fault.describe()}: the reply must start with a 4xx or 5xx code")
    if not fault.address or any(c.isspace() for c in fault.address) or "\n" in fault.reply:
        raise FaultError(f"{fault.describe()}: the address must be one word and the reply one line")
    return (TableLine(node.name, "refuse", f"{fault.address} {fault.reply}"),)


@changes_for.register(F.QueueLifetime)
def _(fault: F.QueueLifetime, topology: Nodes) -> Changes:
    node = _postfix(topology, fault)
    return (Param(node.name, "maximal_queue_lifetime", fault.lifetime),
            Param(node.name, "bounce_queue_lifetime", fault.lifetime),
            Param(node.name, "delay_warning_time", fault.delay_warning))


@changes_for.register(F.Down)
def _(fault: F.Down, topology: Nodes) -> Changes:
    node = topology.node(fault.node)
    if isinstance(node, PostfixNode) and not fault.whole_host:
        # The host stays up, the SMTP service is off: connections are refused at once.
        return (ServiceOff(node.name, "smtp/inet"),)
    return (*_client_timeouts(topology, node, "smtp_connect_timeout", fault.client_timeout),
            Container(node.name, "halted"))


@changes_for.register(F.Unreachable)
def _(fault: F.Unreachable, topology: Nodes) -> Changes:
    node = topology.node(fault.node)
    return (*_client_timeouts(topology, node, "smtp_connect_timeout", fault.client_timeout),
            Container(node.name, "disconnected"))


@changes_for.register(F.Tarpit)
def _(fault: F.Tarpit, topology: Nodes) -> Changes:
    node = topology.node(fault.node)
    return (*_client_timeouts(topology, node, "smtp_helo_timeout", fault.client_timeout),
            Container(node.name, "frozen"))


@changes_for.register(F.Dns)
def _(fault: F.Dns, topology: Nodes) -> Changes:
    node = topology.node(fault.node)
    domain = node.domain
    if not domain:
        raise FaultError(f"{fault.describe()}: {node.name} has no domain in the topology's DNS")
    return (DnsAnswer(domain, fault.kind),)
