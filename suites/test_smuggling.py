"""SMTP smuggling (CVE-2023-51764): a server that ends DATA at anything but <CR><LF>.<CR><LF> reads the rest of the
message as commands, so that whoever can send mail through a relay that passes the odd sequence on gets a second
message, with a sender of their choice, accepted from the relay's address (it passes SPF).

RFC 5321 s2.3.8 and s4.1.1.4: lines end with <CR><LF>; a server MUST NOT take a bare <LF> for a line end, and
"<LF>.<LF>" in particular MUST NOT end the mail data. The probe (harness.smuggling) sends each published variant
straight to library, from the harness's client (outside library's exemptions, as a client on the Internet is),
and looks for the smuggled message in every log and mailbox of the topology.
"""

import pytest

from harness import BareNewlineAccepted, FaultError, MailTopology, probe_smuggling

JILL, JACK = "jill@library.example", "jack@store.example"


def test_bare_newline_accepted(mail_topology: MailTopology) -> None:
    """A bare LF taken for a line end: <LF>.<CR><LF> ends DATA, and the smuggled message, from a forged sender, is
    delivered to Jill; once the fault is removed, no variant gets through."""
    try:
        remove = mail_topology.apply(BareNewlineAccepted("library"))
    except FaultError as exc:  # an MTA whose fix cannot be turned off (Exim: no setting brings the old way back)
        pytest.skip(f"not applicable: {exc}")
    try:
        report = probe_smuggling(mail_topology, "library", recipient=JILL, sender=JACK)
    finally:
        remove()

    assert report.vulnerable, report.render()
    result = report.result("lf-dot-crlf")
    assert result.ended_early and result.smuggled is not None, report.render()
    story = result.smuggled.story
    assert story is not None and story.delivered_to(JILL), report.render()
    [stored] = [m for m in mail_topology.mailbox(JILL).messages() if m["Message-ID"] == result.smuggled.message_id]
    assert stored["Return-Path"] == "<ceo@store.example>" and "smuggled" in str(stored["Subject"])
    # Split at the smuggled DATA, as a stream arrives over a slow link, every bare-LF ending gets a message in.
    assert all(report.result(v).smuggled is not None for v in ("lf-dot-lf", "crlf-dot-lf")), report.render()

    after = probe_smuggling(mail_topology, "library", recipient=JILL, sender=JACK)
    assert not after.vulnerable, after.render()


def test_release_default(mail_topology: MailTopology) -> None:
    """Each release's own default, seen from a client on the Internet: DATA ends at <CR><LF>.<CR><LF> only. Postfix
    3.7 as Debian 12 ships it (3.7.11) leaves the fix off by default (smtpd_forbid_bare_newline = no): vulnerable,
    an expected failure until it is set; Postfix 3.10 (Debian 13) is not. Exim's baseline changes nothing about
    line ends: its release's own behaviour is probed as it is."""
    if mail_topology.node("library").kind != "postfix":
        other = probe_smuggling(mail_topology, "library", recipient=JILL, sender=JACK)
        assert not other.vulnerable, other.render()
        return
    node = mail_topology.postfix("library")
    # The harness's baseline sets the fix on every release: back to the release's own default for this test.
    node.edit_config("postconf -X smtpd_forbid_bare_newline")
    default = node.exec(["postconf", "-dh", "smtpd_forbid_bare_newline"]).decode().strip()

    report = probe_smuggling(mail_topology, "library", recipient=JILL, sender=JACK)

    if report.vulnerable and default == "no":
        pytest.xfail(f"{node.release}'s default is smtpd_forbid_bare_newline = no: it ends DATA at a bare LF "
                     "(RFC 5321 s4.1.1.4: MUST NOT), vulnerable to SMTP smuggling (CVE-2023-51764) until it is set "
                     "to normalize (Postfix >= 3.7.10):\n" + report.render(transcripts=False))
    assert not report.vulnerable, f"the default is smtpd_forbid_bare_newline = {default}\n{report.render()}"
