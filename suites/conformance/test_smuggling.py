"""Requirements on what a server takes for the end of a line and of the data: SMTP smuggling.

The probe (harness.smuggling) sends the published variants straight to the server under test from the harness's
client, and looks for the smuggled message in every log and mailbox of the topology.
"""

from __future__ import annotations

from harness import probe_smuggling
from harness.sut.conformance import Target, not_judged, requirement


@requirement("RFC 5321 s2.3.8 and s4.1.1.4 (<CR><LF>.<CR><LF> alone ends the data); CVE-2023-51764 (SMTP "
             "smuggling)", "set smtpd_forbid_bare_newline = normalize (Postfix 3.9's default; Postfix 3.7.10 and "
             "later have it, and Debian 12's 3.7 leaves it at no), keep smtpd_forbid_bare_newline_exclusions to "
             "your own networks ($mynetworks), and smtpd_forbid_unauth_pipelining = yes", causes="smuggling")
def test_not_vulnerable_to_smtp_smuggling(mta: Target) -> None:
    """No published smuggling variant (<LF>.<LF>, <LF>.<CR><LF>, <CR><LF>.<LF>, <CR>.<CR>, pipelined) ends the
    data before <CR><LF>.<CR><LF>, and no second message with a forged sender is accepted."""
    rcpt = mta.known_recipient()  # N/A for a server that receives nothing from outside
    report = probe_smuggling(mta.world, mta.node, recipient=rcpt, sender=mta.sender)

    if report.vulnerable:
        trusted = mta.world.mta(mta.node).lenient_to(report.client)
        if trusted:
            not_judged(f"the harness's client ({report.client}) is one the server exempts from its line-end "
                       f"checks: {trusted}; a client on the Internet is not. Keep the exemption to your own "
                       "networks (the topology's are /24s between 10.64.0.0 and 10.254.255.255)\n"
                       + report.render(transcripts=False))
    assert not report.vulnerable, report.render()
