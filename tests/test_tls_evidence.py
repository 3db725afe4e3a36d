"""TLS in the evidence: each MTA's reader gives a delivery the TLS session it went over (harness.evidence.records.
TlsSession), from the lines its SMTP client wrote; the story shows it for each hop. Real lines of Postfix 3.10 and
Exim 4.96 (library sending to the mock example.edu, suites/test_tls.py's situations)."""

from __future__ import annotations

from harness import evidence
from harness.evidence.events import LogEvent
from harness.evidence.records import TlsSession
from harness.mta.exim.evidence.grammar import parse_line as exim_line
from harness.mta.postfix.evidence.grammar import parse_line as postfix_line
from harness.verdict import Hop

EDU = "mx.example.edu[10.113.112.12]:25"
CIPHER = ("TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange x25519 server-signature ECDSA "
          "(prime256v1) server-digest SHA256")


def postfix(*lines: str) -> list[LogEvent]:
    return [postfix_line("library", i, f"Dec 07 05:28:27 mx {line}") for i, line in enumerate(lines)]


def sent(qid: str, pid: int = 506) -> str:
    return (f"postfix/smtp[{pid}]: {qid}: to=<jill@example.edu>, relay={EDU}, delay=0.06, delays=0.01/0.02/0.02/0.01,"
            " dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 57-1)")


def test_postfix_a_verified_session_belongs_to_the_delivery_after_it() -> None:
    [d] = evidence.deliveries(postfix(f"postfix/smtp[506]: Verified TLS connection established to {EDU}: {CIPHER}",
                                      sent("B93432C8110")))
    assert d.tls == TlsSession("TLSv1.3", "TLS_AES_256_GCM_SHA384", True, "Verified"), d.tls
    assert d.tls.describe() == "TLSv1.3, verified"


def test_postfix_a_certificate_that_did_not_verify_says_why() -> None:
    [d] = evidence.deliveries(postfix(
        f"postfix/smtp[397]: certificate verification failed for {EDU}: untrusted issuer /O=nobody/CN=an untrusted CA",
        f"postfix/smtp[397]: Untrusted TLS connection established to {EDU}: {CIPHER}",
        f"postfix/smtp[397]: D6CD02C80CE: to=<jill@example.edu>, relay={EDU}, delay=0.03, delays=0.01/0.01/0.01/0, "
        "dsn=4.7.5, status=deferred (Server certificate not verified)"))
    assert d.status == "deferred" and d.dsn == "4.7.5" and d.tls is not None
    assert (d.tls.verified, d.tls.said, d.tls.problem) == (False, "Untrusted",
                                                           "untrusted issuer /O=nobody/CN=an untrusted CA")
    assert d.tls.describe() == "TLSv1.3, not verified (untrusted issuer /O=nobody/CN=an untrusted CA)"


def test_postfix_a_later_delivery_of_the_same_process_in_clear_has_no_tls() -> None:
    """The client process keeps running: a session's TLS line belongs to the request after it only."""
    ds = evidence.deliveries(postfix(f"postfix/smtp[506]: Trusted TLS connection established to {EDU}: {CIPHER}",
                                     sent("B93432C8110"), sent("B93432C8110"), sent("C00000C8110")))
    assert [d.tls is not None for d in ds] == [True, True, False]
    assert ds[0].tls is not None and ds[0].tls.describe() == "TLSv1.3, not verified (Trusted)"


def test_postfix_another_process_s_session_is_not_taken() -> None:
    [d] = evidence.deliveries(postfix(f"postfix/smtp[77]: Verified TLS connection established to {EDU}: {CIPHER}",
                                      sent("B93432C8110", pid=506)))
    assert d.tls is None


def test_postfix_tls_required_and_not_offered_is_a_4_7_4_deferral_in_clear() -> None:
    [d] = evidence.deliveries(postfix(
        f"postfix/smtp[122]: D60A52C86A3: to=<jill@example.edu>, relay={EDU}, delay=0.03, delays=0.01/0.01/0.01/0, "
        "dsn=4.7.4, status=deferred (TLS is required, but was not offered by host mx.example.edu[10.113.112.12])"))
    assert (d.status, d.dsn, d.tls, d.host) == ("deferred", "4.7.4", None, "mx.example.edu")


def exim(*lines: str) -> list[LogEvent]:
    return [exim_line("library", i, f"exim-main: 2026-12-07 05:30:04.742 [221] {line}") for i, line in enumerate(lines)]


def test_exim_the_x_and_cv_fields_of_a_delivery() -> None:
    [d] = evidence.deliveries(exim(
        "1xaRIa-00003X-2F => jill@example.edu F=<jill@library.example> P=<jill@library.example> R=dnslookup "
        "T=remote_smtp S=855 H=mx.example.edu [10.200.70.12]:25 X=TLS1.3:ECDHE_SECP256R1__ECDSA_SECP256R1_SHA256__"
        "AES_256_GCM:256 CV=no DN=\"CN=mx.example.edu\" C=\"250 2.0.0 Ok: queued as 13-1\" QT=0.041s DT=0.024s"))
    assert d.tls == TlsSession("TLSv1.3", "ECDHE_SECP256R1__ECDSA_SECP256R1_SHA256__AES_256_GCM:256", False, "CV=no")
    [clear] = evidence.deliveries(exim(
        "1xaRIP-000010-2G => jill@example.edu F=<jill@library.example> P=<jill@library.example> R=dnslookup "
        "T=remote_smtp S=820 H=mx.example.edu [10.200.70.12]:25 C=\"250 2.0.0 Ok: queued as 1-1\" QT=0.060s"))
    assert clear.tls is None


def test_exim_a_certificate_that_did_not_verify_defers_in_exims_words() -> None:
    [d] = evidence.deliveries(exim(
        "1xaRIb-00004N-0J == jill@example.edu R=dnslookup T=remote_smtp defer (-37) H=mx.example.edu "
        "[10.200.70.12]:25 DT=0.012s: TLS session: (certificate verification failed): certificate invalid"))
    assert d.status == "deferred" and d.host == "mx.example.edu" and d.tls is None
    assert d.detail == "TLS session: (certificate verification failed): certificate invalid"


def test_the_story_shows_tls_for_each_hop() -> None:
    verified = TlsSession("TLSv1.3", "TLS_AES_256_GCM_SHA384", True, "Verified")
    hop = Hop(3, "library", "relayed", "jill@example.edu", "edu", status="2.0.0", detail="250 2.0.0 Ok", tls=verified)
    assert hop.render().endswith("(2.0.0, 250 2.0.0 Ok) [TLSv1.3, verified]"), hop.render()
    assert "[" not in Hop(3, "library", "relayed", "jill@example.edu", "edu", status="2.0.0").render()
