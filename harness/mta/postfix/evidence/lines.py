"""What one of Postfix's log lines says: the patterns of its wording, the records read from a single line
(a refusal, a delivery attempt, a failed session, a notification, an expiry), and the tests on one line.

Every regular expression about Postfix's words is here; harness.evidence.views reads whole logs with these.
"""

from __future__ import annotations

import re

from ....evidence.events import LogEvent
from ....evidence.records import (
    Delivery,
    Expiry,
    Hold,
    Notice,
    Outcome,
    Rejection,
    SessionFailure,
    TlsSession,
    split_host,
)
from ....smtp import Reply, Stage, stage_of

_REJECT = re.compile(r"^reject: (?P<stage>[A-Z-]+) from (?P<client>\S+): (?P<code>\d{3}) (?P<text>.*?); "
                     r"from=<(?P<sender>[^>]*)>(?: to=<(?P<rcpt>[^>]*)>)?")  # no to= at MAIL FROM
_SAID = re.compile(r"said: (?P<code>\d{3})[ -](?P<text>.*?)(?: \(in reply to (?P<cmd>.+?)\))?$")
_REFUSED_TO_TALK = re.compile(r"^host (?P<host>\S+) refused to talk to me: (?P<code>\d{3})[ -](?P<text>.*)$")
_QUEUED_AS = re.compile(r"queued as (\w+)")
_NOTICE = re.compile(r"^sender (?P<kind>non-delivery|delay|delivery status) notification: (?P<qid>\w+)")
# notify_classes: a copy for the postmaster (bounce_notice_recipient, delay_notice_recipient...), bounce(8)'s
# "QID: postmaster non-delivery notification: NEWQID"
_POSTMASTER_NOTICE = re.compile(r"^postmaster (?P<kind>non-delivery|delay|delivery status) notification: "
                                r"(?P<qid>\w+)")
_PROCESS = re.compile(r"(?:^|\s)(?P<prog>[\w/.-]+)\[(?P<pid>\d+)\]: ")
# Postfix's SMTP client, when a session with a server fails without a reply to go by (smtp_connect.c and
# smtp_trouble.c): "connect to HOST[ADDR]:PORT: WHY", "lost connection with HOST[ADDR] while WHERE",
# "conversation with HOST[ADDR] timed out while WHERE"; the queue manager may prefix "delivery temporarily
# suspended: " when it has marked the destination as down.
_SUSPENDED = "delivery temporarily suspended: "
_CONNECT = re.compile(r"^connect to (?P<server>\S+?): (?P<why>.+)$")
_LOST = re.compile(r"^(?:lost connection with (?P<lost>\S+)|conversation with (?P<slow>\S+) timed out) "
                   r"while (?P<where>.+?)$")
# "while ..." (smtp_proto.c's `where` and xfer_states) and "(in reply to ... command)" (xfer_request) -> Stage
_WHERE: tuple[tuple[str, Stage], ...] = (
    ("receiving the initial server greeting", "BANNER"), ("performing the EHLO handshake", "EHLO"),
    ("performing the HELO handshake", "HELO"), ("performing the LHLO handshake", "EHLO"),
    ("receiving the STARTTLS response", "STARTTLS"), ("sending XFORWARD", "MAIL"), ("sending MAIL FROM", "MAIL"),
    ("sending RCPT TO", "RCPT"), ("sending DATA command", "DATA"), ("sending message body", "DATA"),
    ("sending end of data", "END-OF-MESSAGE"), ("sending final RSET", "RSET"), ("sending RSET probe", "RSET"),
    ("sending QUIT", "QUIT"),
)
_IN_REPLY_TO: dict[str, Stage] = {"end of DATA": "END-OF-MESSAGE", "final RSET": "RSET", "RSET probe": "RSET",
                                  "XFORWARD name/address": "MAIL", "XFORWARD helo/protocol": "MAIL"}
