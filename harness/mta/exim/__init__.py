"""Exim: its releases, its node, how a fault changes its configuration, and what its logs say."""
