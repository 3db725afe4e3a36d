"""What a Postfix configuration means, asked of Postfix itself (in a probe container of the node image, see
harness.probe): parameter values with their defaults and `$name` expansion (`postconf -x`), list items (names,
`/file/name` entries, `type:table` lookups), the four address classes and the recipient tables of each
(ADDRESS_CLASS_README), and lookups of candidate recipients (`postmap -q`, `postalias -q`, `getent`).

Nothing here parses main.cf: the harness only decides which questions to ask, and which recipient to test with.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..facts import UNKNOWN_LOCAL_PART as UNKNOWN_LOCAL_PART
from .probe import Answer, Probe

# The address classes, in Postfix's order of precedence, with the domain list and the recipient tables of each.
CLASSES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("local", "mydestination", ("virtual_alias_maps", "local_recipient_maps")),
    ("virtual alias", "virtual_alias_domains", ("virtual_alias_maps",)),
    ("virtual mailbox", "virtual_mailbox_domains", ("virtual_alias_maps", "virtual_mailbox_maps")),
    ("relay", "relay_domains", ("virtual_alias_maps", "relay_recipient_maps")),
)
# Classes whose mail this server delivers itself (a full disk there is its own).
DELIVERED_HERE = ("local", "virtual mailbox")
ROLE = ("postmaster", "root", "abuse", "mailer-daemon", "hostmaster", "webmaster", "nobody")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def items(value: str) -> list[str]:
    """A Postfix list: items separated by white space or commas; `type:{...}` inline tables kept whole."""
    out: list[str] = []
    depth, cur = 0, ""
    for ch in value:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if depth == 0 and (ch.isspace() or ch == ","):
            if cur:
                out.append(cur)
            cur = ""
        else:
            cur += ch
    return out + ([cur] if cur else [])


# Table types that need a server the topology does not have (a database, a directory, a socket service): neither
# the probe nor the node can read them.
UNREADABLE = ("mysql", "pgsql", "ldap", "sqlite", "memcache", "tcp", "socketmap", "nis", "nisplus")


def is_unreadable(table: str) -> bool:
    return is_table(table) and query_table(table).split(":", 1)[0] in UNREADABLE \
        and not table.startswith("nis:mail.aliases")


def unreadable_error(table: str) -> str:
    return f"a {query_table(table).split(':', 1)[0]} table, which the harness cannot read (no server for it)"


def is_table(item: str) -> bool:
    return bool(re.match(r"^[a-z0-9]+:", item)) and not item.startswith("/")


def query_table(table: str) -> str:
    """The table postmap should open: proxy:X is X itself (no proxymap runs in the probe)."""
    return table.removeprefix("proxy:")


@dataclass(frozen=True)
class Lookup:
    """One lookup's answer: found (with the value), not found, or Postfix could not tell (an error)."""

    found: bool
    value: str = ""
    error: str = ""

    @staticmethod
    def of(a: Answer) -> Lookup:
        err = " ".join(line for line in a.err.splitlines() if "fatal" in line or "error" in line)
        if err:
            return Lookup(False, error=err.strip())
        return Lookup(a.ok and bool(a.out.strip()), a.out.strip())


@dataclass
class Tables:
    """Table lookups through the probe, memoized. `accounts` are the Unix accounts the node will have."""

    probe: Probe
    accounts: set[str] = field(default_factory=set)
    aliases: set[str] = field(default_factory=set)  # the tables of alias_maps (postalias format)
    _memo: dict[tuple[str, str], Lookup] = field(default_factory=dict)
    _keys: dict[str, tuple[list[str], str]] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # key -> value of each listed table

    def ask(self, pairs: list[tuple[str, str]]) -> None:
        """Look up (key, table) pairs not asked yet, in one batch."""
        todo = [p for p in dict.fromkeys(pairs) if p not in self._memo]
        for key, table in [p for p in todo if is_unreadable(p[1])]:  # never asked: each costs a second or more
            self._memo[(key, table)] = Lookup(False, error=unreadable_error(table))
        todo = [p for p in todo if p not in self._memo]
        cmds: list[list[str]] = []
        for key, table in todo:
            t = query_table(table)
            if t == "unix:passwd.byname":
                cmds.append(["getent", "passwd", key])
            else:
                cmds.append(["postalias" if table in self.aliases else "postmap", "-q", key, t])
        for pair, ans in zip(todo, self.probe.run(cmds), strict=True):
            look = Lookup.of(ans)
            if query_table(pair[1]) == "unix:passwd.byname" and not look.error:
                look = Lookup(look.found or pair[0] in self.accounts, look.value)
            self._memo[pair] = look

    def get(self, key: str, table: str) -> Lookup:
        self.ask([(key, table)])
        return self._memo[(key, table)]

    def list_keys(self, tables: list[str]) -> None:
        """List the keys of tables Postfix can list (`postmap -s`, `postalias -s`), in one batch."""
        todo = [t for t in dict.fromkeys(tables) if t not in self._keys]
        cmds, asked = [], []
        for t in todo:
            q = query_table(t)
            if q.startswith("unix:"):
                self._keys[t] = ([], f"{t} (Unix accounts) cannot be listed")
                continue
            if is_unreadable(t):
                self._keys[t] = ([], f"{t}: {unreadable_error(t)}")
                continue
            cmds.append(["postalias" if t in self.aliases else "postmap", "-s", q])
            asked.append(t)
        for t, a in zip(asked, self.probe.run(cmds), strict=True):
            err = " ".join(line.split("fatal: ", 1)[-1] for line in a.err.splitlines() if "fatal" in line)
            if err or not a.ok:
                self._keys[t] = ([], f"{t}: {err or 'cannot be listed'}")
                continue
            keys = [line.split("\t", 1)[0].rstrip(":").strip() for line in a.out.splitlines() if line.strip()]
            self._keys[t] = ([k for k in keys if k and k != "@" and not k.startswith("YP_")], "")
            self.values[t] = {line.split("\t", 1)[0].rstrip(":").strip(): line.partition("\t")[2].strip()
                              for line in a.out.splitlines() if "\t" in line}

    def keys(self, table: str) -> tuple[list[str], str]:
        """Every key of a table Postfix can list, or ([], why not)."""
        self.list_keys([table])
        return self._keys[table]


