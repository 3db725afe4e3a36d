"""Transport security: a sending server's TLS policy against a next hop that stops offering STARTTLS (RFC 3207) or
presents a certificate that does not verify (RFC 6125; the topology has its own CA, which every node trusts).

library sends (its MTA is the one the release matrix varies: Postfix 3.10 and 3.7, Exim) to example.edu, the
programmable mock, which offers STARTTLS with a certificate issued by the topology's CA for mx.example.edu unless a
fault says otherwise, and records for every message whether it came over TLS. The policy is set on library with
TlsPolicy (Postfix's smtp_tls_security_level; the baseline sends in clear):

- `may` (opportunistic, RFC 3207 s4): TLS when offered, else in clear;
- `encrypt`: TLS or no delivery at all; the message is never sent in clear;
- `verify` and `secure`: TLS with a certificate that verifies (for the MX host's name; for a name under the next
  hop's domain): a bad one defers the message, a good one delivers it;
- a message that cannot go out says why in its DSNs (RFC 3463 s3.8: 4.7.x, security; or the TLS reason).

STARTTLS goes missing in two ways: the next hop stops offering it (NoStartTLS), or a man in the middle removes it from
the EHLO reply the client sees, while the server still offers it (StripStartTLS: a relay in the topology that DNS
sends the clients to). The client cannot tell them apart, and must not: a policy that requires TLS defers either way.

A next hop that takes mail only with a login (SASL, RFC 4954), as a provider's relayhost does: library logs in with
SaslLogin, and the password must travel inside TLS only (with `encrypt` it never goes in clear, even to a server that
offers AUTH before TLS, whatever happened to STARTTLS).

The same faults on a real MTA as the next hop: store (Postfix) sends to library, which lost STARTTLS, has it stripped
by a man in the middle, or presents a bad certificate (so the faults are exercised on each MTA library runs).
"""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from harness import (
    BadCertificate,
    FaultError,
    MailTopology,
    NoStartTLS,
    QueueLifetime,
    SaslLogin,
    Story,
    StripStartTLS,
    TlsPolicy,
    assert_dsn,
    evidence,
    parse_dsn,
)
from harness.dsn import DSN
from harness.faults import CertificateKind, TlsLevel
from harness.mock import Script
from harness.nodes.mock import MockNode
from harness.verdict import Hop

from . import dsn_profile

JILL, EDU = "jill@library.example", "jill@example.edu"
BAD: tuple[CertificateKind, ...] = ("expired", "wrong_name", "self_signed", "untrusted")
TLS_WORDS = ("tls", "certificate", "starttls")


def policy(world: MailTopology, level: TlsLevel) -> MockNode:
    """library's client gets `level`; example.edu offers STARTTLS with its valid certificate. A level library's MTA
    cannot express makes the scenario not applicable (pytest skips it, with the MTA's own reason)."""
    edu = world.mock("edu")
    edu.script = Script().advertise("STARTTLS")
    try:
        world.apply(TlsPolicy("library", level))
    except FaultError as exc:
        pytest.skip(f"not applicable: {exc}")
    return edu


def deferrals(world: MailTopology) -> list[Hop]:
    """Wait until library has deferred the message to example.edu (its log's delivery line, with a deadline); the
    deferred hops of its story so far."""
    world.wait_log(lambda e: e.node == "library" and any(d.status == "deferred" and d.recipient == EDU
                                                         for d in evidence.deliveries([e])),
                   timeout=30, what="library deferring the message to example.edu")
    return [h for h in world.sent[-1].verdict(timeout=0).hops if h.node == "library" and h.kind == "deferred"]


def never_in_clear(edu: MockNode) -> None:
    """No session with example.edu ever reached AUTH (a password) or MAIL FROM outside TLS, and it received nothing
    in clear."""
    for s in edu.sessions:
        said = s.before_tls("AUTH", "MAIL", "RCPT", "DATA")
        assert not said, f"session {s.id} sent {said[0].split()[0]} in clear: {list(s.commands_shown)}"
    clear = [m.id for m in edu.messages if not m.tls]
    assert not clear, f"messages received in clear: {clear}"


def says_why(hop: Hop) -> str:
    """What a deferred hop says of TLS: its status is a security one (4.7.x) or its words name TLS or the
    certificate; "" when it says nothing of it."""
    words = " ".join([hop.detail, str(hop.reply or ""), hop.tls.problem if hop.tls else ""]).lower()
    return hop.status if hop.status.startswith("4.7") else next((w for w in TLS_WORDS if w in words), "")


