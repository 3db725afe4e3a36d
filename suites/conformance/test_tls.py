"""Requirements on how a server offers TLS and AUTH to the clients that send it mail (RFC 3207, RFC 4954).

The client is store, a mail server of the topology next door (harness.starttls): it reads the EHLO reply in clear,
starts TLS, reads the certificate (not against any CA: the topology knows none of the Internet's) and the EHLO
reply over TLS. What the configuration means to offer is read from the server itself (MtaNode.server_tls).
"""

from __future__ import annotations

from harness.starttls import StartTls, probe_starttls
from harness.sut.conformance import Target, not_applicable, not_judged, requirement

CLIENT = "store"


def seen(mta: Target) -> StartTls:
    return probe_starttls(mta.world, mta.node, client=CLIENT)


@requirement("RFC 3207 s4 (STARTTLS offered, the handshake completes); RFC 8461 s4.2 and RFC 6125 s6 (a certificate "
             "a client can verify: unexpired, for the server's host name)",
             "with smtpd_tls_security_level = may (or encrypt), name the key and a certificate for myhostname (the "
             "name your MX record gives), unexpired, in smtpd_tls_chain_files (or smtpd_tls_cert_file and "
             "smtpd_tls_key_file); check them with `openssl x509 -noout -enddate -checkhost HOST -in CERT`")
def test_offers_starttls_with_a_certificate_a_client_can_use(mta: Target) -> None:
    """Where the configuration offers TLS, the EHLO reply offers STARTTLS, the handshake completes, and the
    certificate has not expired and names the server's host name."""
    mta.require_inbound()
    conf = mta.world.mta(mta.node).server_tls()
    if conf is None:
        not_judged(f"{mta.node}'s MTA cannot say whether its configuration offers TLS")
    if conf.level == "none":
        not_applicable(f"the configuration offers no STARTTLS ({conf.said or 'TLS off'}): a server may receive in "
                       "clear (RFC 3207 is optional), and clients that require TLS will not send to it")
    probe = seen(mta)
    assert probe.offered, (f"expected STARTTLS in the EHLO reply ({conf.said}); got:\n{probe.render()}")
    assert probe.protocol, f"expected the TLS handshake to complete; it did not:\n{probe.render()}"
    source = mta.info.tls_files if mta.info is not None else ""
    if source in ("made", "image"):
        where = ("the harness made a self-signed one" if source == "made" else
                 "the image's own stood in (Debian's snakeoil certificate, made for another host)")
        not_judged(f"STARTTLS is offered and the handshake completes ({probe.protocol}), but the certificate your "
                   f"configuration names is not readable on this host: {where}. Run the check where the key and "
                   "the certificate are readable at the paths main.cf names, or put them in the configuration's "
                   "folder (/etc/postfix/...)")
    assert not probe.expired, f"the certificate has expired:\n{probe.render()}"
    assert probe.names_host, f"the certificate does not name the server's host name {probe.host}:\n{probe.render()}"


@requirement("RFC 4954 s4 (AUTH PLAIN and LOGIN only over an encrypted connection) and s14; RFC 8314 s3",
             "set smtpd_tls_auth_only = yes where smtpd_sasl_auth_enable = yes (or smtpd_tls_security_level = "
             "encrypt); AUTH is then offered only after STARTTLS")
def test_auth_is_never_offered_before_tls(mta: Target) -> None:
    """Where the configuration enables AUTH, the EHLO reply in clear does not offer it (a client would send its
    password in clear); over TLS it does."""
    mta.require_inbound()
    conf = mta.world.mta(mta.node).server_tls()
    if conf is None:
        not_judged(f"{mta.node}'s MTA cannot say whether its configuration enables AUTH")
    if not conf.auth:
        not_applicable(f"the configuration enables no AUTH: no password to protect ({conf.said})")
    probe = seen(mta)
    assert "AUTH" not in probe.before, ("AUTH is offered before TLS: a client may send its password in clear "
                                        f"({conf.said}):\n{probe.render()}")
    if "AUTH" not in probe.after:
        not_judged(f"AUTH is enabled ({conf.said}) but offered neither in clear nor over TLS: its back end "
                   f"({conf.auth_backend or 'the SASL service'}) does not answer in the topology\n{probe.render()}")