@dataclass(frozen=True)
class Candidate:
    address: str
    klass: str  # local, virtual alias, virtual mailbox, relay

    @property
    def delivered_here(self) -> bool:
        return self.klass in DELIVERED_HERE


def address_keys(address: str, klass: str, param: str, table: str, delimiter: str) -> list[str]:
    """The keys Postfix looks an address up with in one recipient table: user@domain, user (the local class's
    tables; virtual aliases of local domains), @domain (not in local_recipient_maps); each also without an
    address extension (recipient_delimiter)."""
    local, _, domain = address.rpartition("@")
    bases = [local] + [local.split(d, 1)[0] for d in delimiter if d in local]
    if query_table(table) == "unix:passwd.byname":
        return bases
    keys = [f"{b}@{domain}" for b in bases]
    if klass == "local":
        keys += bases
    return keys + ([] if param == "local_recipient_maps" else [f"@{domain}"])


def lookups(address: str, klass: str, values: dict[str, str]) -> list[tuple[str, str]]:
    """The (key, table) lookups that decide whether Postfix knows `address` of class `klass`. With an empty
    local_recipient_maps, smtpd accepts every local part; whether local(8) then delivers is a matter of the
    accounts and aliases: those are asked."""
    delim = values.get("recipient_delimiter", "")
    pairs = []
    for param in dict(CLASSES_MAPS)[klass]:
        value = values.get(param, "")
        if param == "local_recipient_maps" and not items(value):
            value = "unix:passwd.byname " + values.get("alias_maps", "")
        pairs += [(key, t) for t in items(value) if is_table(t)
                  for key in address_keys(address, klass, param, t, delim)]
    return pairs


def verdict_for(address: str, klass: str, values: dict[str, str], tables: Tables) -> tuple[bool | None, str]:
    """Does Postfix know `address` (of class `klass`)? True, False, or None with the reason it cannot tell.
    Known means accepted and delivered; an empty recipient table makes every address accepted, and an address
    no table knows is then reported unknown (False) with that reason."""
    pairs = lookups(address, klass, values)
    tables.ask(pairs)
    if any(tables.get(k, t).found for k, t in pairs):
        return True, ""
    if klass == "local" and not items(values.get("local_recipient_maps", "")):
        return False, "local_recipient_maps is empty: Postfix accepts every local part"
    if klass == "relay" and not items(values.get("relay_recipient_maps", "")):
        return False, "relay_recipient_maps is empty: Postfix accepts every address of a relay domain"
    errors = [f"{t}: {tables.get(k, t).error}" for k, t in pairs if tables.get(k, t).error]
    if errors:
        return None, "; ".join(dict.fromkeys(errors))
    return False, ""


CLASSES_MAPS = tuple((k, maps) for k, _, maps in CLASSES)


def domain_lookups(domain: str, values: dict[str, str]) -> list[tuple[str, str]]:
    return [(domain, t) for _, param, _ in CLASSES for t in items(values.get(param, "")) if is_table(t)]


def domain_class(domain: str, values: dict[str, str], lists: dict[str, list[str]], tables: Tables) -> str:
    """The address class of `domain` (local, virtual alias, virtual mailbox, relay) or "" (not served)."""
    for klass, param, _ in CLASSES:
        if domain in lists.get(param, []):
            return klass
        for t in items(values.get(param, "")):
            if is_table(t) and tables.get(domain, t).found:
                return klass
    return ""


def is_domain(name: str) -> bool:
    return bool(_DOMAIN.match(name.lower())) and not name.startswith("localhost")
