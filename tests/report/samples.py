"""Stories for the report tests, without Docker: real Postfix log lines and a real DSN (captured from the suites'
forward_refused[alias] and scripted_refusal_at_a_mock_next_hop runs) replayed through the verdict's gather()."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

from harness import topology_with_mock_next_hop
from harness.mail import parse_message
from harness.report import scenario_record
from harness.smtp import Envelope, Exchange, Reply, Transcript
from harness.topology import TopologySpec
from harness.verdict import Story, gather
from harness.world import Sent

from ..logworld import LogWorld

FWD_MID = "<179595898949.6687.10114074385058042926@store.example>"
FWD_DSN_MID = "<20261129132949.8DF9618418C@mx.library.example>"
T = "Nov 29 13:29:49 mx postfix"
FORWARD_REFUSED = [
    ("store", f"{T}/cleanup[39]: 7E84518407E: message-id={FWD_MID}"),
    ("library", f"{T}/cleanup[68]: 85DF7184101: message-id={FWD_MID}"),
    ("store", f"{T}/smtp[40]: 7E84518407E: to=<jill@library.example>, relay=mx.library.example[10.100.68.11]:25, "
              "delay=0.04, delays=0.02/0.01/0.01/0.01, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 85DF7184101)"),
    ("store", f"{T}/qmgr[25]: 7E84518407E: removed"),
    ("library", f"{T}/cleanup[68]: 87FA318416D: message-id={FWD_MID}"),
    ("library", f"{T}/local[69]: 85DF7184101: to=<jill@library.example>, relay=local, delay=0.01, "
                "delays=0.01/0/0/0, dsn=2.0.0, status=sent (forwarded as 87FA318416D)"),
    ("library", f"{T}/qmgr[63]: 85DF7184101: removed"),
    ("edu", f"{T}/smtpd[64]: NOQUEUE: reject: RCPT from mx.library.example[10.100.68.11]: 550 5.1.1 "
            "<jill@example.edu>: Recipient address rejected: No such user here; from=<jack@store.example> "
            "to=<jill@example.edu> proto=ESMTP helo=<mx.library.example>"),
    ("library", f"{T}/smtp[70]: 87FA318416D: to=<jill@example.edu>, orig_to=<jill@library.example>, "
                "relay=mx.example.edu[10.100.68.12]:25, delay=0.02, delays=0/0.01/0.01/0.01, dsn=5.1.1, "
                "status=bounced (host mx.example.edu[10.100.68.12] said: 550 5.1.1 <jill@example.edu>: Recipient "
                "address rejected: No such user here (in reply to RCPT TO command))"),
    ("library", f"{T}/cleanup[68]: 8DF9618418C: message-id={FWD_DSN_MID}"),
    ("library", f"{T}/bounce[71]: 87FA318416D: sender non-delivery notification: 8DF9618418C"),
    ("store", f"{T}/cleanup[39]: 8F7CF18416D: message-id={FWD_DSN_MID}"),
    ("library", f"{T}/qmgr[63]: 87FA318416D: removed"),
    ("library", f"{T}/smtp[70]: 8DF9618418C: to=<jack@store.example>, relay=mx.store.example[10.100.68.10]:25, "
                "delay=0.01, delays=0.01/0/0/0, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 8F7CF18416D)"),
    ("library", f"{T}/qmgr[63]: 8DF9618418C: removed"),
    ("store", f"{T}/local[41]: 8F7CF18416D: to=<jack@store.example>, relay=local, delay=0.01, delays=0/0.01/0/0, "
              "dsn=2.0.0, status=sent (delivered to maildir)"),
    ("store", f"{T}/qmgr[25]: 8F7CF18416D: removed"),
]
# The DSN library sent (as delivered to Jack's Maildir; the returned message's body shortened).
FORWARD_DSN = f"""Return-Path: <>
Delivered-To: jack@store.example
Date: Sun, 29 Nov 2026 13:29:49 +0000 (UTC)
From: Mail Delivery System <MAILER-DAEMON@library.example>
Subject: Undelivered Mail Returned to Sender
To: jack@store.example
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="87FA318416D.1795958989/mx.library.example"
Content-Transfer-Encoding: 8bit
Message-Id: {FWD_DSN_MID}

This is a MIME-encapsulated message.

--87FA318416D.1795958989/mx.library.example
Content-Description: Notification
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

This is the mail system at host mx.library.example.

