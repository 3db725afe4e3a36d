"""`mailharness check DIR`: one command per configuration, and the difference shows, with the reason and the fix."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def check(directory: Path, tmp_path: Path, *more: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli", "check", str(directory),
                           "--html", str(tmp_path / "report.html"), *more], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)


def test_a_correct_configuration_passes(tmp_path: Path) -> None:
    """...and the run writes its reports where it is told, says where, and keeps the DSNs it saw for dsn-lint."""
    r = check(EXAMPLES / "postfix-good", tmp_path, "--junitxml", "out/junit.xml", "--keep-dsns", "dsns")
    assert r.returncode == 0, r.stdout[-3000:]
    assert "8 passed, 0 failed, 9 not applicable, 1 not judged" in r.stdout, "the gateway requirement does not apply"
    assert (tmp_path / "report.html").is_file() and f"report written to {tmp_path / 'report.html'}" in r.stdout
    assert f"JUnit XML written to {tmp_path / 'out' / 'junit.xml'}" in r.stdout
    assert 'name="verdict" value="PASS"' in (tmp_path / "out" / "junit.xml").read_text()
    kept = sorted((tmp_path / "dsns").glob("*.eml"))
    assert [p for p in kept if "test_bounces_to_the_envelope_sender" in p.name], [p.name for p in kept]
    assert f"DSN(s) kept in {tmp_path / 'dsns'}" in r.stdout
    lint = subprocess.run([sys.executable, "-m", "harness.cli", "dsn-lint", "--profile", "postfix", "--delivered",
                           *map(str, kept)], capture_output=True, text=True, timeout=60)
    assert lint.returncode == 0, lint.stdout


def test_debian_defaults_run_and_pass(tmp_path: Path) -> None:
    """myorigin = /etc/mailname, recipients from /etc/aliases and the Unix accounts, mbox in /var/mail, relaying
    deferred (4.7.1): Debian's own default is a correct configuration."""
    r = check(EXAMPLES / "postfix-debian", tmp_path)
    assert r.returncode == 0, r.stdout[-3000:]
    assert "8 passed, 0 failed, 8 not applicable, 2 not judged" in r.stdout, \
        "a quota is set only where Dovecot delivers; the snakeoil certificate is the image's, not this host's"
    assert "recipients known to Postfix: postmaster@library.example" in r.stdout


def test_an_inbound_gateway_is_tested_with_its_own_recipients(tmp_path: Path) -> None:
    """relay_domains = $mydomain, aliases for its own host name only: the aliases are not offered as recipients
    of the relay domain (alias_maps are the local class's), and the gateway passes, backend included."""
    r = check(EXAMPLES / "postfix-inbound-gateway", tmp_path)
    assert r.returncode == 0, r.stdout[-3000:]
    assert "9 passed, 0 failed, 8 not applicable, 1 not judged" in r.stdout
    assert "recipients known to Postfix: info@mx.library.example" in r.stdout


def test_a_distribution_style_configuration_runs_with_its_services_stood_in_for(tmp_path: Path) -> None:
    """Virtual domains from a file delivered over LMTP to Dovecot, an amavis-style content filter, milters, an
    SPF policy service, postscreen with DNSBL sites, TLS files elsewhere: each service stood in for and listed,
    no look-up waits, and the correct configuration passes."""
    r = check(EXAMPLES / "postfix-distribution", tmp_path)
    assert r.returncode == 0, r.stdout[-3000:]
    assert "9 passed, 0 failed, 8 not applicable, 1 not judged" in r.stdout, \
        "the quota requirement too, with Dovecot's quota; its TLS files are not on this host"
    for service in ("milter: inet:localhost:8891", "policy: unix:private/policyd-spf",
                    "content filter: smtp-amavis:[127.0.0.1]:10024 (hands mail back to 127.0.0.1:10025)",
                    "dovecot: virtual_transport = lmtp:unix:/var/run/dovecot/lmtp"):
        assert f"stood in for: {service}" in r.stdout
    assert "TLS files made (self-signed for mx.library.example)" in r.stdout


def test_the_backscatter_mistake_fails_with_the_reason_and_the_fix(tmp_path: Path) -> None:
    r = check(EXAMPLES / "postfix-backscatter", tmp_path)
    assert r.returncode == 1
    out = r.stdout
    assert "note: local_recipient_maps is empty" in out
    assert "FAIL" in out and "rejects_unknown_recipients_at_rcpt" in out and "no_backscatter_to_a_forged_sender" in out
    assert "should have rejected at RCPT" in out
    # the cause this configuration shows first, then the general hint
    assert "fix hint: local_recipient_maps is empty in this configuration" in out
    assert "(in general: local_recipient_maps is empty or missing a table" in out
    assert "6 passed, 2 failed, 9 not applicable, 1 not judged" in out


