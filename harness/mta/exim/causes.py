"""The causes of a failed requirement that an Exim configuration shows by itself, read from what Exim printed of it
(ConfigInfo.params: the main options, the named lists as "list NAME", each ACL's statements as "acl NAME", in JSON:
harness.mta.exim.answers.acl_json). The conformance report puts them before the general hint (HINTS, in Exim's
words), which stays for when no cause is visible.

The RCPT ACL is read in order, as Exim runs it: a statement that accepts a recipient of the server's own domains from
any client, before a `verify = recipient` has been required of it, takes unknown local parts; the routers then fail
them at delivery, and Exim bounces them to whoever the sender claimed to be (backscatter).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from .answers import Statement, list_items, statements_of

Params = Mapping[str, str]

HINTS = {
    "unknown-recipients": "the RCPT ACL (acl_smtp_rcpt) must verify the recipient before it accepts one of the "
                          "server's domains (`require verify = recipient`, as Exim's default configuration has after "
                          "its relay check), and the routers must fail unknown local parts (a redirect router with "
                          "no catch-all, check_local_user on the accept router); for relay_to_domains, verify with a "
                          "callout (`verify = recipient/callout`) or list the backend's recipients",
    "relay": "the RCPT ACL must refuse other domains to clients outside relay_from_hosts (`require domains = "
             "+local_domains : +relay_to_domains` before any accept that takes every domain), and relay_from_hosts "
             "must list only your own networks",
}


def _statements(p: Params) -> tuple[str, list[Statement]]:
    """The RCPT ACL's name and its statements (from "acl NAME"), or ("", []) when it is not a named ACL."""
    name = p.get("acl_smtp_rcpt", "").strip()
    text = p.get(f"acl {name}", None) if name else None
    return (name, statements_of(text)) if text is not None else ("", [])


def _verifies(s: Statement) -> bool:
    """The statement requires the recipient to verify (require verify = recipient, deny !verify = recipient, or an
    accept with it among its conditions)."""
    return any(n.lstrip("!") == "verify" and v.split("/")[0].strip() == "recipient" and
               (n.startswith("!") == (s.verb == "deny") or s.verb in ("require", "accept"))
               for n, v in s.conditions)


def _local(s: Statement) -> bool:
    """The statement applies to recipients of the server's own domains, from clients outside (no narrowing to
    local submissions, relay hosts, authenticated clients, or a few local parts such as postmaster)."""
    if s.has("hosts") or s.has("authenticated") or s.has("local_parts") or s.has("recipients"):
        return False
    domains = s.value("domains")
    return not domains or "+local_domains" in domains.replace(" ", "") and not domains.strip().startswith("!")


def _unknown_recipients(p: Params) -> list[str]:
    name, statements = _statements(p)
    for s in statements:
        if _verifies(s) and s.verb in ("require", "deny"):
            return []
        if s.verb == "accept" and _local(s) and not _verifies(s):
            return [f"{name} (acl_smtp_rcpt) accepts the server's own domains at `{s.render()}` before any "
                    "`verify = recipient`: Exim takes any local part there and finds out only at delivery that it is "
                    "unknown, then bounces it to whoever the sender claimed to be; require `verify = recipient` "
                    "before that statement (Exim's default configuration: `require verify = recipient` after the "
                    "relay check)"]
    return []


def _relay(p: Params) -> list[str]:
    out = []
    wide = [h for h in list_items(p.get("list relay_from_hosts", "")) if h in ("*", "0.0.0.0/0", "::/0")]
    if wide:
        out.append(f"relay_from_hosts = {p.get('list relay_from_hosts')}: {', '.join(wide)} lets every client on "
                   "the Internet relay; list only your own networks")
    name, statements = _statements(p)
    for s in statements:
        if s.verb in ("require", "deny") and "+local_domains" in s.value("domains").replace(" ", ""):
            break
        if s.verb == "accept" and not (s.has("hosts") or s.has("authenticated") or s.has("domains")
                                       or s.has("local_parts") or s.has("recipients")):
            out.append(f"{name} (acl_smtp_rcpt) accepts every domain at `{s.render()}` before its relay check: any "
                       "client may relay; put `require domains = +local_domains : +relay_to_domains` before it")
            break
    return out


_CAUSES: dict[str, Callable[[Params], list[str]]] = {"unknown-recipients": _unknown_recipients, "relay": _relay}


def causes(topic: str, params: Params) -> list[str]:
    """The causes of `topic` ("unknown-recipients", "relay") the configuration's own ACLs and lists show; [] for
    none visible, or for a topic this package knows nothing of."""
    fn = _CAUSES.get(topic)
    return fn(params) if fn is not None else []