def retry_now(world: MailTopology, node: str) -> None:
    """The sending node retries its deferred mail now, as its queue manager would at its next run (`postqueue -f`,
    `exim -qff`): these scenarios judge TLS, not the queue's timing (test_retries.py lets the queue retry by
    itself), and each wait for a queue run cost about a second."""
    world.mta(node).flush_queue()


def relayed(story: Story) -> Hop:
    [hop] = [h for h in story.hops if h.node == "library" and h.kind == "relayed" and h.peer == "edu"]
    return hop


MISSING = [NoStartTLS("edu"), StripStartTLS("edu")]


def stripped(edu: MockNode) -> None:
    """Through a man in the middle: example.edu offered STARTTLS in every EHLO reply it gave (its own transcript), and
    never heard the command."""
    assert edu.sessions, "no session reached example.edu"
    for s in edu.sessions:
        offered = any(line.who == "server" and line.text.upper().endswith("STARTTLS") for line in s.transcript)
        assert offered and "STARTTLS" not in s.commands, f"session {s.id}: {[t.text for t in s.transcript][:12]}"


@pytest.mark.parametrize("missing", MISSING, ids=lambda f: type(f).__name__)
def test_may_delivers_in_clear_when_starttls_is_missing(mail_topology_with_mock: MailTopology,
                                                        missing: NoStartTLS | StripStartTLS) -> None:
    """`may` with a next hop that offers no STARTTLS, or whose STARTTLS a man in the middle strips: the message goes
    in clear (RFC 3207 s4: opportunistic TLS falls back; s6: a man in the middle can make it do so), and is
    delivered."""
    world = mail_topology_with_mock
    edu = policy(world, "may")
    world.apply(missing)
    sent = world.send(JILL, EDU)

    [msg] = edu.wait_for_messages(1, timeout=30)
    assert msg.tls == "" and msg.recipients == (EDU,), msg
    if isinstance(missing, StripStartTLS):
        stripped(edu)
    story = sent.verdict()
    assert relayed(story).tls is None, story.render()  # the sending node's log says no TLS for the hop
    story.assert_no_dsn()


def test_encrypt_defers_through_a_man_in_the_middle_and_delivers_once_it_is_gone(
        mail_topology_with_mock: MailTopology) -> None:
    """`encrypt` while a man in the middle strips STARTTLS (the server still offers it): library defers, says why,
    sends nothing in clear; once the man in the middle is gone, the retry delivers over TLS."""
    world = mail_topology_with_mock
    edu = policy(world, "encrypt")
    gone = world.apply(StripStartTLS("edu"))
    sent = world.send(JILL, EDU)

    [first, *_] = deferrals(world)
    assert says_why(first), first.render()
    stripped(edu)
    never_in_clear(edu)
    assert edu.messages == ()
    gone()
    [msg] = edu.wait_for_messages(1, timeout=30)
    assert msg.tls.startswith("TLS"), msg
    hop = relayed(sent.verdict())
    assert hop.tls is not None and hop.tls.protocol.startswith("TLSv"), hop.render()
    never_in_clear(edu)


@pytest.mark.parametrize("level", ["may", "encrypt"])
def test_tls_is_used_when_it_is_offered(mail_topology_with_mock: MailTopology, level: TlsLevel) -> None:
    """`may` and `encrypt` with a next hop that offers STARTTLS: the message goes over TLS, and the story says so
    (the certificate is not required to verify at these levels)."""
    world = mail_topology_with_mock
    edu = policy(world, level)
    sent = world.send(JILL, EDU)

    [msg] = edu.wait_for_messages(1, timeout=30)
    assert msg.tls.startswith("TLS"), msg
    hop = relayed(sent.verdict())
    assert hop.tls is not None and hop.tls.protocol.startswith("TLSv"), hop


def test_encrypt_defers_and_never_sends_in_clear(mail_topology_with_mock: MailTopology) -> None:
    """`encrypt` with a next hop that lost STARTTLS: library defers the message, says why (4.7.x or the TLS
    reason), never sends it in clear; its delayed and failed DSNs tell Jill why."""
    world = mail_topology_with_mock
    edu = policy(world, "encrypt")
    world.apply(NoStartTLS("edu"), QueueLifetime("library", lifetime="2s", delay_warning="1s"))
    sent = world.send(JILL, EDU)

    [first, *_] = deferrals(world)
    assert says_why(first), first.render()
    box = world.mailbox(JILL)
    failed = box.wait_for(lambda m: "multipart/report" in m.get_content_type() and _action(m) == "failed",
                          timeout=30, what="the failed DSN")
    never_in_clear(edu)
    assert_dsn(failed, action="failed", reporting_mta="mx.library.example", envelope=sent.original_envelope(),
               profile=dsn_profile(world, "library"))
    delayed = [m for m in box.messages() if "multipart/report" in m.get_content_type() and _action(m) == "delayed"]
    dsns_say_why([failed, *delayed], first)