<jill@example.edu> (expanded from <jill@library.example>): host
    mx.example.edu[10.100.68.12] said: 550 5.1.1 <jill@example.edu>: Recipient
    address rejected: No such user here (in reply to RCPT TO command)

--87FA318416D.1795958989/mx.library.example
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.library.example
X-Postfix-Queue-ID: 87FA318416D
X-Postfix-Sender: rfc822; jack@store.example
Arrival-Date: Sun, 29 Nov 2026 13:29:49 +0000 (UTC)

Final-Recipient: rfc822; jill@example.edu
Original-Recipient: rfc822;jill@library.example
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.example.edu
Diagnostic-Code: smtp; 550 5.1.1 <jill@example.edu>: Recipient address
    rejected: No such user here

--87FA318416D.1795958989/mx.library.example
Content-Description: Undelivered Message
Content-Type: message/rfc822
Content-Transfer-Encoding: 8bit

Return-Path: <jack@store.example>
From: jack@store.example
To: jill@library.example
Subject: Create true rule where hope pass
Date: Sun, 29 Nov 2026 13:29:49 -0000
Message-ID: {FWD_MID}
MIME-Version: 1.0

Purpose difficult thing perform final.

--87FA318416D.1795958989/mx.library.example--
"""

MOCK_MID = "<179595899290.6687.3217966802020528292@store.example>"
MOCK_DSN_MID = "<20261129132953.0D6CE186060@mx.store.example>"
M = "Nov 29 13:29:53 mx postfix"
MOCK_REFUSAL = [
    ("store", f"{M}/cleanup[39]: E9B0818605A: message-id={MOCK_MID}"),
    ("store", f"{M}/smtp[40]: E9B0818605A: to=<jill@example.edu>, relay=mx.example.edu[10.240.218.12]:25, delay=0.1, "
              "delays=0.03/0.02/0.03/0.03, dsn=5.7.1, status=bounced (host mx.example.edu[10.240.218.12] said: 550 "
              "5.7.1 Scripted refusal for the test (in reply to RCPT TO command))"),
    ("store", f"{M}/cleanup[39]: 0D6CE186060: message-id={MOCK_DSN_MID}"),
    ("store", f"{M}/bounce[41]: E9B0818605A: sender non-delivery notification: 0D6CE186060"),
    ("store", f"{M}/qmgr[25]: E9B0818605A: removed"),
    ("store", f"{M}/local[42]: 0D6CE186060: to=<jack@store.example>, relay=local, delay=0.01, delays=0/0/0/0, "
              "dsn=2.0.0, status=sent (delivered to maildir)"),
    ("store", f"{M}/qmgr[25]: 0D6CE186060: removed"),
]


class FakeMailbox:
    def __init__(self, world: FakeWorld, address: str) -> None:
        self.world, self.address = world, address

    def messages(self) -> list[EmailMessage]:
        return [parse_message(m) for m in self.raw_messages()]

    def raw_messages(self) -> list[bytes]:
        if self.world.broken_mailboxes:
            raise RuntimeError("container gone")
        return [m.encode("utf-8") for m in self.world.boxes.get(self.address, [])]


class FakeWorld(LogWorld):
    """What gather() and scenario_record() use of a MailTopology (harness.ports): the nodes, the log, the log
    barrier, mailboxes (with the DSNs given, or broken)."""

    def __init__(self, lines: list[tuple[str, str]], spec: TopologySpec | None = None,
                 boxes: dict[str, list[str]] | None = None, broken_mailboxes: bool = False) -> None:
        super().__init__(lines, spec)
        self.boxes = boxes or {}
        self.broken_mailboxes = broken_mailboxes
        self.mailbox_reads = 0

    def mailbox(self, address: str) -> FakeMailbox:
        self.mailbox_reads += 1
        return FakeMailbox(self, address)


def sent(mid: str, rcpts: list[str], *, qid: str = "7E84518407E", refused_at: str = "") -> Sent:
    msg = EmailMessage()
    msg["From"] = "jack@store.example"
    msg["Message-ID"] = mid
    t = Transcript("10.100.68.10:25", Envelope.of("jack@store.example", rcpts))
    if refused_at == "MAIL":
        t.exchanges.append(Exchange("MAIL", "MAIL FROM:<jack@store.example>",
                                    Reply(452, "4.3.1", "4.3.1 Insufficient system storage"), 0.0))
    else:
        t.exchanges.append(Exchange("END-OF-MESSAGE", "<message>", Reply(250, "2.0.0", f"2.0.0 Ok: queued as {qid}"),
                                    0.0))
    return Sent(t.envelope, t, msg, "store")


def story(world: FakeWorld, s: Sent) -> Story:
    return gather(world, s, timeout=0)


def forward_refused(dsn_text: str | None = FORWARD_DSN, **kw: Any) -> Story:
    """library forwards Jill to example.edu, which refuses at RCPT; library's DSN travels back to Jack."""
    boxes = {"jack@store.example": [dsn_text]} if dsn_text is not None else {}
    return story(FakeWorld(FORWARD_REFUSED, boxes=boxes, **kw), sent(FWD_MID, ["jill@library.example"]))


