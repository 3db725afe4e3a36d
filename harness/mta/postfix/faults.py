"""What each fault of the catalogue means on a Postfix node: the changes it makes (`harness.faults.changes`).

    changes_for(UnknownUser("library", "jill"), node)
    -> (TableKeyGone(node='library', table='local_recipients', key='jill'),)

Called by `harness.faults.interpret` (through `PostfixNode.fault_changes`) for a fault addressed to a Postfix node; the
MTA-neutral faults (Down, Unreachable, Tarpit, Dns) are interpreted there and ask this package only how a
Postfix client gives up sooner (`client_timeout`) and how its SMTP service goes away (`smtp_off`).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Protocol

from ... import faults as F
from ...faults import FaultError
from ...faults.changes import Change, DiskFilled, File, Param, ServiceOff, TableKeyGone, TableLine
from ...pki import certificate
from .config import SMTP_SERVICE

if TYPE_CHECKING:
    from ...topology import NodeSpec
    from ..base import ClientStage


class Addressed(Protocol):
    """What interpreting a fault reads of the Postfix node it is addressed to."""

    name: str
    domain: str
    spec: NodeSpec
    # The next hops the node's client can be sent to, as keys of its TLS policy table (smtp_tls_policy_maps); empty
    # where the node has no such table of the harness's (a user's configuration): PostfixNode.tls_policy_keys.
    tls_policy_keys: tuple[str, ...]

Changes = tuple[Change, ...]

# The spool MailboxFull switches delivery to (mbox files, which mailbox_size_limit limits as a whole).
MBOX_SPOOL = "/var/spool/mh-mbox"
# Where Dovecot (containers/postfix/standins.py) keeps per-recipient quotas and the mailboxes.
DOVECOT_QUOTAS = "/etc/dovecot/mh-quota"
DOVECOT_HOMES = "/var/mail/.mh-dovecot"
# The smallest message_size_limit a server can run with and still send its own DSNs: a DSN is about 3 KB before
# the returned message (the harness's corpus of Postfix DSNs: 2.4 to 3.1 KB), and the returned text is capped by
# bounce_size_limit, which postconf(5) wants smaller than message_size_limit.
MIN_SIZE_LIMIT = 10_000
_TIMEOUTS = {"connect": "smtp_connect_timeout", "greeting": "smtp_helo_timeout"}


@functools.singledispatch
def changes_for(fault: F.Fault, node: Addressed) -> Changes:
    supported = ", ".join(sorted(c.__name__ for c in changes_for.registry if c not in (object, F.Fault)))
    raise FaultError(f"{fault.describe()}: Postfix cannot express {type(fault).__name__}; the faults it supports: "
                     f"{supported}")


def client_timeout(node: Addressed, stage: ClientStage, value: str) -> Changes:
    return (Param(node.name, _TIMEOUTS[stage], value),)


def smtp_off(node: Addressed) -> Changes:
    return (ServiceOff(node.name, SMTP_SERVICE),)


def _user(node: Addressed, fault: F.Fault, user: str) -> None:
    if user not in node.spec.mailboxes:
        users = ", ".join(node.spec.mailboxes)
        raise FaultError(f"{fault.describe()}: no user {user!r} on {node.name} (users: {users})")


@changes_for.register(F.UnknownUser)
def _(fault: F.UnknownUser, node: Addressed) -> Changes:
    return (TableKeyGone(node.name, "local_recipients", fault.user),)


@changes_for.register(F.AcceptUnknownUsers)
def _(fault: F.AcceptUnknownUsers, node: Addressed) -> Changes:
    # Postfix's own fallback: with no recipient table, the local delivery agent finds out (too late).
    return (Param(node.name, "local_recipient_maps", ""),)


@changes_for.register(F.DiskFull)
def _(fault: F.DiskFull, node: Addressed) -> Changes:
    return (Param(node.name, "maximal_queue_lifetime", fault.retry_for),
            Param(node.name, "bounce_queue_lifetime", fault.retry_for), DiskFilled(node.name))


@changes_for.register(F.QueueFull)
def _(fault: F.QueueFull, node: Addressed) -> Changes:
    return (Param(node.name, "queue_minfree", str(10**15)),)


@changes_for.register(F.MailboxFull)
def _(fault: F.MailboxFull, node: Addressed) -> Changes:
    if fault.limit <= 64:
        raise FaultError(f"{fault.describe()}: the limit must be more than 64 bytes")
    if node.spec.dovecot:
        # Dovecot delivers (a configuration's lmtp: transport): its quota plugin, for this recipient only (a
        # passwd-file userdb of one line, read at each delivery): over it, LMTP answers 552 5.2.2.
        address = fault.user if "@" in fault.user else f"{fault.user}@{node.domain}"
        local, _, domain = address.partition("@")
        # Both Dovecots read one line: 2.3 the quota rule, 2.4 (Debian 13) the storage size; each ignores the other's.
        quota = f"userdb_quota_rule=*:bytes={fault.limit} userdb_quota_storage_size={fault.limit}"
        return (File(node.name, f"{DOVECOT_QUOTAS}/{address}", text=f"{address}::5000:5000::{DOVECOT_HOMES}/"
                     f"{domain}/{local}::{quota}\n"),)
    _user(node, fault, fault.user)
    if fault.limit < MIN_SIZE_LIMIT:  # message_size_limit follows it: the 5.2.2 DSN must fit
        raise FaultError(f"{fault.describe()}: at least {MIN_SIZE_LIMIT} bytes where Postfix delivers (the limit "
                         "is also the node's message_size_limit, and its DSN must fit under it)")
    # Postfix limits a mailbox FILE (mailbox_size_limit), so for the fault the node delivers to mbox files in a
    # spool of their own, where the user's mbox is already filled up to the limit: the next message fails
    # with EFBIG, 5.2.2. (Maildir files are limited one by one, and local(8) refuses a message larger than
    # its own limit outright.)
    n = str(fault.limit)
    return (File(node.name, f"{MBOX_SPOOL}/{fault.user}", fill=fault.limit - 16, owner=fault.user,
                 directory=MBOX_SPOOL),
            Param(node.name, "mail_spool_directory", MBOX_SPOOL), Param(node.name, "mailbox_size_limit", n),
            Param(node.name, "message_size_limit", n), _bounce_size(node, fault.limit))


@changes_for.register(F.SizeLimit)
def _(fault: F.SizeLimit, node: Addressed) -> Changes:
    if fault.limit < MIN_SIZE_LIMIT:
        raise FaultError(f"{fault.describe()}: below {MIN_SIZE_LIMIT} bytes the server could not send its own "
                         "DSNs (about 3 KB before the returned text): cleanup refuses them ('bounce failed') and the "
                         "sender never hears; no server runs so. Choose a limit of at least "
                         f"{MIN_SIZE_LIMIT} and a larger message")
    return (Param(node.name, "message_size_limit", str(fault.limit)), _bounce_size(node, fault.limit))


def _bounce_size(node: Addressed, message_size_limit: int) -> Param:
    """bounce_size_limit below message_size_limit (postconf(5)), so that a DSN with its returned text fits: half
    the limit, and never more than Postfix's default (50000)."""
    return Param(node.name, "bounce_size_limit", str(min(50_000, message_size_limit // 2)))


@changes_for.register(F.Forward)
def _(fault: F.Forward, node: Addressed) -> Changes:
    _user(node, fault, fault.user)
    fault.check()
    if fault.via == "alias":
        # aliases is a texthash: table (postmap's "key value" format, no colon)
        return (TableLine(node.name, "aliases", f"{fault.user} {fault.to}"),)
    if fault.via == "virtual":
        return (TableLine(node.name, "virtual", f"{fault.user}@{node.domain} {fault.to}"),)
    return (File(node.name, f"/var/mail/{fault.user}/.forward", text=f"{fault.to}\n", owner=fault.user),)


@changes_for.register(F.Refuse)
def _(fault: F.Refuse, node: Addressed) -> Changes:
    fault.check()
    return (TableLine(node.name, "refuse", f"{fault.address} {fault.reply}"),)


@changes_for.register(F.BareNewlineAccepted)
def _(fault: F.BareNewlineAccepted, node: Addressed) -> Changes:
    # Postfix < 3.9's default (and the only behaviour before 3.5.23/3.6.13/3.7.9/3.8.4): a bare <LF> ends a line,
    # and "." on such a line ends the data. Clients in smtpd_forbid_bare_newline_exclusions are treated so anyway.
    return (Param(node.name, "smtpd_forbid_bare_newline", "no"),)


@changes_for.register(F.TlsPolicy)
def _(fault: F.TlsPolicy, node: Addressed) -> Changes:
    # Every level Postfix names; the client trusts the topology's CA (smtp_tls_CAfile, containers/postfix/main.cf).
    # The level for each next hop in the policy table: a change the client picks up without a reload (main.cf
    # says how; a reload costs the node about 130 ms of CPU, every daemon started again). Without the table, the
    # client's level itself.
    if node.tls_policy_keys:
        return tuple(TableLine(node.name, "tls_policy", f"{key} {fault.level}") for key in node.tls_policy_keys)
    return (Param(node.name, "smtp_tls_security_level", fault.level),)


@changes_for.register(F.NoStartTLS)
def _(fault: F.NoStartTLS, node: Addressed) -> Changes:
    return (Param(node.name, "smtpd_tls_security_level", "none"),)


@changes_for.register(F.BadCertificate)
def _(fault: F.BadCertificate, node: Addressed) -> Changes:
    # The node's key is the same for every kind (harness.pki): only the certificate changes.
    return (Param(node.name, "smtpd_tls_cert_file", certificate(fault.kind)),)


@changes_for.register(F.SaslLogin)
def _(fault: F.SaslLogin, node: Addressed) -> Changes:
    fault.check()
    # A static: table answers every next hop with the one login; noanonymous (without noplaintext, Postfix's
    # default) lets PLAIN and LOGIN go, in clear or over TLS: the TLS policy alone decides (as on a satellite).
    return (Param(node.name, "smtp_sasl_auth_enable", "yes"),
            Param(node.name, "smtp_sasl_password_maps", f"static:{fault.user}:{fault.password}"),
            Param(node.name, "smtp_sasl_security_options", "noanonymous"),
            Param(node.name, "smtp_sasl_tls_security_options", "noanonymous"))


@changes_for.register(F.QueueLifetime)
def _(fault: F.QueueLifetime, node: Addressed) -> Changes:
    return (Param(node.name, "maximal_queue_lifetime", fault.lifetime),
            Param(node.name, "bounce_queue_lifetime", fault.lifetime),
            Param(node.name, "delay_warning_time", fault.delay_warning))