def test_the_smuggling_mistake_fails_with_the_transcript_the_cause_and_the_fix(tmp_path: Path) -> None:
    """smtpd_forbid_bare_newline = no: <LF>.<CR><LF> ends the data and the smuggled message, from a forged sender, is
    delivered; the hint names the parameter as the configuration sets it, and the CVE."""
    r = check(EXAMPLES / "postfix-bare-newline", tmp_path)
    assert r.returncode == 1, r.stdout[-3000:]
    out = r.stdout
    assert "FAIL" in out and "not_vulnerable_to_smtp_smuggling" in out
    assert "7 passed, 1 failed, 9 not applicable, 1 not judged" in out
    assert "lf-dot-crlf  ended DATA early, the smuggled message was accepted" in out
    assert "C: This message carries a second one (lf-dot-crlf)<LF>" in out and "Return-Path: <ceo@store.example>" in out
    assert "CVE-2023-51764" in out and "fix hint: smtpd_forbid_bare_newline = no (set here" in out


def test_an_open_gateway_backscatters_through_its_backend(tmp_path: Path) -> None:
    cfg = tmp_path / "gw"
    shutil.copytree(EXAMPLES / "postfix-gateway", cfg)
    main_cf = cfg / "main.cf"
    main_cf.write_text("\n".join(line for line in main_cf.read_text().splitlines()
                                 if not line.startswith("relay_recipient_maps")) + "\n")
    r = check(cfg, tmp_path)
    assert r.returncode == 1
    assert "FAIL" in r.stdout and "no_backscatter_through_relaying_to_a_backend" in r.stdout
    assert "backend: rejected <no-such-user-4711@corp.library.example> from mx.library.example at RCPT" in r.stdout
    assert "fix hint: relay_domains without relay_recipient_maps" in r.stdout
    assert "(in general: set relay_recipient_maps for relay_domains" in r.stdout


def test_a_null_client_is_judged_on_what_it_sends(tmp_path: Path) -> None:
    """relayhost = $mydomain, loopback only, no local delivery: the inbound requirements do not apply (it serves no
    domain and no outside client can connect), and the mail an application submits reaches a stand-in for the hub,
    is retried after a 451 and bounced to the sender (as myorigin qualifies it) after a 550."""
    r = check(EXAMPLES / "postfix-nullclient", tmp_path)
    assert r.returncode == 0, r.stdout[-4000:]
    assert "sends through relayhost acme.test: stood in for by the node relayhost (acme.test:25" in r.stdout
    assert "receives no mail from outside: no listener on the network (inet_interfaces = loopback-only)" in r.stdout
    assert "5 passed, 0 failed, 13 not applicable" in r.stdout, r.stdout[-4000:]
    assert "not applicable: smtp_tls_security_level = none" in r.stdout


def test_a_satellite_with_a_login_and_required_tls_to_its_provider(tmp_path: Path) -> None:
    """relayhost = [smtp.provider.test]:587, SASL from sasl_passwd, smtp_tls_security_level = encrypt: the stand-in
    offers STARTTLS and takes only that login, after TLS; with STARTTLS gone, nothing goes in clear."""
    r = check(EXAMPLES / "postfix-satellite", tmp_path)
    assert r.returncode == 0, r.stdout[-4000:]
    assert ("stood in for by the node relayhost (smtp.provider.test:587, STARTTLS offered, login web1@shop.test "
            "required after STARTTLS)") in r.stdout
    assert "6 passed, 0 failed, 12 not applicable" in r.stdout, r.stdout[-4000:]


def test_a_relayhost_its_tls_policy_table_requires_gets_nothing_in_clear(tmp_path: Path) -> None:
    """smtp_tls_security_level = may, and `[smtp.provider.test]:587 encrypt` in smtp_tls_policy_maps: the policy
    Postfix applies to the relayhost is encrypt; with STARTTLS gone (and AUTH offered in clear) the message is
    deferred, the stand-in hears no AUTH and no MAIL; every hop to it went over TLS (the report's padlocks)."""
    r = check(EXAMPLES / "postfix-relay-tls", tmp_path)
    assert r.returncode == 0, r.stdout[-4000:]
    assert "note: the relayhost's TLS policy: smtp_tls_policy_maps: [smtp.provider.test]:587 encrypt" in r.stdout
    assert re.search(r"^PASS +\S+ +outbound_nothing_goes_in_clear_when_tls_is_required", r.stdout, flags=re.M)
    assert "6 passed, 0 failed, 12 not applicable" in r.stdout, r.stdout[-4000:]
    page = (tmp_path / "report.html").read_text()
    assert 'class="tls encrypted"' in page and 'class="tls clear' not in page