def _dsn(m: object) -> DSN:
    dsn = parse_dsn(m)  # type: ignore[arg-type]
    assert isinstance(dsn, DSN), dsn
    return dsn


def _action(m: object) -> str:
    dsn = parse_dsn(m)  # type: ignore[arg-type]
    return (dsn.recipients[0].action or "") if isinstance(dsn, DSN) and dsn.recipients else ""


def dsns_say_why(dsns: list[EmailMessage], deferral: Hop) -> None:
    """The delayed or the failed DSN says why the message could not go: a security Status (4.7.x or 5.7.x, RFC 3463
    s3.8) or a Diagnostic-Code that names TLS or the certificate. DSNs whose every Status is the undefined X.0.0 (RFC
    3463 s3.1: the reporting MTA knows no more) and whose Diagnostic-Code says nothing of it are compliant yet
    silent: an expected failure, which quotes what the node's log said; any other status fails."""
    if any(_why_in(d) for d in dsns):
        return
    statuses = [r.status or "" for d in dsns for r in _dsn(d).recipients]
    said = f"the reason is in library's log only: {deferral.render()}"
    if statuses and all(s.endswith(".0.0") for s in statuses):
        pytest.xfail(f"the DSNs (Status {', '.join(dict.fromkeys(statuses))}, RFC 3463 s3.1's undefined code) do "
                     f"not say why; {said}")
    raise AssertionError(f"expected: a DSN that says why (a 4.7.x or 5.7.x Status, or TLS in its Diagnostic-Code); "
                         f"got Status {statuses}; {said}\n" + "\n".join(d.as_string() for d in dsns))


def _why_in(m: object) -> str:
    """The DSN says why: a 4.7.x or 5.7.x Status, or a Diagnostic-Code that names TLS or the certificate."""
    for r in _dsn(m).recipients:
        diagnostic = (r.diagnostic_code.value if r.diagnostic_code else "").lower()
        if (r.status or "").startswith(("4.7", "5.7")) or any(w in diagnostic for w in TLS_WORDS):
            return r.status or diagnostic
    return ""


@pytest.mark.parametrize("level", ["verify", "secure"])
@pytest.mark.parametrize("kind", BAD)
def test_a_bad_certificate_defers_and_a_good_one_delivers(mail_topology_with_mock: MailTopology, level: TlsLevel,
                                                         kind: CertificateKind) -> None:
    """`verify` and `secure` with a next hop whose certificate is expired, for another name, self-signed or issued
    by a CA nobody trusts: library defers, says why, sends nothing in clear; once the next hop presents its valid
    certificate again, the retry delivers over TLS with a verified certificate."""
    world = mail_topology_with_mock
    edu = policy(world, level)
    heal = world.apply(BadCertificate("edu", kind))
    sent = world.send(JILL, EDU)

    [first, *_] = deferrals(world)
    assert says_why(first), first.render()
    assert edu.messages == (), "nothing may reach the next hop while its certificate does not verify"
    heal()
    retry_now(world, "library")
    [msg] = edu.wait_for_messages(1, timeout=30)
    assert msg.tls.startswith("TLS"), msg
    hop = relayed(sent.verdict())
    assert hop.tls is not None and hop.tls.verified, hop.render()
    never_in_clear(edu)


def test_a_bad_certificate_fails_the_message_with_its_reason(mail_topology_with_mock: MailTopology) -> None:
    """`verify` against an expired certificate until the message expires: the failed DSN says why (4.7.x, or the
    TLS reason in the Diagnostic-Code)."""
    world = mail_topology_with_mock
    policy(world, "verify")
    world.apply(BadCertificate("edu", "expired"), QueueLifetime("library", lifetime="2s"))
    sent = world.send(JILL, EDU)

    [first, *_] = deferrals(world)
    failed = world.mailbox(JILL).wait_for_dsn(timeout=30)
    never_in_clear(world.mock("edu"))
    assert_dsn(failed, action="failed", reporting_mta="mx.library.example", envelope=sent.original_envelope(),
               profile=dsn_profile(world, "library"))
    dsns_say_why([failed], first)


