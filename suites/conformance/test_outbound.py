"""Requirements on a server that sends through a relayhost (a null client, a satellite, an application host).

Mail is submitted inside the node with its MTA's sendmail, as an application there does. The relayhost is stood in
for by the mock node "relayhost", which answers for the relayhost's name and port, offers STARTTLS, and requires
the login the configuration's smtp_sasl_password_maps hold (AUTH only after STARTTLS). What it received is read
from its records; what the server did, from the server's log.
"""

from __future__ import annotations

import dataclasses

from harness import DsnEnvelope, assert_dsn, evidence
from harness.dsn.assertions import ANY
from harness.evidence.events import MailTimeout
from harness.mail import parse_message
from harness.mock import MessageRecord, Script, rule, step
from harness.nodes.mock import MockNode
from harness.sent import Sent
from harness.sut.byoc import RELAYHOST_NODE
from harness.sut.conformance import Target, not_applicable, not_judged, requirement

from . import refuses_relay

APP = "app"  # the application's sender, unqualified: the server qualifies it (myorigin)
CUSTOMER = "customer@example.net"  # a recipient in no domain of the topology: only the relayhost takes its mail
HINT_ROUTE = ("relayhost must name the smarthost (in brackets to skip the MX lookup: [host]:587); with "
              "smtp_sasl_auth_enable = yes, smtp_sasl_password_maps must hold user:password for exactly that "
              "relayhost string, and libsasl2-modules must be installed")


def relay(mta: Target) -> MockNode:
    assert mta.outbound.host  # N/A without a relayhost; NOT JUDGED when it cannot be stood in for
    return mta.world.mock(RELAYHOST_NODE)


def sender(mta: Target) -> str:
    """The envelope sender the server should give an unqualified application sender: APP@myorigin."""
    return f"{APP}@{mta.outbound.origin}" if mta.outbound.origin else APP


def received(mta: Target, stand_in: MockNode, what: str, *, n: int = 1, timeout: float = 30.0,
             ) -> tuple[MessageRecord, ...]:
    """Wait for `n` messages at the stand-in relayhost; on time-out say what it saw and what the server logged."""
    try:
        return stand_in.wait_for_messages(n, timeout=timeout)
    except MailTimeout as exc:
        sessions = "\n".join(f"  session {s.id}: " + " | ".join(s.commands[:8]) for s in stand_in.sessions[-4:])
        tail = "\n".join(mta.world.report().splitlines()[-25:])
        raise AssertionError(f"expected: {what} at the stand-in relayhost ({mta.outbound.relayhost}); it saw "
                             f"{len(stand_in.messages)} message(s) in {len(stand_in.sessions)} session(s)\n"
                             f"{sessions or '  no session'}\n{exc}\nlast log lines:\n{tail}") from None


def submit(mta: Target, rcpt: str = CUSTOMER) -> Sent:
    sent = mta.world.submit(mta.node, APP, rcpt, subject="order confirmation")
    assert sent.accepted, sent.transcript.render()
    return sent


def never_clear(stand_in: MockNode) -> None:
    """No AUTH command ever reached the stand-in outside TLS (the password never travelled in clear)."""
    for s in stand_in.sessions:
        tls = False
        for line in s.transcript:
            tls = tls or (line.who == "note" and line.text.startswith("TLS started"))
            assert not (line.who == "client" and line.text.upper().startswith("AUTH") and not tls), \
                f"AUTH sent in clear in session {s.id}: {s.commands}"


@requirement("RFC 6409 s4 and s8, RFC 4954 s4 (AUTH only over TLS)", HINT_ROUTE)
def test_outbound_mail_reaches_the_relayhost(mta: Target) -> None:
    """Mail an application submits goes to the relayhost, with the sender qualified by myorigin, over TLS and
    with the configured login when the configuration asks for them; never directly to the recipient's MX."""
    stand_in = relay(mta)
    if mta.outbound.verifies:
        not_judged(f"smtp_tls_security_level = {mta.outbound.tls}: the server must verify the relayhost's "
                   "certificate, and the stand-in's is self-signed (the topology has no CA the node trusts yet)")
    sent = submit(mta)

    [msg] = received(mta, stand_in, f"the message to {CUSTOMER}")
    assert msg.recipients == (CUSTOMER,) and msg.mail_from == sender(mta), (msg.mail_from, msg.recipients)
    assert parse_message(msg.data)["Message-ID"] == sent.message["Message-ID"]
    if mta.outbound.tls_required:
        assert msg.tls, "smtp_tls_security_level requires TLS, and the message came in clear"
    if mta.outbound.login is not None:
        assert msg.login == mta.outbound.login[0], f"authenticated as {msg.login!r}"
    never_clear(stand_in)


