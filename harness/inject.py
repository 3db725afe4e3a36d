"""Where faults are interpreted: how each one is applied to a running topology and removed again.

`apply(fault, world)` returns the undo. Configuration faults write Postfix tables or parameters and reload;
`reset()` would restore them too. Network faults stop, pause or disconnect containers; DNS faults restart the
topology's DNS with other records.
"""

from __future__ import annotations

import functools
import shlex
from collections.abc import Callable
from typing import TYPE_CHECKING

from . import faults as F
from .nodes.base import Node
from .nodes.postfix import PostfixNode

if TYPE_CHECKING:
    from .world import MailTopology

Undo = Callable[[], None]


class FaultError(RuntimeError):
    """A fault could not be applied to that node (wrong kind of node, unknown user...)."""


@functools.singledispatch
def apply(fault: F.Fault, world: MailTopology) -> Undo:
    raise FaultError(f"no way to apply {type(fault).__name__}")


def _postfix(world: MailTopology, fault: F.Fault) -> PostfixNode:
    node = world.node(fault.node)
    if not isinstance(node, PostfixNode):
        raise FaultError(f"{fault.describe()}: {node.name} is a {node.kind} node; this fault needs Postfix "
                         "(script a mock node's replies instead)")
    return node


def _others(world: MailTopology, node: Node) -> list[PostfixNode]:
    return [n for n in world.nodes.values() if isinstance(n, PostfixNode) and n is not node]


def _postconf(world: MailTopology, node: PostfixNode, settings: dict[str, str]) -> Undo:
    node.postconf(settings)
    return node.restore_config


def _tables(world: MailTopology, node: PostfixNode, script: str) -> Undo:
    """Run a shell edit of /etc/postfix tables, then reload; undo restores the baseline."""
    node.edit_config(script)
    return node.restore_config


@apply.register(F.UnknownUser)
def _(fault: F.UnknownUser, world: MailTopology) -> Undo:
    node = _postfix(world, fault)
    return _tables(world, node, f"sed -i '/^{fault.user} /d' /etc/postfix/local_recipients")


@apply.register(F.AcceptUnknownUsers)
def _(fault: F.AcceptUnknownUsers, world: MailTopology) -> Undo:
    node = _postfix(world, fault)
    # Postfix's own fallback: with no recipient table, the local delivery agent finds out (too late).
    return _postconf(world, node, {"local_recipient_maps": ""})


@apply.register(F.DiskFull)
def _(fault: F.DiskFull, world: MailTopology) -> Undo:
    node = _postfix(world, fault)
    node.postconf({"maximal_queue_lifetime": fault.retry_for, "bounce_queue_lifetime": fault.retry_for})
    # /var/mail is a small tmpfs: fill it to the last block.
    node.exec(["sh", "-c", "dd if=/dev/zero of=/var/mail/.mh-fill bs=64k 2>/dev/null; "
                           "dd if=/dev/zero of=/var/mail/.mh-fill2 bs=1 2>/dev/null; df -k /var/mail"], check=False)

    def undo() -> None:
        node.exec(["rm", "-f", "/var/mail/.mh-fill", "/var/mail/.mh-fill2"])
        node.restore_config()

    return undo


@apply.register(F.QueueFull)
def _(fault: F.QueueFull, world: MailTopology) -> Undo:
    node = _postfix(world, fault)
    return _postconf(world, node, {"queue_minfree": str(10**15)})


@apply.register(F.MailboxFull)
def _(fault: F.MailboxFull, world: MailTopology) -> Undo:
    node = _postfix(world, fault)
    if fault.user not in node.spec.mailboxes:
        raise FaultError(f"{fault.describe()}: no user {fault.user!r} on {node.name}")
    # Postfix limits a mailbox FILE (mailbox_size_limit), so for the fault the node delivers to mbox files in a
    # spool of their own, where the user's mbox is already filled up to the limit: the next message fails
    # with EFBIG, 5.2.2. (Maildir files are limited one by one, and local(8) refuses a message larger than
    # its own limit outright.)
    n, spool, user = fault.limit, "/var/spool/mh-mbox", fault.user
    mbox = f"{spool}/{user}"
    return _tables(world, node, f"mkdir -p {spool} && chmod 1777 {spool} && "
                                f"head -c {n - 16} /dev/zero | tr '\\0' x > {mbox} && chown {user}: {mbox} && "
                                f"postconf -e mail_spool_directory={spool} mailbox_size_limit={n} "
                                f"message_size_limit={n}")


