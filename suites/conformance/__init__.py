"""The conformance suite: the fault catalogue phrased as requirements on one server (`mta` fixture).

Run it against your own configuration with `mailharness check DIR` (Postfix's; Exim's with `--mta exim`), or
`pytest --mta-config DIR`.
"""

from harness.smtp import Transcript


def refuses_relay(transcript: Transcript) -> bool:
    """The server refused the (one) recipient as a relay it will not do: 5.7.1, or 4.7.1 (Postfix's default
    defer_unauth_destination defers); a server that does not offer ENHANCEDSTATUSCODES gives no enhanced status
    code with any reply (RFC 2034 s3; Exim's "550 relay not permitted"), and its 5xx or 4xx is the refusal."""
    [reply] = transcript.rcpt_replies
    if reply.enhanced is None and not transcript.offers("ENHANCEDSTATUSCODES"):
        return reply.code // 100 in (4, 5)
    return (reply.code // 100, reply.enhanced) in ((5, "5.7.1"), (4, "4.7.1"))
