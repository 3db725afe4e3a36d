"""What the MTA-neutral core asks of a node that runs a real MTA: the seam each MTA package implements.

The core (world, ledger, inject, mail, loadgen) never names an MTA's programs, parameters or log lines. It holds
an `MtaNode` and asks it:

- to turn a fault addressed to it into changes (`fault_changes`), and how its SMTP client gives up sooner on a
  next hop (`client_timeout`), or how its SMTP service goes away while the host stays up (`smtp_off`);
- to bring its configuration to what the applied changes imply (`converge`), and whether they can hold together
  at all (`conflict`); to forget what it wrote when its container restarted (`restarted`);
- for a log barrier (`sync_command`: a command that writes a token to the mail log under SYNC_PROGRAM);
- for its queue (`queue`, `flush_queue`), where its mailboxes are (`mailbox_roots`), and a mailbox's quota as the
  server that stores it reports it (`quota`);
- for the values it runs with (`settings`, for the causes of a failed requirement), whether it trusts a client
  enough to let it send bare line feeds (`lenient_to`, for the SMTP smuggling probe), and how its SMTP server is
  configured to offer STARTTLS and AUTH (`server_tls`, for the inbound TLS requirements).

Each MTA package (`harness.mta.postfix`) subclasses it; `harness.mta.node_class(kind)` gives the class.
"""

from __future__ import annotations

import abc
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ..evidence.events import SYNC_PROGRAM as SYNC_PROGRAM
from ..nodes.base import Node, NodeError
from . import versions

if TYPE_CHECKING:
    from ..evidence.records import QueueEntry
    from ..faults import Fault
    from ..faults.changes import Change, NodeWant
    from ..topology import NodeSpec

ClientStage = Literal["connect", "greeting"]

# The neighbour (ARP) settings of an MTA node's network interface. A connection to an address of the topology's
# network where no host answers (DNS dead_mx) fails after 2 ARP probes 0.4 s apart: "No route to host" after
# 0.8 s instead of the kernel's 3 s (3 probes a second apart). An address that answers, answers the first probe
# (the network is one local bridge). A host that is gone (Down(whole_host), Unreachable) still times out after the
# client's 1 s: harness.faults.ledger puts it in every node's neighbour table before it goes (docs/time-outs.md).
NEIGHBOUR_SYSCTLS = {"net.ipv4.neigh.IFNAME.mcast_solicit": "2", "net.ipv4.neigh.IFNAME.retrans_time_ms": "400"}


class ConfigRefused(NodeError):
    """The MTA would not start with this configuration; the message has the MTA's own words."""


@dataclass(frozen=True)
class Quota:
    """A mailbox's quota as the server that stores the mail reports it."""

    limit: int | None  # bytes (as precise as the report: Dovecot's is in kilobytes); None: no limit
    messages: int | None  # messages counted against it; None: not reported
    said: str  # the report in its own words, for a reason to quote


@dataclass(frozen=True)
class ServerTls:
    """How a node's SMTP server (port 25) is configured to offer STARTTLS and AUTH, as its MTA reads its own
    configuration (the inbound TLS requirements compare it with what a client sees)."""

    level: str  # "none" (STARTTLS not offered), "may" (offered), "encrypt" (required of every client)
    auth: bool  # AUTH (SASL) is enabled
    auth_only_over_tls: bool  # AUTH is offered only once TLS is on
    said: str  # the settings in the MTA's own words, for messages ("smtpd_tls_security_level = may, ...")
    auth_backend: str = ""  # where the MTA asks for passwords, in its words ("dovecot:private/auth")