_LOCAL_RELAYS = ("local", "none", "virtual")  # relay= values that name no SMTP server
_PROBLEMS = ("fatal:", "panic:", "error:", "warning:")
_ORIG_TO = re.compile(r"(?:^|[\s,])orig_to=<(?P<addr>[^>]*)>")
_CREATED = re.compile(r"^(?P<head>sender (?:non-delivery|delay|delivery status) notification: )(?P<qid>\w+)$")
_CONN_USE = re.compile(r"(?:^|[\s,])conn_use=(?P<n>\d+)")
# The SMTP client's TLS lines (smtp_tls_loglevel >= 1, tls_session.c and tls_verify.c): before the delivery lines
# of the same process, without a queue id. "Verified": the chain and the name checked; "Trusted": the chain only.
_TLS = re.compile(r"^(?P<said>Anonymous|Untrusted|Trusted|Verified) TLS connection established to (?P<server>\S+?): "
                  r"(?P<proto>\S+) with cipher (?P<cipher>\S+)")
_TLS_FAILED = re.compile(r"^(?:server )?certificate verification failed for (?P<server>\S+?): (?P<why>.+)$")
_STAMP = re.compile(r"^(?P<mon>\w{3}) +(?P<day>\d{1,2}) (?P<h>\d\d):(?P<m>\d\d):(?P<s>\d\d) ")
_MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                                       "Dec"), 1)}

def read_rejection(e: LogEvent) -> Rejection | None:
    """The refusal an smtpd line reports, else None. NOQUEUE before the transaction has a queue file; the queue id
    once it has one (a refused recipient after an accepted one, a refusal at END-OF-MESSAGE)."""
    if not (e.queue_id and e.program.endswith("smtpd")):
        return None
    m = _REJECT.match(e.text)
    at = stage_of(m.group("stage")) if m else None
    if m is None or at is None:
        return None
    reply = Reply.parse(int(m.group("code")), m.group("text"))
    return Rejection(e.node, at, reply, m.group("sender"), m.group("rcpt") or "", e.line, m.group("client"), e.seq)


def parse_session_failure(text: str, node: str = "", *, queue_id: str = "", seq: int = 0,
                          line: str = "") -> SessionFailure | None:
    """A SessionFailure from Postfix's words (a log line's text or a delivery's status detail), else None."""
    reason = text.strip()
    words = reason.removeprefix(_SUSPENDED)
    m = _CONNECT.match(words)
    if m:
        host, addr = split_host(m.group("server"))
        why = m.group("why").lower()
        outcome: Outcome = "refused" if "refused" in why else "timed out" if "timed out" in why else "unreachable"
        return SessionFailure(node, host, addr, "CONNECT", outcome, reason, queue_id, seq, line)
    m = _LOST.match(words)
    if m:
        host, addr = split_host(m.group("lost") or m.group("slow") or "")
        where = m.group("where")
        found: Stage = next((st for prefix, st in _WHERE if where.startswith(prefix)), "DATA")
        return SessionFailure(node, host, addr, found, "lost" if m.group("lost") else "timed out", reason, queue_id,
                              seq, line)
    return None


def read_session_failure(e: LogEvent) -> SessionFailure | None:
    """A failed session the SMTP (or LMTP) client logged on its own line, before it logged a queue id, else None."""
    if e.program.endswith(("/smtp", "/lmtp")) and not e.queue_id:
        return parse_session_failure(e.text, e.node, seq=e.seq, line=e.line)
    return None


def read_tls(e: LogEvent) -> tuple[str, TlsSession] | None:
    """The TLS session an SMTP client line says it established, with the server as logged ("HOST[ADDR]:PORT");
    None for any other line."""
    if not e.program.endswith("/smtp") or e.queue_id:
        return None
    m = _TLS.match(e.text)
    if not m:
        return None
    return m.group("server"), TlsSession(m.group("proto"), m.group("cipher"), m.group("said") == "Verified",
                                        m.group("said"))


