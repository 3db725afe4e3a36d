"""One module per kind of node: Postfix, the mock SMTP server, DNS. Each wraps a testcontainers container."""

from .base import Node
from .dns import DnsNode
from .mock import MockNode
from .postfix import PostfixNode

__all__ = ["Node", "PostfixNode", "MockNode", "DnsNode"]