def mock_refusal() -> Story:
    """The mock next hop refuses at RCPT (its refusal known from store's side); the DSN is not in the mailbox."""
    world = FakeWorld(MOCK_REFUSAL, spec=topology_with_mock_next_hop())
    return story(world, sent(MOCK_MID, ["jill@example.edu"], qid="E9B0818605A"))


def queue_full() -> Story:
    """store refuses at MAIL FROM (452 4.3.1): nothing is queued, nobody sends a DSN."""
    return story(FakeWorld([]), sent("<3@store.example>", ["jill@library.example"], refused_at="MAIL"))


def unreachable_submission() -> Story:
    """library, where Jack submits, refuses the connection: no session, nothing queued."""
    msg = EmailMessage()
    msg["From"] = "jack@store.example"
    msg["Message-ID"] = "<4@store.example>"
    t = Transcript("10.1.1.11:25", Envelope.of("jack@store.example", ["jill@library.example"]))
    t.exchanges.append(Exchange("CONNECT", "", Reply(0, None, "connect to 10.1.1.11:25: Connection refused"), 0.0))
    return story(FakeWorld([]), Sent(t.envelope, t, msg, "library"))


N = "Dec 02 02:18:57 mx postfix"
NEXT_HOP_DOWN = [  # suites/test_next_hop.py::test_next_hop_unavailable[next_hop_down], as Postfix 3.7 logged it
    ("store", f"{N}/cleanup[68]: 74C7317227E: message-id=<5@store.example>"),
    ("store", f"{N}/smtp[69]: connect to mx.library.example[10.84.8.11]:25: Connection refused"),
    ("store", f"{N}/smtp[69]: 74C7317227E: to=<jill@library.example>, relay=none, delay=0.02, delays=0.01/0.01/0/0, "
              "dsn=4.4.1, status=deferred (connect to mx.library.example[10.84.8.11]:25: Connection refused)"),
    ("store", f"{N}/qmgr[64]: 74C7317227E: from=<jack@store.example>, status=expired, returned to sender"),
    ("store", f"{N}/qmgr[64]: 74C7317227E: removed"),
]


def next_hop_down() -> Story:
    """library refuses store's connections: store's attempt is deferred at CONNECT, then the message expires."""
    return story(FakeWorld(NEXT_HOP_DOWN), sent("<5@store.example>", ["jill@library.example"], qid="74C7317227E"))


def broken_dsn() -> str:
    """The forward DSN with a malformed Status (an error for the checklist)."""
    return FORWARD_DSN.replace("Status: 5.1.1", "Status: 5.1")


def sample_records() -> list[dict[str, Any]]:
    """Four records: a failed forward (DSN with an error and warnings), a mock refusal, a refusal at MAIL, and a
    scenario without a verdict; docs and names carry characters that need escaping."""
    return [
        scenario_record("suites/test_forwarding.py::test_forward_refused[alias]", "failed", 0.55,
                        "jill@library.example forwards to <jill@example.edu>, which refuses: library bounces & tells",
                        [forward_refused(broken_dsn())]),
        scenario_record("suites/test_rfc3461.py::test_scripted_refusal_at_a_mock_next_hop", "passed", 0.17,
                        "The mock refuses at RCPT with a scripted reply", [mock_refusal()]),
        scenario_record("suites/test_storage.py::test_queue_full", "passed", 0.16,
                        "A full queue file system: 452 4.3.1 at MAIL FROM", [queue_full()]),
        scenario_record("suites/test_x.py::test_no_verdict", "skipped", 0.0, "<script>alert('x')</script>", []),
    ]
