"""The domains a Postfix configuration serves and the recipients its tables know (or do not), each step asked of
Postfix's own lookups (harness.mta.postfix.resolve) in a probe; harness.mta.postfix.configfacts runs them in order.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from ...topology import MAILBOX_NAME
from ..facts import ConfigError
from .probe import Probe
from .resolve import (
    CLASSES,
    DELIVERED_HERE,
    ROLE,
    UNKNOWN_LOCAL_PART,
    Candidate,
    Tables,
    domain_class,
    domain_lookups,
    is_domain,
    is_table,
    is_unreadable,
    items,
    lookups,
    verdict_for,
)

# The recipient tables whose keys name addresses (and so the domains of those addresses).
RCPT_PARAMS = ("virtual_alias_maps", "virtual_mailbox_maps", "relay_recipient_maps", "local_recipient_maps",
               "transport_maps")
_MAX_CANDIDATES = 24  # asked in one round trip


@dataclass(frozen=True)
class Served:
    """The domains the configuration serves (domain -> address class) and the keys of each recipient table."""

    served: dict[str, str]
    listed: dict[str, list[str]]  # table -> the keys Postfix lists


@dataclass(frozen=True)
class Accounts:
    """The local parts the node needs as Unix accounts (`wanted`), and those it creates (not in its passwd)."""

    wanted: list[str]
    created: list[str]


def unreadable(values: dict[str, str]) -> list[tuple[str, str]]:
    """(parameter, table) for each table that decides what the server serves or accepts and that neither the
    probe nor the node can read (harness.mta.postfix.resolve.UNREADABLE)."""
    params = [p for _, p, _ in CLASSES] + list(RCPT_PARAMS) + ["alias_maps"]
    return [(p, t) for p in dict.fromkeys(params) for t in items(values.get(p, "")) if is_unreadable(t)]


def served(d: Path, probe: Probe, values: dict[str, str], tables: Tables, candidates: list[str], recipient: str,
           notes: list[str], *, vouched: Sequence[str] = (), unread: Sequence[tuple[str, str]] = (),
           explicit: Collection[str] = (), sends: bool = False) -> Served:
    """Domain lists: names, /file/name entries (read), tables (listed where Postfix can list them); every address
    the recipient tables list, and the domains of those addresses; each candidate domain's class, as Postfix's
    lookups decide it. A domain the user vouches for (`vouched`: --mta-domain, and --mta-recipient's) that the
    lookups cannot place, where a class's domain list is a table nobody can read (`unread`), is taken to be of
    that class (one main.cf sets itself, in `explicit`, before one that only inherits a default, such as
    virtual_alias_domains = $virtual_alias_maps), with a note. ConfigError when it serves none, saying why and the
    way out, unless it `sends` through a relayhost (a null client serves none: its requirements are outbound)."""
    list_files = [it for _, param, _ in CLASSES for it in items(values.get(param, "")) if it.startswith("/")]
    tables.list_keys([it for param in [c[1] for c in CLASSES] + list(RCPT_PARAMS) + ["alias_maps"]
                      for it in items(values.get(param, "")) if is_table(it)])
    contents = dict(zip(list_files, probe.run([["cat", f] for f in list_files]), strict=True))
    lists: dict[str, list[str]] = {}
    candidates = list(candidates)
    for _, param, _ in CLASSES:
        names: list[str] = []
        for it in items(values.get(param, "")):
            if it.startswith("/"):
                names += [x.lower() for line in contents[it].out.splitlines() for x in items(line.split("#", 1)[0])]
            elif is_table(it):
                keys, why = tables.keys(it)
                candidates += [k.lower() for k in keys]
                if why and not is_unreadable(it):  # those are named once, with the way out (unreadable())
                    notes.append(f"{param}: {why}; its domains are found through the addresses of the tables")
            else:
                names.append(it.lower())
        lists[param] = names
        candidates += names
    listed: dict[str, list[str]] = {}
    for param in RCPT_PARAMS:
        for t in (t for t in items(values.get(param, "")) if is_table(t)):
            keys, why = tables.keys(t)
            listed[t] = keys
            if why and param != "transport_maps" and not why.startswith(f"{t} (Unix") and t != "nis:mail.aliases" \
                    and not is_unreadable(t):
                notes.append(f"{param}: {why}")
            candidates += [k.rsplit("@", 1)[-1].lower() for k in keys]
    vouched = [*vouched, *([recipient.rsplit("@", 1)[-1]] if recipient else [])]
    candidates += vouched
    doms = list(dict.fromkeys(c for c in candidates if is_domain(c)))
    tables.ask([p for x in doms for p in domain_lookups(x, values)])
    classes = {x: k for x in doms if (k := domain_class(x, values, lists, tables))}
    hidden = sorted(((klass, param, t) for klass, param, _ in CLASSES for p, t in unread if p == param),
                    key=lambda h: h[1] not in explicit)
    for x in dict.fromkeys(v for v in vouched if v not in classes):
        if hidden:
            klass, param, t = hidden[0]
            classes[x] = klass
            notes.append(f"{x}: taken as a {klass} domain, as you said: {param} is a table the harness cannot "
                         f"read ({t})")
        else:
            notes.append(f"{x}: Postfix's lookups say this configuration does not serve it")
    if not classes:
        if hidden:
            raise ConfigError(f"{d}: the domains this configuration serves are in tables the harness cannot read ("
                              + "; ".join(f"{param} = {t}" for _, param, t in hidden) + "); name one with "
                              "--mta-domain DOMAIN, and give the node a readable copy with --mta-table "
                              f"{hidden[0][1]}=FILE (a texthash table: one 'key value' a line)")
        if not sends:
            raise ConfigError(f"{d}: Postfix says this configuration serves no domain (mydestination, "
                              "virtual_*_domains, relay_domains) and names no relayhost to send through: the "
                              "harness has nothing to judge")
        notes.append("it serves no domain (mydestination, virtual_*_domains and relay_domains are empty): an "
                     "outbound-only server, judged on the mail it sends through its relayhost")
    return Served(classes, listed)


def accounts(probe: Probe, values: dict[str, str], tables: Tables, found: Served, recipient: str) -> Accounts:
    """Unix accounts the node gets: the local parts the local class's own tables list, alias targets, and the
    recipient the user vouches for; those the image has not already."""
    local_domains = [x for x, k in found.served.items() if k == "local"]
    wanted: list[str] = []
    for t in (t for t in items(values.get("local_recipient_maps", "")) if is_table(t) and t not in tables.aliases):
        for k in found.listed.get(t, []):
            local, _, dom = k.partition("@")
            if not dom or dom in local_domains:
                wanted.append(local)
    for t in tables.aliases:
        wanted += [v for x in tables.values.get(t, {}).values() for v in items(x)
                   if re.match(r"^[a-z_][a-z0-9_-]*$", v)]
    if recipient and found.served.get(recipient.rsplit("@", 1)[-1]) == "local":
        wanted.append(recipient.split("@", 1)[0])
    wanted = [u for u in dict.fromkeys(wanted) if MAILBOX_NAME.match(u)]
    have = probe.run([["getent", "passwd", u] for u in wanted])
    created = [u for u, a in zip(wanted, have, strict=True) if not a.ok]
    tables.accounts = set(created)
    return Accounts(wanted, created)


def known(values: dict[str, str], tables: Tables, found: Served, accounts: Accounts, primary: str, recipient: str,
          notes: list[str]) -> tuple[list[Candidate], str]:
    """Known recipients: candidates of each class, confirmed by Postfix's lookups, the server's own first (and
    the one the user vouches for before them); or why there is none."""
    served = found.served
    cands: list[Candidate] = []
    for x, klass in served.items():
        if klass == "local":
            parts = [k.partition("@")[0] for t in [*items(values.get("local_recipient_maps", "")), *tables.aliases]
                     if is_table(t) for k in tables.keys(t)[0] if k.partition("@")[2] in ("", x)] + accounts.wanted
            cands += [Candidate(f"{p}@{x}", klass) for p in parts if p and "@" not in p]
    for keys in found.listed.values():
        for k in keys:
            local, _, dom = k.rpartition("@")
            if local and dom.lower() in served:
                cands.append(Candidate(k.lower(), served[dom.lower()]))
    cands = list(dict.fromkeys(cands))
    # Then by address: the order Postfix lists a table's keys in (postmap -s) varies from run to run, and the same
    # configuration must give the same recipients every time
    cands.sort(key=lambda r: (not r.delivered_here, r.address.split("@")[0] in ROLE,
                              r.address.rsplit("@", 1)[-1] != primary, r.address))
    tables.ask([p for r in cands[:_MAX_CANDIDATES] for p in lookups(r.address, r.klass, values)]  # one round trip
               + [p for x, k in served.items() for p in lookups(f"{UNKNOWN_LOCAL_PART}@{x}", k, values)])
    out = [r for r in cands[:_MAX_CANDIDATES] if verdict_for(r.address, r.klass, values, tables)[0]]
    if recipient:
        klass = served.get(recipient.rsplit("@", 1)[-1], "")
        if not klass:
            raise ConfigError(f"--mta-recipient {recipient}: Postfix says this configuration does not serve its domain"
                              f" (it serves {', '.join(served)})")
        ok, why = verdict_for(recipient, klass, values, tables)
        if ok is None:  # the node's Postfix cannot read the table either: its smtpd would answer 4xx
            return [], (f"--mta-recipient {recipient}: the harness's Postfix cannot read the tables that decide it "
                        f"({why}); give it a readable copy with --mta-table PARAM=FILE")
        if ok is False:
            notes.append(f"--mta-recipient {recipient}: Postfix's lookups do not know it"
                         f"{': ' + why if why else ''}; used as you said")
        return [Candidate(recipient, klass), *out], ""
    if not out:
        return [], ("no recipient of this configuration could be confirmed with Postfix's lookups "
                    f"(tried {len(cands)}); pass one with --mta-recipient ADDRESS")
    return out, ""


def unknown(values: dict[str, str], tables: Tables, served: dict[str, str], primary: str) -> tuple[str, str]:
    """An address Postfix's lookups confirm unknown (the primary domain's first), or "" and why there is none."""
    why_not: list[str] = []
    for x in sorted(served, key=lambda x: (x != primary, served[x] not in DELIVERED_HERE)):
        address = f"{UNKNOWN_LOCAL_PART}@{x}"
        ok, why = verdict_for(address, served[x], values, tables)
        if ok is False:
            return address, ""
        why_not.append(f"{address}: " + (why if ok is None else "Postfix's lookups know it (a catch-all)"))
    return "", "no address could be confirmed unknown with Postfix's lookups: " + "; ".join(why_not)


def relay_unknown(values: dict[str, str], tables: Tables, served: dict[str, str]) -> tuple[str, str]:
    """An address of a relay domain Postfix's lookups confirm unknown, or "" and why there is none."""
    why_not: list[str] = []
    for x in [x for x, k in served.items() if k == "relay"]:
        address = f"{UNKNOWN_LOCAL_PART}@{x}"
        ok, why = verdict_for(address, "relay", values, tables)
        if ok is False:
            return address, ""
        why_not.append(f"{address}: " + (why if ok is None else "Postfix's lookups know it"))
    return "", ("no address of a relay domain could be confirmed unknown with Postfix's lookups: "
                + "; ".join(why_not))


def warn(values: dict[str, str], served: dict[str, str], notes: list[str]) -> None:
    """The notes a reader of the configuration owes its owner: recipient tables that accept anyone."""
    if "relay" in served.values() and not items(values.get("relay_recipient_maps", "")):
        notes.append("relay_domains without relay_recipient_maps: mail for any address there is accepted, and "
                     "what the backend refuses is bounced to whoever the sender claimed to be")
    if "local" in served.values() and not items(values.get("local_recipient_maps", "")):
        notes.append("local_recipient_maps is empty: mail for unknown local users is accepted and bounced later")
