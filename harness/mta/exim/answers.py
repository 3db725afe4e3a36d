"""Exim's own answers about a configuration, read: option lines of `exim -bP`, named lists (`exim -bP +NAME`), Exim
lists, address tests (`exim -bt`), and the configuration as `exim -bP config` prints it (by section, the drivers by
name, the ACLs by statement). Pure functions: harness.mta.exim.configfacts asks, these read what Exim said.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

SECTIONS = ("acl", "routers", "transports", "retry", "rewrite", "authenticators", "local_scan")
VERBS = ("accept", "defer", "deny", "discard", "drop", "require", "warn")


def options(text: str) -> dict[str, str]:
    """`exim -bP NAME...` lines: "name = value", "no_name" (false), "name" (true); "NAME is not a known option"
    lines are left out."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        s = line.strip()
        if not s or s.endswith("is not a known option"):
            continue
        name, eq, value = s.partition("=")
        if eq:
            out[name.strip()] = value.strip()
        elif re.fullmatch(r"no_[a-z0-9_]+", s):
            out[s.removeprefix("no_")] = "false"
        elif re.fullmatch(r"[a-z0-9_]+", s):
            out[s] = "true"
    return out


def named_list(text: str) -> tuple[str, str, str] | None:
    """`exim -bP +NAME`'s line "domainlist NAME = VALUE" as (type, name, value); None when Exim has no such list."""
    m = re.match(r"^\s*(domain|host|address|localpart)list\s+(\S+)\s*=\s*(.*)$", text.strip())
    return (m.group(1), m.group(2), m.group(3).strip()) if m else None


def list_items(value: str) -> list[str]:
    """An Exim list's items: separated by ":" unless the list starts with "<" and another separator; in a colon
    list "::" is a colon (an IPv6 address)."""
    m = re.match(r"^<\s*(\S)\s*", value)
    sep, body = (m.group(1), value[m.end():]) if m else (":", value)
    if sep == ":":
        body = body.replace("::", "\0")
    return [i.strip().replace("\0", ":") for i in body.split(sep) if i.strip()]


def lookup_file(item: str) -> str:
    """The file a list item looks its keys up in ("lsearch;/etc/exim4/domains" -> the path), or ""."""
    m = re.match(r"^(?:partial\d*-)?(?:[a-z]*search|cdb|dbm|dbmnz|dbmjz)\*{0,2}@?;\s*(/\S+)$", item)
    return m.group(1) if m else ""


def file_keys(text: str) -> list[str]:
    """The keys of an lsearch file: each line's first word, before a colon (comments and continuations left out)."""
    keys = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#") or line[:1].isspace():
            continue
        key = re.split(r"[\s:]", line.strip(), maxsplit=1)[0].strip('"')
        if key:
            keys.append(key)
    return keys


@dataclass(frozen=True)
class Tested:
    """One address `exim -bt` reported on: where it ends (`status` "deliverable"), or why not ("undeliverable",
    "deferred" with `reason`), the router and transport that took it, the file or pipe it is written to (`target`),
    the addresses it came from through redirections (`parents`, nearest first) and the hosts of a remote delivery."""

    address: str
    status: str
    reason: str = ""
    router: str = ""
    transport: str = ""
    target: str = ""
    parents: tuple[str, ...] = ()
    hosts: tuple[str, ...] = field(default=())


_UNDELIVERABLE = re.compile(r"^(?P<a>\S+) is undeliverable: (?P<why>.*)$")
_DEFERRED = re.compile(r"^(?P<a>\S+) cannot be resolved at this time: (?P<why>.*)$")
_TARGET = re.compile(r"^(?P<a>\S+) -> (?P<target>.+)$")
_ROUTER = re.compile(r"^\s+router = (?P<r>[^,\s]+), transport = (?P<t>\S+)\s*$")
_TRANSPORT = re.compile(r"^\s+transport = (?P<t>\S+)\s*$")


