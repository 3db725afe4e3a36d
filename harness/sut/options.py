"""The command-line options that choose the configuration under test and say what the harness cannot find out
about it by itself: one home for `mailharness check` and `mailharness explore`, which take them with the same
meaning (--example, --mta-recipient, --mta-domain, --mta-table, --mta).

    add_config_arguments(parser)                      # when the parser is built
    user = from_args(args, args.directory, args.node)  # a UserConfig, or None when no configuration was named
    user.inspect()                                    # what the configuration serves (asks Postfix, in Docker)
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
                   help="an address the configuration accepts, if Postfix's lookups cannot confirm one")
    p.add_argument("--mta-domain", action="append", default=[], metavar="DOMAIN",
                   help="a domain the configuration serves, when its domains are in tables the harness cannot read "
                        "(mysql:, ldap:...); repeatable")
    p.add_argument("--mta-table", action="append", default=[], metavar="PARAM=FILE",
                   help="a readable copy (texthash: one 'key value' a line) of the tables PARAM names, run in their "
                        "place; FILE as given, else relative to the configuration directory; repeatable")
    add_mta(p)


@dataclass(frozen=True)
class UserConfig:
    """A configuration directory, the node it replaces, and what the user vouches for of it."""

    directory: str
    node: str = "library"
    recipient: str = ""  # --mta-recipient
    domains: tuple[str, ...] = ()  # --mta-domain
    tables: tuple[str, ...] = ()  # --mta-table, PARAM=FILE as given

    def table_pairs(self) -> tuple[tuple[str, str], ...]:
        """The tables as (PARAM, FILE); ConfigError for an option of another form."""
        from .byoc import table_options

        return table_options(self.tables)

    def inspect(self) -> ConfigInfo:
        """What the configuration serves and which recipients it knows (harness.sut.byoc.inspect_config)."""
        from .byoc import inspect_config

        return inspect_config(self.directory, self.recipient, domains=self.domains, tables=self.table_pairs())

    def pytest_options(self) -> list[str]:
        """The same choice as options of the pytest plugin (--mta-config=NODE=DIR, --mta-domain=...)."""
        return [f"--mta-config={self.node}={self.directory}", *(f"--mta-domain={x}" for x in self.domains),
                *(f"--mta-table={x}" for x in self.tables),
                *([f"--mta-recipient={self.recipient}"] if self.recipient else [])]


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
    return UserConfig(directory, node or "library", args.recipient, tuple(args.mta_domain), tuple(args.mta_table))


def describe(user: UserConfig, info: ConfigInfo) -> list[str]:
    """What was found in the configuration, as check and explore print it before they start: its domains and
    recipients, how it sends (the stand-in relayhost), whether it receives, the notes and the stand-ins."""
    relay = info.outbound
    lines = [f"{user.directory} in place of {user.node}: {info.hostname}, domains {', '.join(info.domains) or 'none'}; "
             f"recipients known to Postfix: {', '.join(info.recipients[:5]) or 'none (pass --mta-recipient)'}; "
             f"unknown: {info.unknown or 'none confirmed'}"]
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
