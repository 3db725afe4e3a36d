"""The explorer's guarantees on stories made of log lines (no Docker), where a correct configuration's mail takes a
way the harness's own does not (`mailharness explore` reported each as a violation, wrongly):

- its own aliases rewrite the recipient: Debian's /etc/aliases sends postmaster to root, and Postfix logs the
  delivery (or the failure) to root with orig_to=<postmaster@...> (postfix-debian). The recipient's fate follows
  that line: it is not dropped, and the DSN comes from the server that gave up on it;
- it hands the message to Dovecot over LMTP, which Postfix logs as a relay to its own host, after a content filter
  on the node (postfix-distribution): that is a delivery, the filter's hand-over ("queued as") is not."""

from __future__ import annotations

from email.message import EmailMessage

from harness.explore.guarantees import Judged, judge
from harness.smtp import Envelope, Exchange, Reply, Transcript
from harness.verdict import gather
from harness.world import Sent

from .logworld import LogWorld

MID = "<1@store.example>"
T = "Nov 29 13:05:05 mx postfix"
RELAYED = [
    ("store", f"{T}/cleanup[117]: 0384E176400: message-id={MID}"),
    ("store", f"{T}/smtp[118]: 0384E176400: to=<postmaster@library.example>, relay=mx.library.example[10.1.1.11]:25, "
              "delay=0.01, delays=0/0/0/0.01, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 2222222222B)"),
    ("store", f"{T}/qmgr[113]: 0384E176400: removed"),
    ("library", f"{T}/cleanup[217]: 2222222222B: message-id={MID}"),
]
DELIVERED = [*RELAYED,
             ("library", f"{T}/local[218]: 2222222222B: to=<root@mx.library.example>, orig_to=<postmaster@library."
                         "example>, relay=local, delay=0.02, delays=0.01/0.01/0/0, dsn=2.0.0, status=sent (delivered "
                         "to mailbox)"),
             ("library", f"{T}/qmgr[213]: 2222222222B: removed")]
BOUNCED = [*RELAYED,
           ("library", f"{T}/local[218]: 2222222222B: to=<root@mx.library.example>, orig_to=<postmaster@library."
                       "example>, relay=local, delay=0.02, delays=0.01/0.01/0/0.01, dsn=4.3.0, status=deferred (cannot "
                       "update mailbox /var/mail/root for user root. error writing message: No space left on device)"),
           ("library", f"{T}/qmgr[213]: 2222222222B: from=<jack@store.example>, status=expired, returned to sender"),
           ("library", f"{T}/cleanup[217]: 3333333333C: message-id=<dsn@mx.library.example>"),
           ("library", f"{T}/bounce[219]: 2222222222B: sender non-delivery notification: 3333333333C"),
           ("library", f"{T}/qmgr[213]: 2222222222B: removed"),
           ("library", f"{T}/smtp[220]: 3333333333C: to=<jack@store.example>, relay=mx.store.example[10.1.1.10]:25, "
                       "delay=0.02, delays=0/0.01/0/0, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 4444444444D)"),
           ("library", f"{T}/qmgr[213]: 3333333333C: removed"),
           ("store", f"{T}/cleanup[117]: 4444444444D: message-id=<dsn@mx.library.example>"),
           ("store", f"{T}/local[120]: 4444444444D: to=<jack@store.example>, relay=local, delay=0.01, delays=0/0/0/0, "
                     "dsn=2.0.0, status=sent (delivered to maildir)"),
           ("store", f"{T}/qmgr[113]: 4444444444D: removed")]


def _judged(lines: list[tuple[str, str]], rcpt: str = "postmaster@library.example") -> Judged:
    msg = EmailMessage()
    msg["Message-ID"] = MID
    t = Transcript("10.1.1.10:25", Envelope.of("jack@store.example", [rcpt]))
    t.exchanges.append(Exchange("END-OF-MESSAGE", "<message>", Reply(250, "2.0.0", "2.0.0 Ok: queued as 0384E176400"),
                                0.0))
    story = gather(LogWorld(lines), Sent(t.envelope, t, msg, "store"), timeout=0)
    return Judged(story, {}, {})


def test_a_recipient_the_configuration_aliases_is_delivered_not_dropped() -> None:
    j = _judged(DELIVERED)
    found = judge(j)
    fate = j.fates["postmaster@library.example"]
    assert found == [], f"expected no violation, got {found}\n{j.story.render()}"
    assert (fate.delivered, fate.finals) == (1, ["root@mx.library.example"]), \
        f"expected one delivery, to root@mx.library.example, got {fate}"


def test_a_failure_after_the_alias_is_the_servers_that_bounced_it() -> None:
    j = _judged(BOUNCED)
    found = judge(j)
    fate = j.fates["postmaster@library.example"]
    assert found == [], f"expected no violation, got {found}\n{j.story.render()}"
    assert fate.bounced_at == ["library"] and fate.delivered == 0, f"expected bounced at library, got {fate}"
    assert [(d.node, d.kind, d.to) for d in j.story.dsns] == [("library", "failed", "jack@store.example")], \
        j.story.render()


FILTERED = [*((n, line.replace("postmaster@", "jill@")) for n, line in RELAYED),
            ("library", f"{T}/amavis/smtp[193]: 2222222222B: to=<jill@library.example>, relay=127.0.0.1[127.0.0.1]:"
                        "10024, delay=0.19, delays=0.12/0.04/0.03/0, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as "
                        "5555555555E)"),
            ("library", f"{T}/qmgr[213]: 2222222222B: removed"),
            ("library", f"{T}/cleanup[217]: 5555555555E: message-id={MID}")]
LMTP = [*FILTERED,
        ("library", f"{T}/lmtp[195]: 5555555555E: to=<jill@library.example>, relay=mx.library.example[/var/run/"
                    "dovecot/lmtp], delay=0.08, delays=0/0.01/0.04/0.02, dsn=2.0.0, status=sent (250 2.0.0 "
                    "<jill@library.example> Hp+vOAsHFmvEAAAAB09NGg Saved)"),
        ("library", f"{T}/qmgr[213]: 5555555555E: removed")]
# the same filter reached by the node's own name: its "queued as" is no delivery, the message comes back
ON_ITS_HOST = [*FILTERED[:4],
               ("library", f"{T}/amavis/smtp[193]: 2222222222B: to=<jill@library.example>, relay=mx.library.example["
                           "10.1.1.11]:10024, delay=0.19, delays=0.12/0.04/0.03/0, dsn=2.0.0, status=sent (250 "
                           "2.0.0 Ok: queued as 5555555555E)"),
               ("library", f"{T}/qmgr[213]: 2222222222B: removed")]


def test_lmtp_to_dovecot_on_the_node_after_a_content_filter_is_a_delivery() -> None:
    j = _judged(LMTP, "jill@library.example")
    found = judge(j)
    fate = j.fates["jill@library.example"]
    assert found == [], f"expected no violation, got {found}\n{j.story.render()}"
    assert fate.delivered == 1, f"expected one delivery (LMTP), got {fate}\n{j.story.render()}"


def test_a_content_filter_hand_over_is_no_delivery() -> None:
    for lines in (FILTERED, ON_ITS_HOST):
        j = _judged(lines, "jill@library.example")
        judge(j)
        fate = j.fates["jill@library.example"]
        assert fate.delivered == 0, f"expected no delivery (the filter queued it), got {fate}\n{j.story.render()}"
