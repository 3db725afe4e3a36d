"""What each fault of the catalogue means on an Exim node: the changes it makes (`harness.faults.changes`), each
meaning what it means on Postfix (harness.mta.postfix.faults).

The baseline configuration (containers/exim/configure, its README) reads what faults change from files under
/etc/exim4/mh/, at the moment it uses them, so most faults need no restart:

- tables (lsearch, "key value" a line): `users` (the local mailboxes), `aliases` (local part -> address),
  `virtual` (address -> address), `refuse` (a recipient address or domain -> the reply RCPT gets), `quota` (local
  part -> the Maildir's quota);
- files: `accept_unknown` (a flag: RCPT does not verify the recipient), `size_limit` (message_size_limit);
- macros (`settings`, "NAME = value" lines, read when an exim process starts: a change restarts the daemon): the
  retry rule, the spool space check, the listening interfaces, the client's time-outs, TLS (what the server offers
  and presents, the client's policy) (`Param` names the macro).
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Protocol

from ... import faults as F
from ...faults import FaultError
from ...faults.changes import Change, DiskFilled, File, Param, TableKeyGone, TableLine

if TYPE_CHECKING:
    from ...topology import NodeSpec
    from ..base import ClientStage

MH = "/etc/exim4/mh"
ACCEPT_UNKNOWN = f"{MH}/accept_unknown"
SIZE_LIMIT_FILE = f"{MH}/size_limit"
# Macros the baseline configure gives a default with `.ifndef` after including the settings file.
RETRY = "MH_RETRY"  # the retry rule of every error but quota: "F,1h,1s"
FROZEN_FOR = "MH_TIMEOUT_FROZEN_AFTER"
BOUNCE_ERRORS_FOR = "MH_IGNORE_BOUNCE_ERRORS_AFTER"
DELAY_WARNING = "MH_DELAY_WARNING"
SPOOL_SPACE = "MH_CHECK_SPOOL_SPACE"
INTERFACES = "MH_LOCAL_INTERFACES"
# TLS (the configure's MH_TLS_* macros): what the server offers and presents, the client's host lists per level.
TLS_ADVERTISE = "MH_TLS_ADVERTISE"
TLS_CERTIFICATE = "MH_TLS_CERTIFICATE"
_NO_HOST, _EVERY_HOST = "!*", "*"
# The client's login (SaslLogin): what the configure's authenticators send, and the hosts that must get it.
AUTH_USER, AUTH_PASSWORD, AUTH_REQUIRE = "MH_AUTH_USER", "MH_AUTH_PASSWORD", "MH_AUTH_REQUIRE"
# The macros only the baseline's TLS settings, smtp transport and authenticators read (a user's configure has its
# own, which containers/exim/user-config.py leaves as they are).
_BASELINE_ONLY = frozenset({TLS_ADVERTISE, TLS_CERTIFICATE, "MH_TLS_AVOID", "MH_TLS_REQUIRE", "MH_TLS_VERIFY",
                            AUTH_USER, AUTH_PASSWORD, AUTH_REQUIRE})
# TlsPolicy's levels as the smtp transport's host lists: (hosts_avoid_tls, hosts_require_tls, tls_verify_hosts).
# Exim checks a certificate's name against the MX host's name (tls_verify_cert_hostnames), as Postfix's verify
# does: it has no form of Postfix's secure (a name under the next hop's domain).
TLS_LEVELS = {"none": (_EVERY_HOST, _NO_HOST, _NO_HOST), "may": (_NO_HOST, _NO_HOST, _NO_HOST),
              "encrypt": (_NO_HOST, _EVERY_HOST, _NO_HOST), "verify": (_NO_HOST, _EVERY_HOST, _EVERY_HOST)}
FILL_FOLDER = ".mh-fill"
_TIMEOUTS = {"connect": "MH_CONNECT_TIMEOUT", "greeting": "MH_COMMAND_TIMEOUT"}
# A message that cannot carry its own bounce would be pointless: the same floor as on Postfix.
MIN_SIZE_LIMIT = 10_000


class EximAddressed(Protocol):
    """What interpreting a fault reads of the Exim node it is addressed to."""

    name: str
    domain: str
    spec: NodeSpec


Changes = tuple[Change, ...]


def exim_time(value: str) -> str:
    """A time as faults give it ("2s", "1h", "0") in Exim's form ("0s" for a bare number of seconds)."""
    v = value.strip()
    if re.fullmatch(r"\d+", v):
        return f"{v}s"
    if not re.fullmatch(r"(\d+[wdhms])+", v):
        raise FaultError(f"{value!r} is not a time Exim can read (such as 2s, 1h, 1h30m)")
    return v


