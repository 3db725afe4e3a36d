"""What Postfix knows about SMTP smuggling (CVE-2023-51764) that the MTA-neutral probe (harness.smuggling) cannot:
whether smtpd treats a client as one it exempts from its line-end checks.

smtpd_forbid_bare_newline (Postfix 3.5.23, 3.6.13, 3.7.9, 3.8.4 and later; normalize and reject from 3.7.10, the
default normalize from 3.9; Debian 12's 3.7.11 defaults to no): with normalize or reject, the data ends at
<CR><LF>.<CR><LF> only, except for the clients in smtpd_forbid_bare_newline_exclusions (default $mynetworks),
which are treated as with no. A probe from such a client would find the server vulnerable while a client on the
Internet would not: its report is then not a verdict on the server (the requirement says NOT JUDGED).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from .resolve import is_table, items, query_table

# The settings the exemption reads, main.cf's and the -o overrides of the services that run smtpd on port 25
# (smtp/inet, or smtpd/pass behind postscreen).
PARAMS = ("smtpd_forbid_bare_newline", "smtpd_forbid_bare_newline_exclusions")
SERVICES = ("smtp/inet", "smtpd/pass")


def effective(main: dict[str, str], overrides: dict[str, str]) -> dict[str, str]:
    """The values smtpd on port 25 runs with: main.cf's (`postconf -x`), unless the service's master.cf -o
    overrides them (`postconf -Px`: "smtp/inet/NAME = VALUE")."""
    out = dict(main)
    for service in SERVICES:
        for name in PARAMS:
            if f"{service}/{name}" in overrides:
                out[name] = overrides[f"{service}/{name}"]
    return out


def exemption(values: dict[str, str], ip: str, *, read_file: Callable[[str], str],
              in_table: Callable[[str, str], bool]) -> str:
    """Why smtpd lets a client at `ip` end lines (and the data) with a bare <LF> although it requires <CR><LF> of
    others: the item of smtpd_forbid_bare_newline_exclusions that matches it; "" when none does, or when nobody is
    held to <CR><LF> anyway (smtpd_forbid_bare_newline = no). Postfix's match list: the first item that matches
    decides, "!" negates; `/file` items are read (`read_file`), `type:table` items looked up (`in_table(table,
    ip)`); host name patterns never match a client without a name (the harness's has no PTR record)."""
    if values.get("smtpd_forbid_bare_newline", "no").strip().lower() == "no":
        return ""
    raw = values.get("smtpd_forbid_bare_newline_exclusions", "")
    decided = _match(items(raw), ip, read_file, in_table, depth=0)
    if decided is None or decided.startswith("!"):
        return ""
    return f"smtpd_forbid_bare_newline_exclusions = {raw or '(empty)'} holds {ip} ({decided})"


def _match(entries: list[str], ip: str, read_file: Callable[[str], str], in_table: Callable[[str, str], bool],
           depth: int) -> str | None:
    """The first entry that matches `ip` ("!entry" when a negated one decides), or None."""
    addr = ipaddress.ip_address(ip)
    for entry in entries:
        negated = entry.startswith("!")
        item = entry[1:] if negated else entry
        hit: bool | str | None = None
        if item.startswith("/") and depth < 3:  # its items stand in its place
            found = _match(items(" ".join(ln.split("#", 1)[0] for ln in read_file(item).splitlines())), ip,
                           read_file, in_table, depth + 1)
            if found is not None:
                return found
            continue
        if is_table(item):
            hit = in_table(query_table(item), ip)
        else:
            try:
                hit = addr in ipaddress.ip_network(item.replace("[", "").replace("]", ""), strict=False)
            except ValueError:
                hit = None  # a host or domain name pattern: the client has none
        if hit:
            return f"!{item}" if negated else item
    return None