def read_tls_problem(e: LogEvent) -> tuple[str, str] | None:
    """(server as logged, why) of a client line that says the server's certificate did not verify."""
    if not e.program.endswith("/smtp") or e.queue_id:
        return None
    m = _TLS_FAILED.match(e.text)
    return (m.group("server"), m.group("why")) if m else None


def process_of(e: LogEvent) -> tuple[str, str, str]:
    """(node, program, pid) of the process that logged the line (pid "" when the line names none)."""
    p = _PROCESS.search(e.line)
    return e.node, e.program, p.group("pid") if p else ""


def read_delivery(e: LogEvent) -> Delivery | None:
    """The delivery attempt a delivery agent's line reports, with the next hop's reply and its stage, or how its
    session failed; None for any other line."""
    if not (e.queue_id and "status" in e.fields and e.to is not None):
        return None
    relay, detail, status = e.get("relay") or "", e.get("detail") or "", e.get("status") or ""
    host, addr = ("", "") if relay in _LOCAL_RELAYS else split_host(relay)
    reply: Reply | None = None
    at: Stage | None = None
    said = _SAID.search(detail)
    talk = _REFUSED_TO_TALK.match(detail.removeprefix(_SUSPENDED))
    failure = None if said or talk else parse_session_failure(detail, e.node, queue_id=e.queue_id or "",
                                                               seq=e.seq, line=e.line)
    if said:
        reply = Reply.parse(int(said.group("code")), said.group("text"))
        cmd = (said.group("cmd") or "").removesuffix(" command")
        at = _IN_REPLY_TO.get(cmd) or stage_of(cmd) if cmd else None
    elif talk:  # the greeting (or a 421 to EHLO/HELO) turned the client away
        reply, at = Reply.parse(int(talk.group("code")), talk.group("text")), "BANNER"
        host, addr = split_host(talk.group("host"))
    elif failure is not None:
        at = failure.stage
        host, addr = (failure.host, failure.address) if failure.host or failure.address else (host, addr)
    o = _ORIG_TO.search(e.line)
    original = o.group("addr") if o else ""
    c = _CONN_USE.search(e.line)
    return Delivery(e.node, e.queue_id or "", e.to or "", relay, e.get("dsn") or "", status, detail, e.program,
                    e.line, e.seq, reply, at, failure, host, addr,
                    forwarded=status == "sent" and detail.startswith("forwarded"),
                    original=original if original.lower() != (e.to or "").lower() else "",
                    conn_use=int(c.group("n")) if c else 1)


def queued_as(text: str) -> str:
    """The queue id in a server's "250 2.0.0 Ok: queued as ABC" ("" if none)."""
    m = _QUEUED_AS.search(text)
    return m.group(1) if m else ""


def read_notice(e: LogEvent, *, postmaster: bool = False) -> Notice | None:
    """The notification bounce(8) says it created: for the sender, or (postmaster=True) the copy for the
    postmaster (notify_classes); else None."""
    if e.program == "postfix/bounce" and e.queue_id:
        m = (_POSTMASTER_NOTICE if postmaster else _NOTICE).match(e.text)
        if m:
            return Notice(e.node, e.queue_id, m.group("qid"), m.group("kind"), e.line, e.seq)
    return None


def created_notice(e: LogEvent) -> tuple[str, str] | None:
    """bounce(8)'s "sender ... notification: NEWQID" as (its words up to the new queue id, that queue id)."""
    m = _CREATED.match(e.text) if e.program.endswith("/bounce") else None
    return (m.group("head"), m.group("qid")) if m else None


def read_expiry(e: LogEvent) -> Expiry | None:
    return Expiry(e.node, e.queue_id, e.seq, e.line) if e.queue_id and e.get("status") == "expired" else None


def read_message_id(e: LogEvent) -> str | None:
    """The Message-ID cleanup logged for a message it queued (`message-id=<...>`), else None."""
    if e.program == "postfix/cleanup" and e.queue_id and e.queue_id != "NOQUEUE" and "message-id=" in e.text:
        return e.text.split("message-id=", 1)[1].strip()
    return None