@apply.register(F.SizeLimit)
def _(fault: F.SizeLimit, world: MailTopology) -> Undo:
    node = _postfix(world, fault)
    return _postconf(world, node, {"message_size_limit": str(fault.limit)})


@apply.register(F.Forward)
def _(fault: F.Forward, world: MailTopology) -> Undo:
    node = _postfix(world, fault)
    if fault.user not in node.spec.mailboxes:
        raise FaultError(f"{fault.describe()}: no user {fault.user!r} on {node.name}")
    to = shlex.quote(fault.to)
    if fault.via == "alias":
        # aliases is a texthash: table (postmap's "key value" format, no colon)
        return _tables(world, node, f"echo {fault.user} {to} >> /etc/postfix/aliases")
    if fault.via == "virtual":
        return _tables(world, node, f"echo {fault.user}@{node.domain} {to} >> /etc/postfix/virtual")
    path = f"/var/mail/{fault.user}/.forward"
    node.exec(["sh", "-c", f"echo {to} > {path} && chown {fault.user}: {path}"])

    def undo() -> None:
        node.exec(["rm", "-f", path])

    return undo


@apply.register(F.Refuse)
def _(fault: F.Refuse, world: MailTopology) -> Undo:
    node = _postfix(world, fault)
    code = fault.reply.split()[0]
    if not (len(code) == 3 and code[0] in "45" and code.isdigit()):
        raise FaultError(f"{fault.describe()}: the reply must start with a 4xx or 5xx code")
    line = shlex.quote(f"{fault.address} {fault.reply}")
    return _tables(world, node, f"echo {line} >> /etc/postfix/refuse")


@apply.register(F.QueueLifetime)
def _(fault: F.QueueLifetime, world: MailTopology) -> Undo:
    node = _postfix(world, fault)
    return _postconf(world, node, {"maximal_queue_lifetime": fault.lifetime, "bounce_queue_lifetime": fault.lifetime,
                                   "delay_warning_time": fault.delay_warning})


@apply.register(F.Down)
def _(fault: F.Down, world: MailTopology) -> Undo:
    node = world.node(fault.node)
    if isinstance(node, PostfixNode) and not fault.whole_host:
        # The host stays up, the SMTP service is off: connections are refused at once.
        return _tables(world, node, "postconf -MX smtp/inet")
    return _network_fault(world, node, {"smtp_connect_timeout": fault.client_timeout}, node.halt, node.resume)


def _client_timeouts(world: MailTopology, target: Node, settings: dict[str, str]) -> Undo:
    clients = _others(world, target)
    for c in clients:
        c.postconf(settings)

    def undo() -> None:
        for c in clients:
            c.restore_config()

    return undo


def _network_fault(world: MailTopology, node: Node, timeout: dict[str, str], do: Callable[[], None],
                   heal: Callable[[], None]) -> Undo:
    """Shorten the clients' time-out, break the node; the undo heals it, then restores the clients."""
    undo_timeouts = _client_timeouts(world, node, timeout)
    do()

    def undo() -> None:
        heal()
        undo_timeouts()

    return undo


@apply.register(F.Unreachable)
def _(fault: F.Unreachable, world: MailTopology) -> Undo:
    node = world.node(fault.node)

    def heal() -> None:
        node.reconnect()
        # The other nodes may remember the address as unreachable (neighbour cache): wait until they connect.
        for c in _others(world, node):
            c.exec(["timeout", "10", "bash", "-c", f"until exec 3<>/dev/tcp/{node.ip}/25; do sleep 0.05; done"],
                   check=False)

    return _network_fault(world, node, {"smtp_connect_timeout": fault.client_timeout}, node.disconnect, heal)


@apply.register(F.Tarpit)
def _(fault: F.Tarpit, world: MailTopology) -> Undo:
    node = world.node(fault.node)
    return _network_fault(world, node, {"smtp_helo_timeout": fault.client_timeout}, node.freeze, node.thaw)


@apply.register(F.Dns)
def _(fault: F.Dns, world: MailTopology) -> Undo:
    spec = world.spec.node(fault.node)
    world.restart_dns({spec.domain: fault.kind})
    return lambda: world.restart_dns({})