@requirement("RFC 6409 s3.3 and s4 (a trusted client submits); RFC 5321 s3.9", HINT_ROUTE + "; applications "
             "that speak SMTP to localhost need it in mynetworks, and permit_mynetworks in smtpd_relay_restrictions")
def test_outbound_mail_from_mynetworks_reaches_the_relayhost(mta: Target) -> None:
    """An application on the host that speaks SMTP to 127.0.0.1 (a client in mynetworks) has its mail relayed to
    the relayhost, like mail submitted with sendmail."""
    stand_in = relay(mta)
    if not mta.outbound.local_clients:
        not_applicable("mynetworks does not hold the host's own loopback address: applications on the host submit "
                       "with sendmail only")
    if mta.outbound.verifies:
        not_judged(f"smtp_tls_security_level = {mta.outbound.tls}: the stand-in's certificate is self-signed")
    sent = mta.world.submit(mta.node, sender(mta), CUSTOMER, subject="password reset", over="smtp")
    assert sent.accepted, sent.transcript.render()

    [msg] = received(mta, stand_in, f"the message to {CUSTOMER}, submitted over SMTP from 127.0.0.1")
    assert msg.recipients == (CUSTOMER,) and msg.mail_from == sender(mta), (msg.mail_from, msg.recipients)
    assert parse_message(msg.data)["Message-ID"] == sent.message["Message-ID"]
    never_clear(stand_in)


@requirement("RFC 5321 s4.5.4.1 (retry), RFC 3461 s4.1 (no failure DSN for a delay)",
             "a 4xx from the relayhost is a deferral: keep maximal_queue_lifetime at days, and do not turn 4xx "
             "into bounces (no soft_bounce tricks, no smtp_skip_4xx_greeting changes)")
def test_outbound_a_temporary_failure_at_the_relayhost_is_retried_without_a_dsn(mta: Target) -> None:
    """The relayhost answers 451 twice: the server keeps the message, tries again, delivers it on the third try,
    and sends no DSN meanwhile."""
    stand_in = relay(mta)
    if mta.outbound.verifies:
        not_judged(f"smtp_tls_security_level = {mta.outbound.tls}: the stand-in's certificate is self-signed")
    stand_in.script = stand_in.script.add(rule("rcpt", step("451 4.3.2 Try again later", times=2),
                                               match=CUSTOMER))
    submit(mta)

    [msg] = received(mta, stand_in, f"the message to {CUSTOMER} after two 451s", timeout=60)
    refused = [r for s in stand_in.sessions for r in s.replies if r.startswith("451 4.3.2")]
    assert len(refused) == 2, f"the relayhost answered 451 {len(refused)} times, expected 2: the fault did not bite"
    assert msg.recipients == (CUSTOMER,)
    mta.world.sync_logs()
    dsns = [m for m in stand_in.messages if m.mail_from == ""]
    assert not dsns, f"a DSN was sent for a temporary failure: {[m.recipients for m in dsns]}"


@requirement("RFC 5321 s6.1 (it accepted: it owns the DSN), RFC 3464 s2; DSN checklist ENV-2, ENV-3",
             "the DSN goes to the envelope sender as myorigin qualifies it: myorigin must be a domain whose mail "
             "reaches someone (the relayhost routes it), and the null sender must not be rewritten")
