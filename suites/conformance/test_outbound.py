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


def certificate_judged(mta: Target) -> None:
    """NOT JUDGED where the policy towards the relayhost must verify its certificate, which no stand-in can meet:
    DANE needs TLSA records that DNSSEC validates, and the topology's DNS validates none (RFC 7672 s2.2); verify and
    secure need a certificate issued by a CA the configuration trusts, and the stand-in's is issued by the
    topology's own CA, which it does not name (a fingerprint pins the real relayhost's)."""
    relay = mta.outbound
    if not relay.verifies:
        return
    said = relay.tls_said or f"smtp_tls_security_level = {relay.tls}"
    if relay.tls.startswith("dane"):
        not_judged(f"{said}: the relayhost's certificate is checked against its TLSA records, and the topology's DNS "
                   "validates no DNSSEC, so no TLSA record can be trusted here (RFC 7672 s2.2: only validated records "
                   "are usable). Judge DANE where DNSSEC validation works (posttls-finger -c -l dane "
                   f"'{relay.relayhost}'), and this configuration's other requirements here with encrypt for the "
                   "relayhost (an smtp_tls_policy_maps entry in a copy)")
    not_judged(f"{said}: the server must verify the relayhost's certificate, and the stand-in's is issued by the "
               "topology's own CA, which this configuration does not trust (smtp_tls_CAfile; a fingerprint pins the "
               "real relayhost's). Judge the rest with encrypt for the relayhost (an smtp_tls_policy_maps entry in a "
               f"copy), and the certificate with posttls-finger -c -l {relay.tls} '{relay.relayhost}' against the "
               "real one")


def never_clear(stand_in: MockNode) -> None:
    """No AUTH command ever reached the stand-in outside TLS (the password never travelled in clear)."""
    for s in stand_in.sessions:
        assert not s.before_tls("AUTH"), f"AUTH sent in clear in session {s.id}: {list(s.commands_shown)}"


@requirement("RFC 6409 s4 and s8, RFC 4954 s4 (AUTH only over TLS)", HINT_ROUTE)
def test_outbound_mail_reaches_the_relayhost(mta: Target) -> None:
    """Mail an application submits goes to the relayhost, with the sender qualified by myorigin, over TLS and
    with the configured login when the configuration asks for them; never directly to the recipient's MX."""
    stand_in = relay(mta)
    certificate_judged(mta)
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
    certificate_judged(mta)
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
    certificate_judged(mta)
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
    certificate_judged(mta)
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


@requirement("RFC 3207 s4 and s6 (a client that requires TLS does not go on without it: a man in the middle can take "
             "STARTTLS away); RFC 8461 s5 and RFC 7672 s2.2 (MTA-STS and DANE make TLS mandatory the same way); "
             "RFC 4954 s4 (no password in clear)",
             "keep smtp_tls_security_level = encrypt (or verify, secure, dane-only) where the relayhost must only be "
             "reached over TLS, or an smtp_tls_policy_maps entry for it whose key is the next hop exactly as "
             "relayhost writes it ([smtp.example]:587, brackets and port included): Postfix looks the policy up by "
             "that string; never add a fallback to plain text for it")
def test_outbound_nothing_goes_in_clear_when_tls_is_required(mta: Target) -> None:
    """The relayhost stops offering STARTTLS (and offers AUTH in clear, as a man in the middle would): a server
    whose policy requires TLS for it (smtp_tls_security_level, or an smtp_tls_policy_maps entry for it) defers the
    message, and sends neither the message nor its password in clear."""
    stand_in = relay(mta)
    policy = mta.outbound
    if policy.tls in ("dane", "dane-only"):
        said = policy.tls_said or f"smtp_tls_security_level = {policy.tls}"
        why = ("opportunistic DANE requires TLS only where the relayhost's TLSA records are DNSSEC-validated, and "
               "without them acts as may: here it would send in clear what your relayhost's real, signed TLSA "
               "records may forbid" if policy.tls == "dane" else
               "dane-only defers every message here before it even connects (no TLSA record can be validated), "
               "so what it does when STARTTLS goes missing cannot be seen")
        not_judged(f"{said}: the topology's DNS validates no DNSSEC (RFC 7672 s2.2: only validated TLSA records are "
                   f"usable); {why}. Judge DANE where DNSSEC validation works (posttls-finger -c -l dane "
                   f"'{policy.relayhost}'), or pin the relayhost with encrypt, verify or secure in "
                   "smtp_tls_policy_maps, which the harness judges")
    if not policy.tls_intended:
        not_applicable(f"{policy.tls_said or 'smtp_tls_security_level = ' + (policy.tls or 'none')}: TLS to the "
                       "relayhost is not required, so mail in clear is what the configuration allows")
    stand_in.script = Script(logins=stand_in.script.logins, auth_in_clear=True)  # STARTTLS no longer offered
    sent = submit(mta)

    seen = mta.world.wait_log(
        lambda e: any(d.status in ("deferred", "sent", "bounced") for d in evidence.deliveries([e], mta.node)),
        timeout=30, what=f"{mta.node} deferring the message (TLS required, not offered) or sending it")
    assert sent.message["Message-ID"], seen.line
    mta.world.sync_logs()
    if not stand_in.sessions:
        not_judged(f"{mta.node} deferred the message without trying the relayhost ({seen.line}): nothing shows "
                   "what its policy does when STARTTLS goes missing")
    required = policy.tls_said if policy.tls_required else policy.tls_stated_said
    in_clear = [f"session {s.id}: {' | '.join(s.commands_shown)}" for s in stand_in.sessions
                if s.before_tls("AUTH", "MAIL", "DATA")]
    assert not in_clear and not stand_in.messages, (
        f"expected: the message deferred, nothing sent in clear to the relayhost that lost STARTTLS ({required}); "
        f"got: {len(stand_in.messages)} message(s) received in clear"
        + (f", as {stand_in.messages[0].login}" if stand_in.messages and stand_in.messages[0].login else "")
        + "\n  " + "\n  ".join(in_clear) + f"\n{mta.node} logged: {seen.line}")


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