def address_tests(text: str) -> list[Tested]:
    """`exim -bt ADDRESS` output, one entry per address it ended at: the first line names it (with " -> FILE" for a
    file or pipe, or "is undeliverable: ...", "cannot be resolved at this time: ..."), then "    <-- PARENT" lines,
    then "  router = R, transport = T" (or "  transport = T") and "  host NAME [IP]" lines."""
    out: list[Tested] = []
    cur: dict[str, object] | None = None

    def flush() -> None:
        if cur is not None:
            out.append(Tested(**cur))  # type: ignore[arg-type]

    for line in text.splitlines():
        if not line.strip() or line.startswith(">"):
            line = line.lstrip("> ")
            if not line.strip():
                continue
        if not line[:1].isspace():
            flush()
            if m := _UNDELIVERABLE.match(line):
                cur = {"address": m.group("a"), "status": "undeliverable", "reason": m.group("why").strip()}
            elif m := _DEFERRED.match(line):
                cur = {"address": m.group("a"), "status": "deferred", "reason": m.group("why").strip()}
            elif m := _TARGET.match(line):
                cur = {"address": m.group("a"), "status": "deliverable", "target": m.group("target").strip()}
            else:
                cur = {"address": line.strip(), "status": "deliverable"}
            continue
        if cur is None:
            continue
        s = line.strip()
        if s.startswith("<-- "):
            cur["parents"] = (*cur.get("parents", ()), s[4:].strip())  # type: ignore[misc]
        elif m := _ROUTER.match(line):
            cur["router"], cur["transport"] = m.group("r"), m.group("t")
        elif m := _TRANSPORT.match(line):
            cur["transport"] = m.group("t")
        elif s.startswith("host "):
            cur["hosts"] = (*cur.get("hosts", ()), s[5:].strip())  # type: ignore[misc]
    flush()
    return out


# -- the configuration as `exim -bP config` prints it ------------------------------------------------------------------
def sections(flat: str) -> dict[str, list[str]]:
    """The configuration's lines by section ("main", then each `begin` section's, without the begin line)."""
    out: dict[str, list[str]] = {"main": []}
    cur = "main"
    for line in flat.splitlines():
        m = re.match(r"^\s*begin\s+(\w+)\s*$", line)
        if m and m.group(1) in SECTIONS:
            cur = m.group(1)
            out.setdefault(cur, [])
            continue
        out[cur].append(line)
    return out


def drivers(lines: list[str]) -> dict[str, dict[str, str]]:
    """A routers or transports section: each driver's options by name, in order ("name:" starts one)."""
    out: dict[str, dict[str, str]] = {}
    cur: dict[str, str] | None = None
    for line in lines:
        s = line.strip()
        if not s or s.startswith("#") or s.startswith("."):
            continue
        m = re.fullmatch(r"([A-Za-z0-9_.-]+):", s)
        if m:
            cur = out.setdefault(m.group(1), {})
            continue
        if cur is None or s[0].isupper():  # a macro definition between drivers
            continue
        name, eq, value = s.partition("=")
        if eq:
            cur[name.strip()] = value.strip()
        elif s.startswith(("no_", "not_")):
            cur[s.split("_", 1)[1]] = "false"
        else:
            cur[s] = "true"
    return out


@dataclass(frozen=True)
class Statement:
    """One ACL statement: its verb and its conditions and modifiers in order, as (name, value); a negated
    condition's name starts with "!"; `endpass` is ("endpass", "")."""

    verb: str
    conditions: tuple[tuple[str, str], ...]

    def has(self, name: str) -> bool:
        return any(n.lstrip("!") == name for n, _ in self.conditions)

    def value(self, name: str) -> str:
        return next((v for n, v in self.conditions if n == name), "")

    def render(self) -> str:
        return " ".join([self.verb, *(f"{n} = {v}" if v else n for n, v in self.conditions)])


def acls(lines: list[str]) -> dict[str, list[Statement]]:
    """The acl section: each ACL's statements by name."""
    out: dict[str, list[Statement]] = {}
    verb, name = "", ""
    conds: list[tuple[str, str]] = []

    def flush() -> None:
        if name and verb:
            out[name].append(Statement(verb, tuple(conds)))

    for line in lines:
        s = line.strip()
        if not s or s.startswith("#") or s[0].isupper():
            continue
        m = re.fullmatch(r"([A-Za-z0-9_.-]+):", s)
        if m:
            flush()
            name, verb, conds = m.group(1), "", []
            out.setdefault(name, [])
            continue
        first, _, rest = s.partition(" ")
        if first in VERBS and not rest.lstrip().startswith("="):
            flush()
            verb, conds = first, []
            s = rest.strip()
            if not s:
                continue
        if s == "endpass":
            conds.append(("endpass", ""))
            continue
        cname, eq, value = s.partition("=")
        if eq:
            conds.append((cname.replace(" ", "").strip(), value.strip()))
    flush()
    return out


def acl_json(statements: list[Statement]) -> str:
    """An ACL's statements as one string (ConfigInfo.params holds strings): [[verb, [[name, value]...]]...]."""
    return json.dumps([[s.verb, [list(c) for c in s.conditions]] for s in statements])


def statements_of(text: str) -> list[Statement]:
    """acl_json's string back as statements."""
    return [Statement(verb, tuple((n, v) for n, v in conds)) for verb, conds in json.loads(text)]


__all__ = ["Statement", "Tested", "acl_json", "acls", "address_tests", "drivers", "file_keys", "list_items",
           "lookup_file", "named_list", "options", "sections", "statements_of"]