def test_outbound_a_permanent_failure_at_the_relayhost_is_bounced_to_the_sender(mta: Target) -> None:
    """The relayhost refuses the recipient (550 5.1.1) after the server took the message: the server sends a
    compliant DSN, from the null sender, to the envelope sender, through the relayhost."""
    stand_in = relay(mta)
    if mta.outbound.verifies:
        not_judged(f"smtp_tls_security_level = {mta.outbound.tls}: the stand-in's certificate is self-signed")
    served = [r for r in (mta.info.recipients if mta.info else ()) if r.endswith("@" + mta.outbound.origin)]
    if served:
        not_judged(f"the senders' domain ({mta.outbound.origin}, myorigin) is served here ({served[0]}): the DSN "
                   "stays on this server, and the harness reads DSNs at the stand-in relayhost only")
    stand_in.script = stand_in.script.add(rule("rcpt", f"550 5.1.1 <{CUSTOMER}>: Recipient unknown",
                                               match=CUSTOMER))
    sent = submit(mta)

    [bounce] = received(mta, stand_in, f"a DSN to {sender(mta)}", timeout=30)
    refused = [s for s in stand_in.sessions if any(r.startswith("550 5.1.1") for r in s.replies)]
    assert refused, "the relayhost never refused the recipient: the fault did not bite"
    assert bounce.mail_from == "", f"the DSN's envelope sender is {bounce.mail_from!r}, not the null sender"
    assert bounce.recipients == (sender(mta),), f"the DSN went to {bounce.recipients}, not {sender(mta)}"
    envelope = dataclasses.replace(sent.original_envelope(), mail_from=sender(mta))
    assert_dsn(parse_message(bounce.data), action="failed", status="5.1.1", recipient=CUSTOMER, remote_mta=ANY,
               envelope=envelope, dsn_envelope=DsnEnvelope("", bounce.recipients), profile="postfix")


@requirement("RFC 3207 s4 and s6 (a required TLS is never skipped); Postfix TLS_README (encrypt)",
             "keep smtp_tls_security_level = encrypt (or verify/secure) where the relayhost must only be reached "
             "over TLS; never add a fallback to plain text for it")
def test_outbound_nothing_goes_in_clear_when_tls_is_required(mta: Target) -> None:
    """The relayhost stops offering STARTTLS: a server whose policy requires TLS defers the message and sends
    neither the message nor its password in clear."""
    stand_in = relay(mta)
    if not mta.outbound.tls_required:
        not_applicable(f"smtp_tls_security_level = {mta.outbound.tls or 'none'}: TLS to the relayhost is not "
                       "required, so mail in clear is what the configuration allows")
    stand_in.script = Script(logins=stand_in.script.logins)  # STARTTLS no longer offered
    sent = submit(mta)

    deferred = mta.world.wait_log(
        lambda e: any(d.status == "deferred" for d in evidence.deliveries([e], mta.node)),
        timeout=30, what=f"{mta.node} deferring the message (TLS required, not offered)")
    assert sent.message["Message-ID"], deferred.line
    mta.world.sync_logs()
    commands = [c for s in stand_in.sessions for c in s.commands]
    assert stand_in.sessions, "the server never tried the relayhost: nothing shows the policy held"
    assert not [c for c in commands if c.upper().startswith(("MAIL", "AUTH", "DATA"))], \
        f"the server went on in clear: {commands}"
    assert not stand_in.messages


@requirement("RFC 5321 s3.9 and s7.1 (no open relay)",
             "an outbound-only server listens on loopback only (inet_interfaces = loopback-only), or refuses to "
             "relay for clients outside mynetworks (smtpd_relay_restrictions ending with reject_unauth_destination)")
def test_outbound_an_outbound_only_server_takes_no_mail_from_outside(mta: Target) -> None:
    """A client outside the node cannot have it send mail: it cannot connect, or its recipient is refused."""
    assert mta.outbound.relayhost  # applies to servers that send through a relayhost (N/A otherwise)
    sent = mta.world.send(mta.sender, CUSTOMER, via=mta.node)

    if mta.listens:
        assert refuses_relay(sent.transcript), sent.transcript.render()
    else:
        failure = sent.transcript.failure
        assert failure is not None and failure.stage == "CONNECT", sent.transcript.render()
    assert not sent.accepted