@functools.singledispatch
def changes_for(fault: F.Fault, node: EximAddressed) -> Changes:
    supported = ", ".join(sorted(c.__name__ for c in changes_for.registry if c not in (object, F.Fault)))
    raise FaultError(f"{fault.describe()}: Exim cannot express {type(fault).__name__}; the faults it supports: "
                     f"{supported}")


def client_timeout(node: EximAddressed, stage: ClientStage, value: str) -> Changes:
    return (Param(node.name, _TIMEOUTS[stage], exim_time(value)),)


def smtp_off(node: EximAddressed) -> Changes:
    # The daemon listens on loopback only: connections from the topology are refused at once, the host stays up.
    return (Param(node.name, INTERFACES, "127.0.0.1"),)


def _user(node: EximAddressed, fault: F.Fault, user: str) -> None:
    if user not in node.spec.mailboxes:
        raise FaultError(f"{fault.describe()}: no user {user!r} on {node.name} (users: "
                         f"{', '.join(node.spec.mailboxes)})")


@changes_for.register(F.UnknownUser)
def _(fault: F.UnknownUser, node: EximAddressed) -> Changes:
    return (TableKeyGone(node.name, "users", fault.user),)


@changes_for.register(F.AcceptUnknownUsers)
def _(fault: F.AcceptUnknownUsers, node: EximAddressed) -> Changes:
    # Exim's form of the mistake: RCPT accepted without `verify = recipient`; routing finds out after acceptance.
    return (File(node.name, ACCEPT_UNKNOWN, text="accept unknown recipients\n"),)


@changes_for.register(F.DiskFull)
def _(fault: F.DiskFull, node: EximAddressed) -> Changes:
    return (Param(node.name, RETRY, retry_rule(fault.retry_for)), DiskFilled(node.name))


@changes_for.register(F.QueueFull)
def _(fault: F.QueueFull, node: EximAddressed) -> Changes:
    # check_spool_space above what any disk has: Exim refuses MAIL with 452 (it cannot take the message).
    return (Param(node.name, SPOOL_SPACE, "1000000G"),)


@changes_for.register(F.MailboxFull)
def _(fault: F.MailboxFull, node: EximAddressed) -> Changes:
    if fault.limit <= 64:
        raise FaultError(f"{fault.describe()}: the limit must be more than 64 bytes")
    if node.spec.dovecot:
        raise FaultError(f"{fault.describe()}: a Dovecot quota on an Exim node is not modelled yet; Exim's own "
                         "quota (appendfile) is, where Exim delivers into the Maildir itself")
    _user(node, fault, fault.user)
    # appendfile's quota for this user (read at each delivery), with the Maildir already holding the limit in a
    # folder of its own, which Exim's quota counts (maildir_quota_directory_regex: cur, new and .folders) and the
    # harness's mailbox readers do not (new and cur; files named .mh-fill*): the next message is over the quota,
    # and the retry rule for quota errors fails it at once (as Postfix bounces). The quota in force is the user's
    # first line (lsearch), the first such fault still applied: each fault's limit is a file of its own, so the
    # folder holds at least that quota whichever are applied, in whichever order. The folder goes with the last.
    folder = f"/var/mail/{fault.user}/{FILL_FOLDER}/cur"
    return (TableLine(node.name, "quota", f"{fault.user}: {fault.limit}"),
            File(node.name, f"{folder}/.mh-fill-{fault.limit}", fill=fault.limit, owner=fault.user, directory=folder))


@changes_for.register(F.SizeLimit)
def _(fault: F.SizeLimit, node: EximAddressed) -> Changes:
    if fault.limit < MIN_SIZE_LIMIT:
        raise FaultError(f"{fault.describe()}: below {MIN_SIZE_LIMIT} bytes the server could not send its own "
                         f"bounces; choose a limit of at least {MIN_SIZE_LIMIT} and a larger message")
    return (File(node.name, SIZE_LIMIT_FILE, text=str(fault.limit)),)


@changes_for.register(F.Forward)
def _(fault: F.Forward, node: EximAddressed) -> Changes:
    _user(node, fault, fault.user)
    fault.check()
    if fault.via == "alias":
        return (TableLine(node.name, "aliases", f"{fault.user}: {fault.to}"),)
    if fault.via == "virtual":
        return (TableLine(node.name, "virtual", f"{fault.user}@{node.domain}: {fault.to}"),)
    return (File(node.name, f"/var/mail/{fault.user}/.forward", text=f"{fault.to}\n", owner=fault.user),)


