"""How a fault changes an Exim node: not written yet. Every fault addressed to an Exim node is refused with a
FaultError that says so; what the applied faults imply is written only when it is nothing (the baseline).

What the interpretation will change (containers/exim/README): the data files under /etc/exim4/mh, which Exim reads
at each use (users, aliases, virtual, refuse, refuse_data, accept_unknown, quota, size_limit), and the macros of
/etc/exim4/mh/settings, which it reads when it starts (EximNode.reconfigure: an edit, then SIGHUP).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from ...faults import FaultError
from ...faults.changes import NodeWant

if TYPE_CHECKING:
    from ...faults import Fault
    from ...faults.changes import Change
    from ..base import ClientStage


class _Addressed(Protocol):
    """What interpreting a fault reads of the Exim node it is addressed to."""

    name: str


Changes = tuple["Change", ...]
_NOT_YET = ("Exim: no fault is supported yet (harness.mta.exim.faults is still to be written); the MTA-neutral "
            "faults work where no Exim node has to change: Dns, and Down(whole_host)/Unreachable/Tarpit on a "
            "topology whose other MTA nodes are Postfix")


def changes_for(fault: Fault, node: _Addressed) -> Changes:
    raise FaultError(f"{fault.describe()} on {node.name}: {_NOT_YET}")


def client_timeout(node: _Addressed, stage: ClientStage, value: str) -> Changes:
    raise FaultError(f"{node.name}'s SMTP client giving up after {value} at {stage}: {_NOT_YET}")


def smtp_off(node: _Addressed) -> Changes:
    raise FaultError(f"{node.name}'s SMTP service off: {_NOT_YET}")


def _beyond_baseline(want: NodeWant) -> list[str]:
    """What `want` asks of the node's configuration (its container's state is the ledger's, not the node's)."""
    return [what for what, asked in (("parameters", want.params), ("table lines", want.table_lines),
                                     ("removed table keys", want.table_gone), ("services off", want.services_off),
                                     ("files", want.files), ("a full disk", want.disk_filled)) if asked]


class EximConfigWriter:
    """One Exim node's configuration beyond its baseline: nothing, while no fault can change it."""

    def __init__(self, node: _Addressed):
        self._node = node

    @property
    def changed(self) -> bool:
        return False

    def restarted(self) -> None:
        """The node came back with its baseline: nothing was written, nothing to forget."""

    def conflict(self, want: NodeWant) -> str | None:
        asked = _beyond_baseline(want)
        return f"{', '.join(asked)} asked of {self._node.name}: {_NOT_YET}" if asked else None

    def converge(self, want: NodeWant) -> None:
        problem = self.conflict(want)
        if problem:
            raise FaultError(problem)
