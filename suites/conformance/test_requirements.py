"""Requirements on a mail server, each with its RFC and, when it fails, the usual cause in a Postfix configuration
(Exim's causes and hints come from its package: harness.mta.exim.causes).

`mta` is the server under test: the default topology's library.example, or your configuration in its place.
jack@store.example (a real Postfix next door) is the sender whose mailbox receives the bounces.
"""

from __future__ import annotations

from email.message import EmailMessage

from harness import DSN, DiskFull, MailboxFull, Refuse, assert_dsn, parse_dsn
from harness.dsn.assertions import ANY
from harness.sut.conformance import Target, not_applicable, not_judged, requirement

from .. import dsn_profile, status_or_undefined
from . import refuses_relay

RECIPIENT_HINT = ("local_recipient_maps is empty or missing a table (Postfix then accepts any local part and "
                  "bounces later); for relay domains set relay_recipient_maps; keep "
                  "smtpd_reject_unlisted_recipient = yes")


@requirement("RFC 5321 s6.2; DSN checklist ENV-8", RECIPIENT_HINT, causes="unknown-recipients")
def test_rejects_unknown_recipients_at_rcpt(mta: Target) -> None:
    """An unknown recipient is refused during the dialogue (550 5.1.1 at RCPT), not accepted and bounced."""
    sent = mta.world.send(mta.sender, mta.unknown_recipient, via=mta.node)

    story = sent.verdict()
    story.assert_rejected_by(mta.node, stage="RCPT", code=550)


@requirement("RFC 5321 s6.2, RFC 3464 s2 (backscatter); DSN checklist ENV-8", RECIPIENT_HINT,
             causes="unknown-recipients")
def test_no_backscatter_to_a_forged_sender(mta: Target) -> None:
    """Mail with a forged sender (a third party's address) to an unknown user never produces a bounce to that
    third party."""
    victim = "jill@example.edu"
    sent = mta.world.send(victim, mta.unknown_recipient, via=mta.node)

    story = sent.verdict()
    assert not story.delivered_to(mta.unknown_recipient), story  # the recipient is unknown: nothing was delivered
    story.assert_no_backscatter()
    story.assert_no_dsn(mta.node)


@requirement("RFC 5321 s4.1.1.3", "the recipient's domain must be in mydestination, virtual_*_domains or "
                                  "relay_domains, and the recipient in the matching table")
def test_accepts_mail_for_a_known_recipient(mta: Target) -> None:
    """A known recipient's mail is accepted and delivered (or passed on) without any DSN."""
    rcpt = mta.known_recipient()
    sent = mta.world.send(mta.sender, rcpt, via=mta.node)

    assert sent.accepted, sent.transcript.render()
    story = sent.verdict()
    assert any(h.kind in ("delivered", "relayed", "forwarded") for h in story.hops), story.render()
    story.assert_no_dsn()


def reported(dsn: EmailMessage, mta: Target, rcpt: str) -> str:
    """The address a DSN about `rcpt` names: `rcpt` itself, or, after an alias, the address its mail ended at
    (RFC 3464 s2.3.2: Final-Recipient is the one the failure was about; Original-Recipient is optional)."""
    parsed = parse_dsn(dsn)
    named = isinstance(parsed, DSN) and parsed.recipient(rcpt) is not None  # not a DSN: assert_dsn says so
    return rcpt if named else mta.final_address(rcpt)


def fail_after_acceptance(mta: Target) -> tuple[str, str]:
    """A known recipient whose delivery will fail once this server accepted it, and the next hop that refuses it
    ("" when the failure is a full mail disk here): the failure that fits where the recipient's mail ends."""
    rcpt, next_hop = mta.failing_delivery()
    if next_hop:  # relayed: the next hop refuses the message after this server accepted it
        mta.world.apply(Refuse(next_hop, mta.final_address(rcpt), "550 5.1.1 Recipient refused by the next hop"))
    else:
        mta.world.apply(DiskFull(mta.node))
    return rcpt, next_hop


