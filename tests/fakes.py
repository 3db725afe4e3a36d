"""Small stand-ins the tests without Docker share: a topology that is only a table of nodes (what interpreting a
fault reads), and a script of containers/ loaded as a module (the file the image runs, tested in-process)."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType

from harness.nodes.base import Node

CONTAINERS = Path(__file__).resolve().parents[1] / "containers"


class NodeTable:
    """The nodes by name, and `node(key)` by name only (harness.faults.interpret.Nodes)."""

    def __init__(self, nodes: Mapping[str, Node]):
        self.nodes = nodes

    def node(self, key: str) -> Node:
        return self.nodes[key]


def container_script(path: str, name: str) -> ModuleType:
    """containers/`path` ("dns/zone.py") imported as the module `name`."""
    spec = importlib.util.spec_from_file_location(name, CONTAINERS / path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod
