"""The kinds of node every topology has: the mock SMTP server and DNS (each wraps a testcontainers container); the
nodes that run a real MTA are in harness.mta."""

from .base import Node
from .dns import DnsNode
from .mock import MockNode

__all__ = ["Node", "MockNode", "DnsNode"]