@requirement("RFC 5321 s6.1 (it accepted: it owns the DSN), RFC 3461 s6.1, RFC 3464 s2; DSN checklist ENV-2, "
             "ENV-3, ENV-6", "a DSN must go to the envelope sender: check sender_canonical_maps, "
             "header_checks and bounce_notice_recipient; keep notify_classes sane")
def test_bounces_to_the_envelope_sender_when_delivery_fails_after_acceptance(mta: Target) -> None:
    """After acceptance a delivery fails: the server sends a compliant DSN to the ENVELOPE sender, never to the
    header From:. The failure fits where the recipient's mail ends: a full mail disk where it is stored here, a
    refusal by the next hop where it is relayed."""
    rcpt, next_hop = fail_after_acceptance(mta)
    sent = mta.world.send(mta.sender, rcpt, via=mta.node,
                          headers={"From": "Someone Else <someone.else@example.edu>"})

    story = sent.verdict()
    story.assert_accepted_by(mta.node)
    dsn = story.bounced_by(mta.node, to=mta.sender)
    assert dsn["To"] and mta.sender in str(dsn["To"]), f"the DSN's To: is {dsn['To']!r}"
    assert dsn["Return-Path"] == "<>", "a DSN is sent with a null reverse-path"
    # Delivered by this server itself: no Remote-MTA; over LMTP (to Dovecot) the LMTP server is the remote MTA,
    # and the next hop that refused is one too.
    assert_dsn(dsn, action="failed", status=status_or_undefined("5.1.1") if next_hop else ["4", "5.0.0"],
               recipient=reported(dsn, mta, rcpt),
               remote_mta=ANY if next_hop or mta.delivers_over_lmtp(rcpt) else None,
               envelope=sent.original_envelope(), profile=dsn_profile(mta.world, mta.node))


@requirement("RFC 3461 s5.2, RFC 5321 s4.5.5 and s6.1; DSN checklist ENV-5",
             "a bounce about a bounce is a loop: do not rewrite the null sender (sender_canonical_maps, "
             "masquerade_domains, smtp_generic_maps applied to <>)")
def test_never_bounces_a_message_with_a_null_sender(mta: Target) -> None:
    """A message from the null sender (itself a bounce) that cannot be delivered produces no DSN."""
    rcpt, _ = fail_after_acceptance(mta)
    sent = mta.world.send("", rcpt, via=mta.node)

    story = sent.verdict()
    story.assert_failed_at(mta.node)  # the failure happened: there was something to bounce
    story.assert_no_dsn(mta.node)
    story.assert_no_backscatter()


@requirement("RFC 3461 s4.1, s5.2; DSN checklist N-1", "NOTIFY=NEVER is honoured by Postfix itself; a DSN here "
             "means something rewrote or re-injected the message (content_filter, always_bcc, a milter)")
def test_honours_notify_never(mta: Target) -> None:
    """A recipient given NOTIFY=NEVER gets no DSN of any kind when delivery fails after acceptance."""
    rcpt, _ = fail_after_acceptance(mta)
    sent = mta.world.send(mta.sender, rcpt, via=mta.node, notify=["NEVER"])
    if not sent.transcript.offers("DSN"):  # RFC 3461 s4: NOTIFY may only be given to a server that offers DSN
        not_applicable("the server does not offer DSN in its EHLO reply (Postfix: smtpd_discard_ehlo_keywords; "
                       "Exim: dsn_advertise_hosts, empty by default): no client can ask it for NOTIFY=NEVER")

    story = sent.verdict()
    story.assert_failed_at(mta.node)  # the failure happened: without NOTIFY=NEVER there would be a DSN
    story.assert_no_dsn()


@requirement("RFC 5321 s3.9 and s7.1 (no open relay)", causes="relay", hint="smtpd_relay_restrictions must end with "
             "reject_unauth_destination, and mynetworks must not include hosts you do not trust")
