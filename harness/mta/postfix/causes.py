"""The causes of a failed requirement that a Postfix configuration shows by itself: the user's own parameter values
that are known to produce the failure. The conformance report puts them before the requirement's generic hint
(which stays for when no cause is visible). Read from the values the probe asked Postfix for (ConfigInfo.params).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from .resolve import items

Params = Mapping[str, str]


def _unknown_recipients(p: Params) -> list[str]:
    out = []
    if p.get("smtpd_reject_unlisted_recipient", "yes").strip().lower() == "no":
        out.append("smtpd_reject_unlisted_recipient = no: smtpd accepts recipients its tables do not list, and the "
                   "server bounces them later (to whoever the sender claimed to be); set it to yes")
    if "mydestination" in p and items(p.get("mydestination", "")) and not items(p.get("local_recipient_maps", "")):
        out.append("local_recipient_maps is empty in this configuration: any local part of mydestination's "
                   "domains is accepted and bounced later; set it to proxy:unix:passwd.byname $alias_maps (the "
                   "default) or to the tables that list your users")
    if items(p.get("relay_domains", "")) and not items(p.get("relay_recipient_maps", "")):
        out.append("relay_domains without relay_recipient_maps: any address of the relayed domains is accepted "
                   "and the backend's refusal is bounced; list the backend's recipients in relay_recipient_maps")
    return out


def _relay(p: Params) -> list[str]:
    out = []
    wide = [n for n in items(p.get("mynetworks", "")) if n.endswith("/0") or n in ("0.0.0.0", "[::]")]
    if wide:
        out.append(f"mynetworks = {p.get('mynetworks')}: {', '.join(wide)} trusts every client on the Internet to "
                   "relay; list only your own networks")
    for param in ("smtpd_relay_restrictions", "smtpd_recipient_restrictions"):
        rules = [r.lower() for r in items(p.get(param, ""))]
        if rules and rules[0] == "permit":
            out.append(f"{param} begins with permit: every client may relay; end it with "
                       "reject_unauth_destination after the permits you mean")
    return out


def _smuggling(p: Params) -> list[str]:
    out = []
    if p.get("smtpd_forbid_bare_newline", "").strip().lower() == "no":
        out.append("smtpd_forbid_bare_newline = no (set here, or the default of Postfix < 3.9, such as Debian 12's "
                   "3.7): a bare LF ends a line, and <LF>.<CR><LF> the data; set it to normalize (Postfix >= 3.7.10; "
                   "yes on 3.7.9)")
    wide = [n for n in items(p.get("smtpd_forbid_bare_newline_exclusions", "")) if n.endswith("/0")]
    if wide:
        out.append(f"smtpd_forbid_bare_newline_exclusions = {p.get('smtpd_forbid_bare_newline_exclusions')}: "
                   f"{', '.join(wide)} exempts every client on the Internet; keep it to your own networks")
    if out and p.get("smtpd_forbid_unauth_pipelining", "").strip().lower() == "no":
        out.append("smtpd_forbid_unauth_pipelining = no as well: not even a smuggled transaction sent in one go "
                   "is refused (yes from Postfix 3.9; it stops only that one form)")
    return out


_CAUSES: dict[str, Callable[[Params], list[str]]] = {"unknown-recipients": _unknown_recipients, "relay": _relay,
                                                     "smuggling": _smuggling}
TOPICS = tuple(_CAUSES)
# The settings a topic's causes read from the node itself, as it runs (its release's defaults where the
# configuration sets none: the probe that reads a configuration runs the default release).
SETTINGS: dict[str, tuple[str, ...]] = {"smuggling": ("smtpd_forbid_bare_newline",
                                                      "smtpd_forbid_bare_newline_exclusions",
                                                      "smtpd_forbid_unauth_pipelining")}


def causes(topic: str, params: Params) -> list[str]:
    """The causes of `topic` ("unknown-recipients", "relay", "smuggling") the configuration's own values show; []
    for none visible, or for a topic this package knows nothing of."""
    fn = _CAUSES.get(topic)
    return fn(params) if fn is not None else []
