"""The command-line options that choose the configuration under test and say what the harness cannot find out
about it by itself: one home for `mailharness check` and `mailharness explore`, which take them with the same
meaning (--example, --mta-recipient, --mta-domain, --mta-table, --mta).

    add_config_arguments(parser)                      # when the parser is built
    user = from_args(args, args.directory, args.node)  # a UserConfig, or None when no configuration was named
    user.inspect()                                    # what the configuration serves (asks its MTA, in Docker)
    describe(user, info)                              # what was found, as lines for the user
    user.pytest_options()                             # the same choice as the pytest plugin's options

Cheap to import: the command line's parser is built for every `mailharness` command.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import UsageError

if TYPE_CHECKING:
    from ..mta.facts import ConfigInfo


def add_mta(p: argparse.ArgumentParser) -> None:
    """--mta [NODE=]KIND[@VERSION], repeatable: the release the topologies' nodes run."""
    from ..mta.versions import known_releases

    p.add_argument("--mta", action="append", default=[], metavar="[NODE=]KIND[@VERSION]",
                   help=f"the MTA release to run, e.g. postfix@3.10 (every Postfix node) or library=postfix@3.10; "
                        f"repeatable. Releases: {known_releases()}")


def add_config_arguments(p: argparse.ArgumentParser) -> None:
    """The options shared by the commands that run a user's configuration (see the module's docstring)."""
    p.add_argument("--example", default="", metavar="NAME",
                   help="a bundled example instead of a directory (`mailharness examples` lists them)")
    p.add_argument("--mta-recipient", "--recipient", dest="recipient", default="", metavar="ADDRESS",
                   help="an address the configuration accepts, if its MTA's lookups cannot confirm one")
    p.add_argument("--mta-domain", action="append", default=[], metavar="DOMAIN",
                   help="a domain the configuration serves, when its domains are in tables the harness cannot read "
                        "(mysql:, ldap:...); repeatable")
    p.add_argument("--mta-table", action="append", default=[], metavar="PARAM=FILE",
                   help="a readable copy (texthash: one 'key value' a line) of the tables PARAM names, run in their "
                        "place; FILE as given, else relative to the configuration directory; repeatable")
    add_mta(p)


@dataclass(frozen=True)
class UserConfig:
    """A configuration directory, the node it replaces, what the user vouches for of it, and the --mta values."""

    directory: str
    node: str = "library"
    recipient: str = ""  # --mta-recipient
    domains: tuple[str, ...] = ()  # --mta-domain
    tables: tuple[str, ...] = ()  # --mta-table, PARAM=FILE as given
    mta: tuple[str, ...] = ()  # --mta [NODE=]KIND[@VERSION], as given

    def table_pairs(self) -> tuple[tuple[str, str], ...]:
        """The tables as (PARAM, FILE); ConfigError for an option of another form."""
        from .byoc import table_options

        return table_options(self.tables)

    def mta_choices(self) -> list[str]:
        """The --mta values as the run's own (--mailharness-mta): a value that names no node is the
        configuration's MTA; it goes to the configuration's node alone when it would replace another node's MTA
        (`--mta exim DIR`: an Exim runs DIR, the other nodes keep theirs), as it is otherwise (`--mta postfix@3.7`:
        every Postfix node runs 3.7)."""
        from ..plugin.settings import parse_mta
        from ..topology import default_topology

        kinds = {n.kind for n in default_topology() if n.kind != "mock" and n.name != self.node}
        out = []
        for c in parse_mta(self.mta):
            out.append(str(c) if c.node or kinds <= {c.kind} else f"{self.node}={c}")
        return out

    def kind(self) -> tuple[str, str]:
        """The MTA and release that run the configuration (harness.sut.byoc.config_mta)."""
        from ..plugin.settings import parse_mta
        from .byoc import config_mta

        return config_mta(self.directory, self.node, parse_mta(self.mta_choices()))

    def inspect(self) -> ConfigInfo:
        """What the configuration serves and which recipients it knows (harness.sut.byoc.inspect_config)."""
        from .byoc import inspect_config

        kind, version = self.kind()
        return inspect_config(self.directory, self.recipient, kind, domains=self.domains,
                              tables=self.table_pairs(), version=version)

    def pytest_options(self) -> list[str]:
        """The same choice as options of the pytest plugin (--mta-config=NODE=DIR, --mta-domain=...,
        --mailharness-mta=...)."""
        return [f"--mta-config={self.node}={self.directory}", *(f"--mta-domain={x}" for x in self.domains),
                *(f"--mta-table={x}" for x in self.tables),
                *([f"--mta-recipient={self.recipient}"] if self.recipient else []),
                *(f"--mailharness-mta={c}" for c in self.mta_choices())]


def from_args(args: argparse.Namespace, directory: str, node: str = "library", *,
              named_by: str = "a configuration directory") -> UserConfig | None:
    """The configuration the command line names: `directory` (the command's own way of naming one, `named_by`)
    or --example NAME, not both; None when neither is given (UsageError if it was still described with
    --mta-recipient, --mta-domain or --mta-table). NotBundled for an example that does not exist."""
    described = [o for o, v in (("--mta-recipient", args.recipient), ("--mta-domain", args.mta_domain),
                                ("--mta-table", args.mta_table)) if v]
    if directory and args.example:
        raise UsageError(f"give {named_by} or --example NAME, not both")
    if not (directory or args.example):
        if described:
            raise UsageError(f"{', '.join(described)} describe a configuration: name it ({named_by} or "
                             "--example NAME)")
        return None
    if args.example:
        from ..bundled import example

        directory = str(example(args.example))
    return UserConfig(directory, node or "library", args.recipient, tuple(args.mta_domain), tuple(args.mta_table),
                      tuple(getattr(args, "mta", None) or ()))


def describe(user: UserConfig, info: ConfigInfo) -> list[str]:
    """What was found in the configuration, as check and explore print it before they start: its domains and
    recipients, how it sends (the stand-in relayhost), whether it receives, the notes and the stand-ins."""
    from ..mta.versions import label

    relay = info.outbound
    kind, version = user.kind()
    name = label(kind, version)
    lines = [f"{user.directory} in place of {user.node}: {info.hostname}, domains "
             f"{', '.join(info.domains) or 'none'}; recipients known to {name.split()[0]}: "
             f"{', '.join(info.recipients[:5]) or 'none (pass --mta-recipient)'}; "
             f"unknown: {info.unknown or 'none confirmed'}; run by {name}"]
    if relay is not None:
        how = (f"stood in for by the node relayhost ({relay.host}:{relay.port}, STARTTLS offered"
               + (f", login {relay.login[0]} required after STARTTLS" if relay.login else "") + ")" if relay.host
               else f"not stood in for: {relay.why}")
        lines.append(f"  sends through relayhost {relay.relayhost}: {how}; TLS policy {relay.tls or 'none'}; "
                     f"senders qualified as @{relay.origin or '(unqualified)'}")
    if info.inbound_na:
        lines.append(f"  receives no mail from outside: {info.inbound_na}")
    lines += [f"  note: {note}" for note in info.notes]
    lines += [f"  stood in for: {s}" for s in info.stand_ins]
    return lines


__all__ = ["UserConfig", "add_config_arguments", "add_mta", "describe", "from_args"]
