"""How a Postfix configuration's SMTP server on port 25 offers TLS and AUTH (the inbound TLS requirements read it
through MtaNode.server_tls): main.cf's values (`postconf -x`, the release's defaults where main.cf sets none),
unless master.cf's smtp service overrides them (`postconf -Px`, as for SMTP smuggling: harness.mta.postfix.smuggling).

smtpd_tls_security_level: none, may (STARTTLS offered), encrypt (required of every client); empty, the legacy
smtpd_use_tls (may) and smtpd_enforce_tls (encrypt) decide. AUTH: smtpd_sasl_auth_enable; smtpd_tls_auth_only =
yes offers it only once TLS is on (and smtpd_tls_security_level = encrypt does by itself)."""

from __future__ import annotations

from ..base import ServerTls
from .smuggling import SERVICES

PARAMS = ("smtpd_tls_security_level", "smtpd_use_tls", "smtpd_enforce_tls", "smtpd_sasl_auth_enable",
          "smtpd_tls_auth_only", "smtpd_sasl_type", "smtpd_sasl_path")


def effective(main: dict[str, str], overrides: dict[str, str]) -> dict[str, str]:
    """The values smtpd on port 25 runs with: main.cf's unless the smtp service's -o overrides them."""
    out = {k: main.get(k, "") for k in PARAMS}
    for service in SERVICES:
        for name in PARAMS:
            if f"{service}/{name}" in overrides:
                out[name] = overrides[f"{service}/{name}"]
    return out


def server_tls(values: dict[str, str]) -> ServerTls:
    level = values.get("smtpd_tls_security_level", "").strip().lower()
    if not level:
        level = ("encrypt" if values.get("smtpd_enforce_tls", "no").lower() == "yes" else
                 "may" if values.get("smtpd_use_tls", "no").lower() == "yes" else "none")
    auth = values.get("smtpd_sasl_auth_enable", "no").strip().lower() == "yes"
    tls_only = values.get("smtpd_tls_auth_only", "no").strip().lower() == "yes" or level == "encrypt"
    tls_words = [k for k in ("smtpd_tls_security_level",) if values.get(k)] or ["smtpd_use_tls", "smtpd_enforce_tls"]
    auth_words = ["smtpd_sasl_auth_enable"] + (["smtpd_tls_auth_only"] if auth else [])
    said = ", ".join(f"{k} = {values.get(k) or 'no'}" for k in (*tls_words, *auth_words))
    return ServerTls(level=level, auth=auth, auth_only_over_tls=tls_only, said=said,
                     auth_backend=f"{values.get('smtpd_sasl_type', '')}:{values.get('smtpd_sasl_path', '')}"
                     if auth else "")