def is_message_id_line(e: LogEvent) -> bool:
    """A cleanup line that starts with `message-id=`: the first line of a DSN or of a forwarded copy."""
    return e.program.endswith("/cleanup") and e.text.startswith("message-id=")


def opens_queue_file(e: LogEvent) -> bool:
    """A message's first line as it arrives: smtpd's `client=`, pickup's `uid=`."""
    return e.program.endswith(("/smtpd", "/pickup")) and e.text.startswith(("client=", "uid="))


def read_sender(e: LogEvent) -> str | None:
    """The envelope sender ("" for a DSN's null sender) of a message the queue manager took in
    (`QID: from=<..>, size=.., nrcpt=.. (queue active)`), else None."""
    if e.program.endswith("/qmgr") and e.queue_id and e.queue_id != "NOQUEUE" and e.sender is not None \
            and "nrcpt" in e.fields:
        return e.sender or ""
    return None


def read_hold(e: LogEvent) -> Hold | None:
    """Postfix put a message on hold: a HOLD action (`QID: hold: header ...`, cleanup) or an operator's
    `postsuper -h` (`QID: placed on hold`). The queue manager does not look at it until it is released."""
    if e.queue_id and (e.text.startswith("hold: ") or e.text == "placed on hold"):
        return Hold(e.node, e.queue_id, e.seq, e.line, e.text.partition(";")[0])
    return None


def is_release(e: LogEvent) -> bool:
    """A held message released (`postsuper -H`: `QID: released from hold`)."""
    return bool(e.queue_id) and e.text == "released from hold"


def is_hold(e: LogEvent) -> bool:
    """The line puts a message on hold (read_hold)."""
    return read_hold(e) is not None


def is_removal(e: LogEvent) -> bool:
    """The queue manager is done with a message: `QID: removed`."""
    return e.text == "removed" and bool(e.queue_id)


def is_still_being_delivered(e: LogEvent) -> bool:
    """The queue manager found a message still locked by a delivery agent and parked it in the incoming queue
    (`QID: skipped, still being delivered`), for instance a queue manager restarted by `postfix reload` while an
    agent of its predecessor was still delivering. Once traffic stops, nothing looks at that message again until
    the queue manager is woken (new mail, `postqueue -f`)."""
    return bool(e.queue_id) and e.program.endswith("/qmgr") and e.text == "skipped, still being delivered"


def is_local_delivery(e: LogEvent, node: str, address: str) -> bool:
    """Postfix's local delivery agent on `node` delivered a message to `address`'s mailbox."""
    return (e.node == node and e.program == "postfix/local" and e.get("status") == "sent"
            and (e.to or "").lower() == address.lower())


def is_problem(e: LogEvent) -> bool:
    """A server says something went wrong with itself: a fatal, panic, error or warning line."""
    return e.text.startswith(_PROBLEMS)


def logged_at(e: LogEvent) -> float | None:
    """When the node wrote the line, from its own time stamp ("Dec 02 03:35:00 mx postfix/...": UTC, to the second,
    the year taken as the one of its arrival at the harness), as a Unix time; None for a line without one. The
    middle of that second, so that `e.at - logged_at(e)` estimates the line's way to the harness within 0.5 s."""
    import calendar
    import time

    m = _STAMP.match(e.line)
    month = _MONTHS.get(m.group("mon")) if m else None
    if m is None or month is None:
        return None
    year = time.gmtime(e.at).tm_year
    stamp = calendar.timegm((year, month, int(m.group("day")), int(m.group("h")), int(m.group("m")),
                             int(m.group("s")), 0, 0, 0))
    if stamp - e.at > 180 * 86400:  # written in December, arrived in January
        stamp = calendar.timegm((year - 1, month, int(m.group("day")), int(m.group("h")), int(m.group("m")),
                                 int(m.group("s")), 0, 0, 0))
    return stamp + 0.5