def test_refuses_to_relay_for_other_domains(mta: Target) -> None:
    """An outside client may not use the server to send mail to a domain it does not serve (5.7.1, or 4.7.1 as
    Postfix's default defer_unauth_destination answers)."""
    if not mta.listens:
        why = mta.info.inbound_na if mta.info is not None and mta.info.inbound_na else "no listener on the network"
        not_applicable(f"{why}: no outside client can connect "
                       "(test_outbound_an_outbound_only_server_takes_no_mail_from_outside checks it)")
    mta.require_readable()  # the relay check looks the domain up in the server's tables too
    sent = mta.world.send(mta.sender, "someone@elsewhere.example", via=mta.node)

    # 5.7.1, or 4.7.1 from defer_unauth_destination (Postfix's default): a refusal either way
    assert refuses_relay(sent.transcript), sent.transcript.render()
    assert not sent.accepted


@requirement("RFC 5321 s6.2 (backscatter through a gateway); DSN checklist ENV-8",
             "set relay_recipient_maps for relay_domains (or reject_unverified_recipient), so that the gateway "
             "refuses at RCPT what its backend would refuse", causes="unknown-recipients")
def test_no_backscatter_through_relaying_to_a_backend(mta: Target) -> None:
    """A gateway relaying a domain to a backend refuses unknown addresses itself; it never accepts them, and then
    bounces the backend's refusal to a forged sender."""
    if not mta.relay_domain:
        not_applicable("the configuration relays no domain to a backend (no relay_domains)")
    if mta.info is not None and not mta.info.relay_unknown:
        not_judged(mta.info.relay_unknown_reason)
    victim = "jill@example.edu"
    sent = mta.world.send(victim, mta.info.relay_unknown if mta.info else "", via=mta.node)

    story = sent.verdict()
    story.assert_no_backscatter()
    story.assert_no_dsn(mta.node)


@requirement("RFC 3463 s3.3 (5.2.2 mailbox full), RFC 5321 s6.1, RFC 3464 s2; DSN checklist ENV-2",
             "an over-quota recipient is refused at RCPT when the server can know it (Dovecot's quota-status "
             "policy service, or lmtp_rcpt_check_quota), otherwise bounced by the server that accepted; a DSN "
             "that goes elsewhere comes from a rewritten sender")
def test_a_recipient_over_quota_is_refused_or_bounced_with_5_2_2(mta: Target) -> None:
    """A recipient whose mailbox is full: refused at RCPT with 5.2.2 when the server can know it, otherwise
    bounced with 5.2.2 to the envelope sender by the server that accepted the message."""
    mta.require_inbound()
    node_spec = mta.world.spec.node(mta.node)
    if node_spec.config_dir and not node_spec.dovecot:
        how = ("local(8) or virtual(8)" if node_spec.kind == "postfix" else
               "its own transports (Exim's appendfile, whose quota the harness does not set in your configuration)")
        not_judged("the harness can fill a mailbox to its quota where Dovecot delivers (lmtp:) and in its own "
                   f"baseline; this configuration delivers with {how}")
    # Where Dovecot delivers, a recipient whose mail ends there (after its aliases), and the quota on that mailbox
    rcpt = mta.known_recipient(delivered_here=True, kinds=("lmtp",) if node_spec.dovecot else ())
    if node_spec.dovecot:  # a 2000-byte quota, confirmed by a probe where the mail ends, and a message over it
        mta.world.apply(MailboxFull(mta.node, mta.final_address(rcpt), limit=2000))
        mta.confirm_quota(rcpt, 2000)
        sent = mta.world.send(mta.sender, rcpt, via=mta.node, body="over quota " * 500)
    else:  # the baseline's mbox, already filled up to its limit
        mta.world.apply(MailboxFull(mta.node, rcpt.split("@", 1)[0]))
        sent = mta.world.send(mta.sender, rcpt, via=mta.node)

    story = sent.verdict()
    [reply] = sent.transcript.rcpt_replies
    if reply.code >= 500:
        story.assert_rejected_by(mta.node, stage="RCPT", status="5.2.2")
        return
    dsn = story.bounced_by(mta.node, to=mta.sender)
    assert_dsn(dsn, action="failed", status=status_or_undefined("5.2.2"), recipient=reported(dsn, mta, rcpt),
               envelope=sent.original_envelope(), profile=dsn_profile(mta.world, mta.node))
