from harness import evidence
from harness.mta.postfix.evidence.grammar import parse_line

LINES = [
    ("library", "Nov 29 13:05:05 mx postfix/smtpd[114]: NOQUEUE: reject: RCPT from mx.store.example[10.1.1.10]: 550 "
                "5.1.1 <nosuchuser@library.example>: Recipient address rejected: User unknown in local recipient "
                "table; from=<jack@store.example> to=<nosuchuser@library.example> proto=ESMTP helo=<mx.store.example>"),
    ("store", "Nov 29 13:05:05 mx postfix/cleanup[117]: 0384E176400: message-id=<1@store.example>"),
    ("store", "Nov 29 13:05:05 mx postfix/smtp[118]: 0384E176400: to=<nosuchuser@library.example>, relay=mx.library"
              ".example[10.1.1.11]:25, delay=0.01, delays=0/0/0/0.01, dsn=5.1.1, status=bounced (host said: 550)"),
    ("store", "Nov 29 13:05:05 mx postfix/bounce[119]: 0384E176400: sender non-delivery notification: 069DB176404"),
    ("store", "Nov 29 13:05:05 mx postfix/local[120]: 069DB176404: to=<jack@store.example>, relay=local, delay=0.01,"
              " delays=0/0/0/0, dsn=2.0.0, status=sent (delivered to maildir)"),
]
EVENTS = [parse_line(n, i, line) for i, (n, line) in enumerate(LINES)]


def test_rejection_during_the_dialogue() -> None:
    [r] = evidence.rejections(EVENTS)
    assert (r.node, r.stage, r.reply.code, r.reply.enhanced) == ("library", "RCPT", 550, "5.1.1")
    assert (r.sender, r.recipient) == ("jack@store.example", "nosuchuser@library.example")
    assert evidence.rejections(EVENTS, node="store") == []


def test_queue_deliveries_and_notices() -> None:
    assert evidence.queued(EVENTS, "store") == ["0384E176400"]
    assert evidence.queued(EVENTS, "library") == []
    ds = evidence.deliveries(EVENTS, "store")
    assert [(d.recipient, d.status, d.dsn, d.agent) for d in ds] == [
        ("nosuchuser@library.example", "bounced", "5.1.1", "postfix/smtp"),
        ("jack@store.example", "sent", "2.0.0", "postfix/local"),
    ]
    [n] = evidence.notices(EVENTS)
    assert (n.node, n.queue_id, n.dsn_queue_id, n.kind) == ("store", "0384E176400", "069DB176404", "non-delivery")


def test_a_refusal_after_the_transaction_has_a_queue_file_is_a_rejection_too() -> None:
    """Once one recipient was accepted, smtpd logs the next refusal with the queue id instead of NOQUEUE."""
    line = ("Nov 29 13:05:06 mx postfix/smtpd[114]: 4F1A2176401: reject: RCPT from mx.store.example[10.1.1.10]: 550 "
            "5.1.1 <nobody@library.example>: Recipient address rejected: User unknown in local recipient table; "
            "from=<jack@store.example> to=<nobody@library.example> proto=ESMTP helo=<mx.store.example>")
    [r] = evidence.rejections([parse_line("library", 9, line)])
    assert (r.stage, r.reply.code, r.recipient) == ("RCPT", 550, "nobody@library.example")
