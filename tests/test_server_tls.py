"""How a Postfix configuration's SMTP server offers TLS and AUTH (harness.mta.postfix.servertls), and what the
STARTTLS probe reads of openssl's words (harness.starttls); no Docker."""

from __future__ import annotations

from harness.mta.postfix.servertls import effective, server_tls
from harness.starttls import StartTls


def test_the_level_and_auth_as_smtpd_on_port_25_runs_with_them() -> None:
    assert server_tls(effective({}, {})).level == "none"  # Postfix's default: no TLS offered
    assert server_tls(effective({"smtpd_use_tls": "yes"}, {})).level == "may"  # the legacy parameters
    assert server_tls(effective({"smtpd_enforce_tls": "yes"}, {})).level == "encrypt"
    main = {"smtpd_tls_security_level": "may", "smtpd_sasl_auth_enable": "yes", "smtpd_tls_auth_only": "no",
            "smtpd_sasl_type": "dovecot", "smtpd_sasl_path": "private/auth"}
    conf = server_tls(effective(main, {}))
    assert (conf.level, conf.auth, conf.auth_only_over_tls, conf.auth_backend) == ("may", True, False,
                                                                                  "dovecot:private/auth")
    assert conf.said == ("smtpd_tls_security_level = may, smtpd_sasl_auth_enable = yes, "
                         "smtpd_tls_auth_only = no"), conf.said
    assert server_tls(effective({}, {})).said == ("smtpd_use_tls = no, smtpd_enforce_tls = no, "
                                                  "smtpd_sasl_auth_enable = no")
    # master.cf's smtp service overrides main.cf; encrypt offers AUTH only over TLS by itself
    over = server_tls(effective(main, {"smtp/inet/smtpd_tls_security_level": "encrypt",
                                       "submission/inet/smtpd_sasl_auth_enable": "no"}))
    assert (over.level, over.auth, over.auth_only_over_tls) == ("encrypt", True, True)


def _seen(x509: str, before: tuple[str, ...] = ("STARTTLS",)) -> StartTls:
    return StartTls("library", "mx.library.example", "store", before, (), "TLSv1.3", "TLS_AES_256_GCM_SHA384",
                    "-----BEGIN CERTIFICATE-----", x509, "", "220 2.0.0 Ready to start TLS")


def test_what_the_probe_reads_of_openssl_s_words() -> None:
    good = _seen("subject=CN=mx.library.example\nCertificate will not expire\n"
                 "Hostname mx.library.example does match certificate\n")
    assert good.offered and not good.expired and good.names_host
    bad = _seen("Certificate will expire\nHostname mx.library.example does NOT match certificate\n", before=())
    assert not bad.offered and bad.expired and not bad.names_host
    assert "EHLO in clear: (none)" in bad.render() and "certificate: Certificate will expire" in bad.render()