def test_a_policy_key_postfix_never_looks_up_sends_the_message_and_the_password_in_clear(tmp_path: Path) -> None:
    """The same with the table's key written smtp.provider.test: Postfix looks the relayhost up as
    [smtp.provider.test]:587, may applies, and with STARTTLS gone the login and the message go in clear. The check
    says so before it runs, fails the requirement with the session (no password in it), and the report marks the hop
    that went in clear against the configuration's own entry."""
    r = check(EXAMPLES / "postfix-relay-tls-in-clear", tmp_path)
    assert r.returncode == 1, r.stdout[-4000:]
    out = r.stdout
    assert ("note: smtp_tls_policy_maps has 'smtp.provider.test encrypt', a key Postfix never looks up for relayhost = "
            "[smtp.provider.test]:587") in out
    assert re.search(r"^FAIL +\S+ +outbound_nothing_goes_in_clear_when_tls_is_required", out, flags=re.M), out[-4000:]
    assert "5 passed, 1 failed, 12 not applicable" in out
    assert "1 message(s) received in clear, as web2@shop.test" in out and "AUTH PLAIN ..." in out
    assert "RFC 3207 s4 and s6" in out and "fix hint: keep smtp_tls_security_level = encrypt" in out
    assert "c0rrect-h0rse" not in out and "AHdlYjJAc2hvcC50ZXN0AGMwcnJlY3QtaDByc2U=" not in out
    page = (tmp_path / "report.html").read_text()
    assert 'class="tls clear required"' in page and ">relayed in clear" in page
    assert "c0rrect-h0rse" not in page and "AHdlYjJAc2hvcC50ZXN0AGMwcnJlY3QtaDByc2U=" not in page


def test_the_fix_hint_names_the_configuration_s_own_cause(tmp_path: Path) -> None:
    """smtpd_reject_unlisted_recipient = no in a configuration whose tables are right: the hint begins with that
    setting, not with the generic 'local_recipient_maps is empty'. The server is named by its own host name (the
    configuration's myhostname), not by the topology's node name "library"."""
    cfg = tmp_path / "cfg"
    shutil.copytree(EXAMPLES / "postfix-good", cfg)
    with open(cfg / "main.cf", "a") as fh:
        fh.write("smtpd_reject_unlisted_recipient = no\nmyhostname = mail.acme.test\n")
    r = check(cfg, tmp_path, "--junitxml", "junit.xml")
    assert r.returncode == 1, r.stdout[-3000:]
    assert "FAIL" in r.stdout and "rejects_unknown_recipients_at_rcpt" in r.stdout
    # the same hint, with the configuration's own cause first, in the JUnit XML and the HTML report
    junit = (tmp_path / "junit.xml").read_text()
    assert 'name="fix_hint" value="smtpd_reject_unlisted_recipient = no' in junit, junit[-2000:]
    page = (tmp_path / "report.html").read_text()
    assert "fix hint:</strong> smtpd_reject_unlisted_recipient = no" in page and "RFC 5321" in page
    assert "expected: rejected by mail.acme.test at RCPT 550" in r.stdout, r.stdout[-3000:]
    assert "rejected by library" not in r.stdout and "mail.acme.test: accepted from harness" in r.stdout
    assert "mail.acme.test" in (tmp_path / "report.html").read_text()
    assert "fix hint: smtpd_reject_unlisted_recipient = no: smtpd accepts recipients" in r.stdout, r.stdout[-3000:]


def test_a_server_that_offers_starttls_and_auth_only_over_tls_passes(tmp_path: Path) -> None:
    """STARTTLS with the configuration's own certificate (in its folder: judged), AUTH through Dovecot's auth socket
    (stood in for by a real Dovecot) offered only after STARTTLS."""
    r = check(EXAMPLES / "postfix-tls", tmp_path)
    assert r.returncode == 0, r.stdout[-4000:]
    assert "TLS files: the configuration's own (in its folder)" in r.stdout
    assert "stood in for: dovecot-auth: smtpd_sasl_path = private/auth" in r.stdout
    for requirement in ("offers_starttls_with_a_certificate_a_client_can_use", "auth_is_never_offered_before_tls"):
        assert re.search(rf"^PASS +\S+ +{requirement}", r.stdout, flags=re.M), r.stdout[-4000:]


def test_auth_offered_in_clear_fails_with_what_the_client_saw_and_the_fix(tmp_path: Path) -> None:
    r = check(EXAMPLES / "postfix-auth-in-clear", tmp_path)
    assert r.returncode == 1, r.stdout[-4000:]
    out = r.stdout
    assert re.search(r"^FAIL +\S+ +auth_is_never_offered_before_tls", out, flags=re.M), out[-4000:]
    assert "AUTH is offered before TLS: a client may send its password in clear" in out
    assert re.search(r"EHLO in clear: .*STARTTLS AUTH", out), out[-4000:]
    assert "RFC 4954 s4" in out and "set smtpd_tls_auth_only = yes" in out