# -- a relayhost that takes mail with a login (SASL) ---------------------------------------------------------------
LOGIN = ("satellite@library.example", "Tr0ub4dor-3")


def relayhost_with_login(world: MailTopology) -> MockNode:
    """example.edu as a provider's relayhost: STARTTLS offered, mail taken only after a login (library's), and
    AUTH offered before TLS too, as a careless provider does (Postfix's default smtpd_tls_auth_only = no): a client
    that would send its password in clear has the chance. library logs in with `encrypt` as its policy (Postfix:
    smtp_sasl_auth_enable with smtp_tls_security_level = encrypt; Exim: hosts_require_auth with
    hosts_require_tls)."""
    edu = policy(world, "encrypt")
    edu.script = Script().advertise("STARTTLS").login(*LOGIN).offer_auth_in_clear()
    world.apply(SaslLogin("library", *LOGIN))
    return edu


def test_a_relayhost_reached_with_sasl_gets_the_password_inside_tls(mail_topology_with_mock: MailTopology) -> None:
    """With STARTTLS offered, library starts TLS, then logs in (RFC 4954 s4: a plain-text mechanism only over an
    encrypted connection), then sends; the relayhost saw the login inside TLS and nowhere else."""
    world = mail_topology_with_mock
    edu = relayhost_with_login(world)
    sent = world.send(JILL, EDU)

    [msg] = edu.wait_for_messages(1, timeout=30)
    assert msg.tls.startswith("TLS") and msg.login == LOGIN[0], (msg.tls, msg.login)
    never_in_clear(edu)
    [session] = [s for s in edu.sessions if msg.id in s.message_ids]
    assert any(n.startswith(f"AUTH PLAIN as {LOGIN[0]}: accepted") or n.startswith(f"AUTH LOGIN as {LOGIN[0]}: "
                                                                                   "accepted")
               for n in session.notes), session.notes
    sent.verdict().assert_no_dsn()


@pytest.mark.parametrize("missing", MISSING, ids=lambda f: type(f).__name__)
def test_a_relayhost_reached_with_sasl_never_gets_the_password_in_clear(
        mail_topology_with_mock: MailTopology, missing: NoStartTLS | StripStartTLS) -> None:
    """STARTTLS gone, or stripped by a man in the middle, while the relayhost offers AUTH in clear: library defers the
    message; neither its password nor the message ever travel in clear (the relayhost's transcript has no AUTH and
    no MAIL outside TLS)."""
    world = mail_topology_with_mock
    edu = relayhost_with_login(world)
    world.apply(missing)
    world.send(JILL, EDU)

    [first, *_] = deferrals(world)
    assert says_why(first), first.render()
    world.sync_logs()
    assert edu.sessions, "library never tried the relayhost: nothing shows its policy held"
    never_in_clear(edu)
    assert edu.messages == ()


@pytest.mark.parametrize("fault", [NoStartTLS("library"), StripStartTLS("library"),
                                   *(BadCertificate("library", k) for k in BAD)],
                         ids=lambda f: f.describe())
def test_an_mta_next_hop_that_lost_starttls_or_its_certificate(mail_topology: MailTopology,
                                                              fault: NoStartTLS | StripStartTLS | BadCertificate
                                                              ) -> None:
    """The same faults on a real MTA as the next hop: store sends to library with `encrypt` (library lost STARTTLS,
    or a man in the middle strips it) or `verify` (library presents a bad certificate). store defers and library
    accepts nothing; once library is healed, store's retry delivers over TLS (with a verified certificate under
    `verify`)."""
    world = mail_topology
    level: TlsLevel = "verify" if isinstance(fault, BadCertificate) else "encrypt"
    world.apply(TlsPolicy("store", level))
    heal = world.apply(fault)
    sent = world.send("jack@store.example", JILL)

    world.wait_log(lambda e: e.node == "store" and any(d.status == "deferred" and d.recipient == JILL
                                                       for d in evidence.deliveries([e])),
                   timeout=30, what="store deferring the message to library")
    assert world.queued("library") == [], "library must accept nothing while the TLS the policy needs fails"
    [first] = [h for h in sent.verdict(timeout=0).hops if h.node == "store" and h.kind == "deferred"][:1]
    assert says_why(first), first.render()
    heal()
    retry_now(world, "store")
    world.mailbox(JILL).wait_for(timeout=30)
    story = sent.verdict()
    [hop] = [h for h in story.hops if h.node == "store" and h.kind == "relayed" and h.peer == "library"]
    assert hop.tls is not None and (hop.tls.verified or level == "encrypt"), story.render()
    story.assert_no_dsn()
