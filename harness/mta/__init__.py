"""Everything that knows a mail server's software, one package per MTA (`harness.mta.postfix`).

The MTA-neutral core (world, ledger, verdict, report, conformance, the plugin) reads an MTA only through the base
class of `harness.mta.base` (MtaNode), this registry and `harness.mta.versions`; `tests/test_mta_seam.py` keeps MTA
programs, parameters and log formats out of the core.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import UsageError
from .recognise import recognise as recognise
from .versions import KINDS as KINDS

if TYPE_CHECKING:
    from ..nodes.base import Placement
    from ..topology import NodeSpec, TopologySpec
    from .base import MtaNode
    from .facts import ConfigInfo


def start_node(spec: NodeSpec, topology: TopologySpec, image: str, placement: Placement) -> MtaNode:
    """The node that runs `spec`'s MTA (not yet started)."""
    if spec.kind == "postfix":
        from .postfix.node import PostfixNode

        return PostfixNode(spec, topology, image, placement)
    if spec.kind == "exim":
        from .exim.node import EximNode

        return EximNode(spec, topology, image, placement)
    raise UsageError(f"node {spec.name!r}: no MTA package for kind {spec.kind!r}; MTAs: {', '.join(KINDS)}")


def inspect_config(kind: str, directory: str | Path, recipient: str = "", *, domains: Sequence[str] = (),
                   tables: Sequence[tuple[str, str]] = (), version: str = "") -> ConfigInfo:
    """What the configuration in `directory` serves, asked of the MTA `kind` itself (release `version`, "" the
    default; see harness.sut.byoc)."""
    if kind == "postfix":
        from .postfix.userconfig import inspect_config

        return inspect_config(directory, recipient, domains=domains, tables=tables)
    if kind == "exim":
        from .exim.userconfig import inspect_config as exim_inspect

        return exim_inspect(directory, recipient, domains=domains, tables=tables, version=version)
    raise UsageError(f"no MTA package for kind {kind!r}; MTAs: {', '.join(KINDS)}")


def overrides(kind: str) -> tuple[tuple[str, str], ...]:
    """What the harness changes in a user's configuration of MTA `kind`, and why (shown in reports)."""
    if kind == "postfix":
        from .postfix.userconfig import overrides as postfix_overrides

        return postfix_overrides()
    if kind == "exim":
        from .exim.userconfig import overrides as exim_overrides

        return exim_overrides()
    raise UsageError(f"no MTA package for kind {kind!r}; MTAs: {', '.join(KINDS)}")


def causes(kind: str, topic: str, params: dict[str, str]) -> list[str]:
    """The causes of a failed requirement about `topic` that the configuration's own values show (MTA `kind`'s
    package knows them); [] when none is visible: then the requirement's generic hint stands alone."""
    if kind == "postfix":
        from .postfix.causes import causes as postfix_causes

        return postfix_causes(topic, params)
    if kind == "exim":
        from .exim.causes import causes as exim_causes

        return exim_causes(topic, params)
    raise UsageError(f"no MTA package for kind {kind!r}; MTAs: {', '.join(KINDS)}")


def cause_settings(kind: str, topic: str) -> tuple[str, ...]:
    """The settings whose values, as the running node has them (`MtaNode.settings`), the causes of `topic` read
    (where the values of the configuration's inspection would be another release's defaults); () for none."""
    if kind == "postfix":
        from .postfix.causes import SETTINGS

        return SETTINGS.get(topic, ())
    if kind in KINDS:  # its causes read the configuration's own values only
        return ()
    raise UsageError(f"no MTA package for kind {kind!r}; MTAs: {', '.join(KINDS)}")


def hint(kind: str, topic: str) -> str:
    """What usually causes a failure about `topic` on MTA `kind`, in its own options' words ("" when its package
    has no word of its own for it: the requirement's hint then stands)."""
    if kind == "exim":
        from .exim.causes import HINTS

        return HINTS.get(topic, "")
    return ""