class MtaNode(Node, abc.ABC):
    """A node running a real MTA (see the module's docstring)."""

    spec: NodeSpec

    @property
    def release(self) -> str:
        """The MTA and release this node runs, as reports name it: "Postfix 3.10"."""
        return versions.label(self.kind, self.spec.version)

    # -- faults ------------------------------------------------------------------------------------------------
    @abc.abstractmethod
    def fault_changes(self, fault: Fault) -> tuple[Change, ...]:
        """The changes `fault` (addressed to this node) makes here; FaultError when this MTA cannot express it."""

    @abc.abstractmethod
    def client_timeout(self, stage: ClientStage, value: str) -> tuple[Change, ...]:
        """This node's SMTP client gives up on a next hop after `value` (a duration such as "1s") at `stage`."""

    @abc.abstractmethod
    def smtp_off(self) -> tuple[Change, ...]:
        """The SMTP service stops listening (connections refused at once); the host stays up."""

    # -- configuration -----------------------------------------------------------------------------------------
    @abc.abstractmethod
    def converge(self, want: NodeWant) -> None:
        """Write the difference between what this node holds beyond its baseline and `want`, and reload where the
        MTA would not see the change otherwise."""

    @abc.abstractmethod
    def conflict(self, want: NodeWant) -> str | None:
        """Why these changes cannot hold together on this node (the MTA would refuse them), or None."""

    @abc.abstractmethod
    def restarted(self) -> None:
        """The container started again from its baseline: forget what was written since."""

    @property
    @abc.abstractmethod
    def changed(self) -> bool:
        """Whether anything beyond the baseline is written on the node."""

    # -- logs, queue, mailboxes --------------------------------------------------------------------------------
    @abc.abstractmethod
    def submit_command(self, sender: str, recipients: list[str], path: str) -> list[str]:
        """A command that submits the message in the node's file `path` as an application on the node does (the
        MTA's sendmail program): envelope sender `sender` ("" the null sender), `recipients`."""

    @abc.abstractmethod
    def sync_command(self, token: str) -> list[str]:
        """A command that writes `token` to this node's mail log, as a line of program SYNC_PROGRAM."""

    @abc.abstractmethod
    def reset(self, *, sync: str = "") -> None:
        """Back to the baseline between tests (queue, mailboxes, configuration); with `sync`, then that token
        written to the log as sync_command writes it, in the same command (MailTopology.reset's barrier: one round
        trip a node instead of two)."""

    def then_sync(self, cmd: list[str], token: str) -> list[str]:
        """`cmd`, then (once it succeeded, in the same command) this node's sync_command(token); `cmd` alone
        without a token."""
        return ["sh", "-c", f"{shlex.join(cmd)} && {shlex.join(self.sync_command(token))}"] if token else cmd

    @abc.abstractmethod
    def queue(self) -> list[QueueEntry]:
        """What the node's queue holds now."""

    @abc.abstractmethod
    def drop_queue(self) -> None:
        """Throw away every queued message (and stop the deliveries under way), nothing else."""

    @abc.abstractmethod
    def flush_queue(self) -> None:
        """Ask the node to try every queued message now (as new mail would)."""

    @property
    @abc.abstractmethod
    def mailbox_roots(self) -> tuple[str, ...]:
        """The folders under which the node delivers into mailboxes (what a census of the mailboxes reads)."""

    def settings(self, names: Sequence[str]) -> dict[str, str]:
        """The values this node's MTA runs with for the settings `names` (its release's defaults where the
        configuration sets none), for the causes of a failed requirement; {} where the MTA has no such thing."""
        return {}

    def lenient_to(self, client_ip: str) -> str:
        """Why this node's SMTP server would let a client at `client_ip` end lines and the data with a bare line
        feed although it holds other clients to <CR><LF> (it trusts that client); "" when it treats that client as
        any other. A smuggling probe from such a client says nothing of what a client on the Internet meets."""
        return ""

    def server_tls(self) -> ServerTls | None:
        """How this node's SMTP server offers STARTTLS and AUTH, as its configuration says; None where the MTA
        cannot say."""
        return None

    def quota(self, address: str) -> Quota | None:
        """The quota on the mailbox that stores `address`'s mail, as the server that stores it reports it (a
        MailboxFull there sets one); None where the node has no such report."""
        return None
