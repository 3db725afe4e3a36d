"""RFC 3461 end to end: NOTIFY, RET, ENVID and ORCPT are honoured, echoed in the DSN, passed on to a next hop
that supports DSN and dropped for one that does not (checked at a mock next hop)."""

from harness import FaultApplier, MailTopology, Recipient, assert_dsn
from harness.mock import Script, rule

from . import dsn_profile, known_departures, status_or_undefined


def test_notify_never(mail_topology: MailTopology) -> None:
    """NOTIFY=NEVER: the unknown user is rejected and bounced by store... but Jack asked for no DSN at all."""
    sent = mail_topology.send("jack@store.example", "nosuchuser@library.example", notify=["NEVER"])

    story = sent.verdict()
    story.assert_rejected_by("library", stage="RCPT", status="5.1.1")
    story.assert_no_dsn()
    story.assert_no_backscatter()


def test_notify_success_delivered(mail_topology: MailTopology) -> None:
    """NOTIFY=SUCCESS to a DSN-capable next hop: the final server reports "delivered" to Jack."""
    sent = mail_topology.send("jack@store.example", "jill@library.example", notify=["SUCCESS"])

    story = sent.verdict()
    story.assert_delivered_to("jill@library.example")
    dsn = story.bounced_by("library", to="jack@store.example", kind="delivered")
    assert_dsn(dsn, action="delivered", status="2.0.0", reporting_mta="mx.library.example",
               envelope=sent.original_envelope(), profile=dsn_profile(mail_topology, "library"))


def test_notify_success_expanded(mail_topology: MailTopology, mail_fault: FaultApplier) -> None:
    """NOTIFY=SUCCESS through an alias: library reports the success: "expanded" (Postfix: forwarded beyond the
    address Jack gave) or "delivered" (Exim: delivered to that address, the alias); RFC 3464 s2.3.3 defines both,
    and "relayed" where the next hop takes no DSN responsibility."""
    from harness import Forward

    mail_fault(Forward("library", to="jill@example.edu"))
    sent = mail_topology.send("jack@store.example", "jill@library.example", notify=["SUCCESS"])

    mail_topology.mailbox("jill@example.edu").wait_for()
    story = sent.verdict()
    dsn = story.bounced_by("library", to="jack@store.example", kind="delivered")
    parsed = assert_dsn(dsn, status="2.0.0", envelope=sent.original_envelope(),
                        profile=dsn_profile(mail_topology, "library"))
    assert {r.action for r in parsed.recipients} <= {"expanded", "delivered", "relayed"}, parsed.recipients


def test_ret_hdrs(mail_topology: MailTopology) -> None:
    """RET=HDRS: the DSN returns the headers only (text/rfc822-headers)."""
    sent = mail_topology.send("jack@store.example", "nosuchuser@library.example", ret="HDRS")

    dsn = sent.verdict().bounced_by("store")
    parts = [p.get_content_type() for p in dsn.iter_parts()]
    assert parts[-1] == "text/rfc822-headers", parts
    assert_dsn(dsn, action="failed", status=status_or_undefined("5.1.1"), envelope=sent.original_envelope(),
               profile=dsn_profile(mail_topology, "store"))


def test_ret_full(mail_topology: MailTopology) -> None:
    """RET=FULL: the DSN returns the whole message, body included."""
    sent = mail_topology.send("jack@store.example", "nosuchuser@library.example", ret="FULL",
                              body="The unmistakable body of Jack's letter.\n")

    dsn = sent.verdict().bounced_by("store")
    returned = list(dsn.iter_parts())[-1]
    assert returned.get_content_type() == "message/rfc822"
    assert "unmistakable body" in returned.as_string()
    assert_dsn(dsn, action="failed", status=status_or_undefined("5.1.1"), envelope=sent.original_envelope(),
               profile=dsn_profile(mail_topology, "store"))


def test_envid_orcpt(mail_topology: MailTopology) -> None:
    """ENVID comes back as Original-Envelope-Id, ORCPT as Original-Recipient (decoded from xtext). Exim (4.96, 4.98)
    departs from RFC 3461 s6.3 in both: it writes the ENVID as it came, in xtext, and it forgets the ORCPT of a
    recipient that gave no NOTIFY (its spool keeps ORCPT only beside NOTIFY flags): an expected failure, with the
    evidence, once every other check has passed."""
    sent = mail_topology.send("jack@store.example", [Recipient("nosuchuser@library.example", (),
                                                                "nosuchuser+tag@library.example")],
                              envid="order 42=yes")

    dsn = sent.verdict().bounced_by("store")
    if mail_topology.node("store").kind == "exim":
        sent_as = sent.original_envelope()
        parsed = assert_dsn(dsn, action="failed", status=status_or_undefined("5.1.1"), envelope=sent_as,
                            profile="strict", allow_rules=("S-3", "R-2"))
        envid, [block] = parsed.per_message.original_envelope_id, parsed.recipients
        known_departures("Exim", {
            "RFC 3461 s6.3 (a), RFC 3464 s2.2.1: Original-Envelope-Id holds the ENVID decoded from xtext":
                f"Original-Envelope-Id: {envid}, the xtext of MAIL FROM's ENVID={sent_as.envid}, not 'order 42=yes'"
                if envid == sent_as.envid else None,
            "RFC 3461 s6.3: Original-Recipient holds the ORCPT the RCPT gave":
                f"no Original-Recipient, though RCPT TO had ORCPT={sent_as.recipients[0].orcpt} (and no NOTIFY)"
                if block.original_recipient is None else None,
        })
    parsed = assert_dsn(dsn, action="failed", status=status_or_undefined("5.1.1"),
                        original_recipient="nosuchuser+tag@library.example",
                        envelope=sent.original_envelope(), profile="strict")
    assert parsed.per_message.original_envelope_id == "order 42=yes"