@changes_for.register(F.Refuse)
def _(fault: F.Refuse, node: EximAddressed) -> Changes:
    fault.check()
    return (TableLine(node.name, "refuse", f"{fault.address.lower()}: {fault.reply}"),)


@changes_for.register(F.TlsPolicy)
def _(fault: F.TlsPolicy, node: EximAddressed) -> Changes:
    lists = TLS_LEVELS.get(fault.level)
    if lists is None:
        raise FaultError(f"{fault.describe()}: Exim cannot express the level {fault.level!r} (its smtp transport "
                         "checks a certificate's name against the MX host's name only, Postfix's verify); the levels "
                         f"it supports: {', '.join(TLS_LEVELS)}")
    return tuple(Param(node.name, f"MH_TLS_{name}", value)
                 for name, value in zip(("AVOID", "REQUIRE", "VERIFY"), lists, strict=True))


@changes_for.register(F.NoStartTLS)
def _(fault: F.NoStartTLS, node: EximAddressed) -> Changes:
    return (Param(node.name, TLS_ADVERTISE, _NO_HOST),)


@changes_for.register(F.BadCertificate)
def _(fault: F.BadCertificate, node: EximAddressed) -> Changes:
    # The node's key is the same for every kind (harness.pki): only the certificate file changes.
    return (Param(node.name, TLS_CERTIFICATE, fault.kind),)


@changes_for.register(F.SaslLogin)
def _(fault: F.SaslLogin, node: EximAddressed) -> Changes:
    fault.check()
    # The configure's client authenticators (PLAIN, LOGIN) send these; the smtp transport requires a login from
    # every host (hosts_require_auth): a next hop that offers no AUTH defers the message.
    return (Param(node.name, AUTH_USER, fault.user), Param(node.name, AUTH_PASSWORD, fault.password),
            Param(node.name, AUTH_REQUIRE, _EVERY_HOST))


@changes_for.register(F.QueueLifetime)
def _(fault: F.QueueLifetime, node: EximAddressed) -> Changes:
    # One "delayed" DSN, as on Postfix (delay_warning_time): Exim's delay_warning is a list of times whose last
    # interval repeats (a single "1s" would warn every second), so a second time a year later keeps it to one.
    warn = "0s" if fault.delay_warning.strip() in ("0", "0s", "") else f"{exim_time(fault.delay_warning)}:52w"
    return (Param(node.name, RETRY, retry_rule(fault.lifetime)),
            Param(node.name, BOUNCE_ERRORS_FOR, exim_time(fault.lifetime)),
            Param(node.name, DELAY_WARNING, warn))


def on_user_config(fault: F.Fault, changes: Changes) -> None:
    """FaultError when `fault` cannot act on a user's configuration: a user's configure reads the macros of
    /etc/exim4/mh/settings (the retry rule, the spool space check, the listening interfaces, time-outs) and the
    size_limit file, through the harness's overrides (containers/exim/user-config.py), but none of the harness's
    tables or flags: those would mean rewriting the ACLs and routers being judged."""
    client = sorted({c.name for c in changes if isinstance(c, Param) and c.name in _BASELINE_ONLY})
    if client:
        raise FaultError(f"{fault.describe()}: not on a user's Exim configuration: its own TLS settings, smtp "
                         f"transports and authenticators say what it offers, its TLS policy and its login "
                         f"({', '.join(client)} are the harness's baseline's macros), and they are what is judged")
    bad = [c for c in changes if not (isinstance(c, (Param, DiskFilled))
                                      or isinstance(c, File) and c.path == SIZE_LIMIT_FILE)]
    if bad:
        raise FaultError(f"{fault.describe()}: not on a user's Exim configuration: it would need the harness's own "
                         f"routers and ACLs ({', '.join(sorted({type(c).__name__ for c in bad}))}), and your "
                         "configuration's are what is judged; the faults that apply to it: DiskFull, QueueFull, "
                         "QueueLifetime, SizeLimit, and the network's (Down, Unreachable, Tarpit, Dns)")


def retry_rule(lifetime: str) -> str:
    """Exim's retry rule for a message kept `lifetime`: retried every second, then bounced. "0s": no times at all,
    a rule that fails the address at its first temporary failure (Exim's spec, "Retry rules"), as Postfix's
    maximal_queue_lifetime = 0 does (F,1s,1s would retry twice first: the time is exceeded only once a failure
    comes more than 1 s after the first, at the third attempt with retries every second)."""
    t = exim_time(lifetime)
    return "" if re.fullmatch(r"0+[wdhms]", t) else f"F,{t},1s"
