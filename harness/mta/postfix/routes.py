"""Where a recipient's mail ends, as Postfix's own lookups decide it: virtual aliasing (every class), then the
address class of the result: aliases and the local transport (local), the virtual transport (virtual mailbox),
or a next hop (relay); transport_maps over each (ADDRESS_REWRITING_README, ADDRESS_CLASS_README, transport(5)).

A requirement that breaks the place where mail is stored (a full disk, a mailbox over quota) needs a recipient
whose mail ends in a mailbox of this server; one about a next hop needs a relayed one. The conformance suite picks
by these routes (harness.sut.conformance.Target.known_recipient).
"""

from __future__ import annotations

from ..facts import Route
from .resolve import Tables, address_keys, is_table, items

_MAX_DEPTH = 6  # alias chains longer than this are reported, not followed


def routes(addresses: list[str], values: dict[str, str], tables: Tables, served: dict[str, str]) -> tuple[Route, ...]:
    """The route of each address (in order), every lookup through the probe in a few batches."""
    return tuple(route(a, values, tables, served) for a in addresses)


def route(address: str, values: dict[str, str], tables: Tables, served: dict[str, str],
          seen: tuple[str, ...] = ()) -> Route:
    """Where mail for `address` ends (see the module's docstring)."""
    address = address.lower()
    if address in seen or len(seen) > _MAX_DEPTH:
        return Route(address, "other", address, f"alias loop or chain over {_MAX_DEPTH}: {' -> '.join(seen)}")
    domain = address.rpartition("@")[2]
    klass = served.get(domain, "")
    delim = values.get("recipient_delimiter", "")
    local = address.rpartition("@")[0]
    aliased = _virtual_alias(address, klass, values, tables)
    if aliased is not None:
        key, targets = aliased
        return _best(address, [route(t if "@" in t else f"{t}@{domain}", values, tables, served, (*seen, address))
                               for t in targets], f"virtual alias {key}")
    transport = _transport(address, domain, values, tables)
    if klass == "local":
        base = _base(local, delim)
        for table in (t for t in items(values.get("alias_maps", "")) if is_table(t)):
            look = tables.get(base, table)
            if look.found:
                targets = [t.strip() for t in look.value.split(",") if t.strip()]
                out = []
                for t in targets:
                    if t.startswith(("|", "/", ":include:")):
                        out.append(Route(address, "other", address, f"alias {base}: {t}"))
                    elif t.lower() == base:  # an alias to itself: the mailbox
                        out.append(_local(address, transport, values))
                    else:
                        out.append(route(t if "@" in t else f"{t}@{domain}", values, tables, served, (*seen, address)))
                return _best(address, out, f"alias {base}")
        return _local(address, transport, values)
    if klass == "virtual mailbox":
        return _by(address, transport or values.get("virtual_transport", "") or "virtual", "virtual_transport")
    if klass == "relay":
        return _by(address, transport or values.get("relay_transport", "") or "relay", "relay_transport")
    if klass == "virtual alias":  # no alias matched: Postfix refuses it (an unknown recipient)
        return Route(address, "other", address, "a virtual alias domain with no alias for it")
    return Route(address, "relay", address, "a domain this server does not serve: its MX")


def _virtual_alias(address: str, klass: str, values: dict[str, str], tables: Tables
                   ) -> tuple[str, list[str]] | None:
    """The key virtual_alias_maps matched and its targets, or None (no alias, or an alias to itself: Postfix's
    idiom for "this address, as it is")."""
    delim = values.get("recipient_delimiter", "")
    for table in (t for t in items(values.get("virtual_alias_maps", "")) if is_table(t)):
        for key in address_keys(address, klass or "virtual alias", "virtual_alias_maps", table, delim):
            look = tables.get(key, table)
            if look.found:
                targets = [t.lower() for t in items(look.value)]
                return None if targets == [address] else (key, targets)
    return None


def _base(local: str, delim: str) -> str:
    for d in delim:
        if d in local:
            return local.split(d, 1)[0]
    return local


def _transport(address: str, domain: str, values: dict[str, str], tables: Tables) -> str:
    """transport_maps' answer for the address, its domain, or a parent domain (".example"), or ""."""
    labels = domain.split(".")
    keys = [address, domain] + ["." + ".".join(labels[i:]) for i in range(1, len(labels))]
    for table in (t for t in items(values.get("transport_maps", "")) if is_table(t)):
        for key in keys:
            look = tables.get(key, table)
            if look.found and look.value.strip():
                return look.value.strip()
    return ""


def _local(address: str, transport: str, values: dict[str, str]) -> Route:
    if transport:
        return _by(address, transport, "transport_maps")
    if values.get("mailbox_transport", ""):
        return _by(address, values["mailbox_transport"], "mailbox_transport")
    if values.get("mailbox_command", "") and not values.get("local_transport", "local").startswith("lmtp:"):
        return Route(address, "other", address, f"mailbox_command = {values['mailbox_command']}")
    return _by(address, values.get("local_transport", "") or "local", "local_transport")


def _by(address: str, transport: str, via: str) -> Route:
    name = transport.split(":", 1)[0]
    kind = {"local": "mailbox", "virtual": "mailbox", "lmtp": "lmtp", "smtp": "relay", "relay": "relay"}.get(name,
                                                                                                              "other")
    return Route(address, kind, address, f"{via} = {transport}")


def _best(address: str, routes: list[Route], via: str) -> Route:
    """Of the routes an alias of `address` fans out to, one that ends in a mailbox here if any (what a requirement
    about this server's storage needs), else the first; the alias is named in `via`."""
    pick = next((r for r in routes if r.kind in ("mailbox", "lmtp")), routes[0] if routes else None)
    if pick is None:
        return Route(address, "other", address, f"{via}: no target")
    return Route(address, pick.kind, pick.final, f"{via} -> {pick.final}: {pick.via}")