def test_dsn_parameters_passed_to_a_dsn_capable_next_hop(mail_topology_with_mock: MailTopology) -> None:
    """store relays to a next hop that advertises DSN: NOTIFY, ORCPT, RET and ENVID go on with the message."""
    world = mail_topology_with_mock
    sent = world.send("jack@store.example", "jill@example.edu", notify=["SUCCESS", "FAILURE"], orcpt=True,
                      ret="HDRS", envid="case+7")

    [got] = world.mock("edu").wait_for_messages(1)
    assert got.mail_params.get("RET") == "HDRS" and got.envid == "case+7"
    [rcpt] = got.rcpts
    assert rcpt.params.get("NOTIFY") == "SUCCESS,FAILURE"
    assert (rcpt.params.get("ORCPT") or "").lower() == "rfc822;jill@example.edu"
    sent.verdict().assert_no_dsn("store")  # responsibility for success DSNs moved on to the next hop


def test_dsn_parameters_dropped_for_a_next_hop_without_dsn(mail_topology_with_mock: MailTopology) -> None:
    """A next hop without the DSN extension gets no DSN parameters; store reports "relayed" for NOTIFY=SUCCESS
    (RFC 3461 s5.2.2). Exim (4.96, 4.98) reports "delivered" with a Diagnostic-Code of its own making ("250 Ok"),
    and writes the ENVID in xtext (RFC 3461 s6.3 (a)): an expected failure, with the evidence, once every other
    check has passed."""
    world = mail_topology_with_mock
    world.mock("edu").script = Script().hide("DSN")
    sent = world.send("jack@store.example", "jill@example.edu", notify=["SUCCESS"], orcpt=True, ret="FULL",
                      envid="case+8")

    [got] = world.mock("edu").wait_for_messages(1)
    assert "RET" not in got.mail_params and "ENVID" not in got.mail_params
    assert dict(got.rcpts[0].params) == {}
    dsn = world.mailbox("jack@store.example").wait_for_dsn()
    if world.node("store").kind == "exim":
        sent_as = sent.original_envelope()
        parsed = assert_dsn(dsn, status="2.0.0", reporting_mta="mx.store.example", remote_mta="mx.example.edu",
                            envelope=sent_as, profile=dsn_profile(world, "store"), allow_rules=("S-3",))
        [block], envid = parsed.recipients, parsed.per_message.original_envelope_id
        known_departures("Exim", {
            "RFC 3461 s5.2.2 (b), RFC 3464 s2.3.3: relayed to a next hop without DSN, NOTIFY=SUCCESS gets a "
            "\"relayed\" DSN": f"Action: {block.action}, Diagnostic-Code: {block.diagnostic_code}, where the "
                                 f"next hop, which offered no DSN, said {got.eod_reply!r}"
                                 if block.action == "delivered" else None,
            "RFC 3461 s6.3 (a), RFC 3464 s2.2.1: Original-Envelope-Id holds the ENVID decoded from xtext":
                f"Original-Envelope-Id: {envid}, the xtext of ENVID={sent_as.envid}, not 'case+8'"
                if envid == sent_as.envid else None,
        })
    assert_dsn(dsn, action="relayed", status="2.0.0", reporting_mta="mx.store.example",
               remote_mta="mx.example.edu", envelope=sent.original_envelope(), profile=dsn_profile(world, "store"))


def test_scripted_refusal_at_a_mock_next_hop(mail_topology_with_mock: MailTopology) -> None:
    """The mock refuses at RCPT with a scripted reply: store's DSN quotes it exactly (R-7)."""
    world = mail_topology_with_mock
    world.mock("edu").script = Script().add(rule("rcpt", "550 5.7.1 Scripted refusal for the test"))
    sent = world.send("jack@store.example", "jill@example.edu")

    story = sent.verdict()
    story.assert_rejected_by("edu", stage="RCPT", code=550, status="5.7.1")
    dsn = story.bounced_by("store")
    # the reply quoted exactly; the status the reply's 5.7.1, or the class's undefined 5.0.0 (Exim's, whatever the
    # reply said: suites.status_or_undefined)
    assert_dsn(dsn, action="failed", status=status_or_undefined("5.7.1"), remote_mta="mx.example.edu",
               diagnostic_contains="550 5.7.1 Scripted refusal for the test",
               envelope=sent.original_envelope(), profile=dsn_profile(world, "store"))
