"""What one of Exim's log lines says (its specification, chapter "Log files"): the records of
harness.evidence.records read from a single line. Every regular expression about Exim's words is here.

Flags: `<=` an arrival, `=>` a delivery (`->` a further address of the same delivery, `>>` a cutthrough delivery,
`*>` a delivery suppressed by -N), `**` a permanent failure, `==` a deferral. A bounce Exim creates arrives as a
message of its own from the null sender, `R=` naming the message it is about. `Completed`: the message's spool
files are gone.

Exim does not log the code of a reply it gave when it refused (only the message text): the reader takes a code at
the start of that text ("552 5.2.2 ..." when an ACL's message begins with one), else Exim's own default, 550 for
"rejected" and 451 for "temporarily rejected".
"""

from __future__ import annotations

import calendar
import re

from ....evidence.events import LogEvent
from ....evidence.records import Delivery, Expiry, Hold, Notice, Outcome, Rejection, SessionFailure, TlsSession
from ....smtp import Reply, Stage
from .grammar import MSGID

_HOSTFIELD = re.compile(r"(?:^| )H=(?P<name>[^\s\[(]+)?(?: ?\((?P<helo>[^)]*)\))? ?\[(?P<ip>[^\]]+)\]"
                        r"(?::(?P<port>\d+))?")
_REJECTED = re.compile(r"(?P<temp>temporarily )?rejected (?P<what>RCPT|MAIL|after DATA|DATA|EHLO|HELO|connection|"
                       r"VRFY|ETRN|after end of data)(?: (?P<addr><[^>]*>))?(?: in \"?[\w ]+\"? ACL)?(?::| -)? ?"
                       r"(?P<why>.*)$")
_SENDER = re.compile(r"(?:^| )F=<(?P<s>[^>]*)>")
_CODE = re.compile(r"^(?P<code>[45]\d\d)[ -](?P<text>.*)$")
# "SMTP error from remote mail server after RCPT TO:<jill@x>: 550 5.1.1 ..." ("mailer" in older releases)
_SAID = re.compile(r"SMTP error from remote (?:mail server|mailer) after (?:pipelined )?(?P<cmd>.+?): "
                   r"(?P<code>\d{3})[ -](?P<text>.*)$")
_AFTER: tuple[tuple[str, Stage], ...] = (
    ("initial connection", "BANNER"), ("EHLO", "EHLO"), ("HELO", "HELO"), ("STARTTLS", "STARTTLS"),
    ("AUTH", "EHLO"), ("MAIL FROM", "MAIL"), ("RCPT TO", "RCPT"), ("DATA", "DATA"), ("end of data", "END-OF-MESSAGE"),
    ("sending data block", "DATA"), ("BDAT", "BDAT"),
)
_STAGES: dict[str, Stage] = {"RCPT": "RCPT", "MAIL": "MAIL", "DATA": "DATA", "after DATA": "END-OF-MESSAGE",
                             "after end of data": "END-OF-MESSAGE", "EHLO": "EHLO", "HELO": "HELO",
                             "connection": "CONNECT", "VRFY": "VRFY", "ETRN": "ETRN"}
_DEFER_ERRNO = re.compile(r"defer \((?P<errno>-?\d+)\)(?:: (?P<why>.*))?$")
# "== jill@example.edu routing defer (-52) DT=0.000s: retry time not reached" (or "... not reached for any host for
# 'example.edu'"): a queue run came before the address's next try was due and left it alone. No attempt was made.
_NOT_TRIED = re.compile(r"^retry time not reached\b")
_STAMP = re.compile(r"^(?:[\w-]+: )?(?P<y>\d{4})-(?P<mo>\d\d)-(?P<d>\d\d) "
                    r"(?P<h>\d\d):(?P<mi>\d\d):(?P<s>\d\d)(?P<ms>\.\d{3})?")
# Exim appends its timings after a failure's reason ("...: 550 5.1.1 unknown DT=0.000s"): not part of the words
_TIMINGS = re.compile(r"(?: (?:QT|DT|RT)=\S+)+$")
# "1xaQFY-00001B-0U H=mx.example.edu [10.166.221.12]:25 Connection refused": the transport's own line about a host
_HOST_ERROR = re.compile(r"^H=(?P<name>[^\s\[(]+)?(?: ?\([^)]*\))? ?\[(?P<ip>[^\]]+)\](?::\d+)? (?P<why>.+)$")
# "rejected from <sender> H=...: message too big: read=8507 max=5000": refused once the data was read;
# "rejected MAIL FROM:<sender> H=...: message too big: size=14058 max=10000": refused at MAIL, for the size the client
# declared (RFC 1870's SIZE parameter) over message_size_limit
_REJECTED_FROM = re.compile(r"^rejected (?:(?P<mail>MAIL FROM:)|from )<(?P<sender>[^>]*)> .*?: (?P<why>.+)$")
# Exim logs no enhanced status for a failure it found itself: what its words mean in RFC 3463's terms, for the
# verdict's reasoning (a local part no router accepts is an unknown mailbox; a quota refusal a full mailbox).
_STATUS_OF_WORDS = (("Unrouteable address", "5.1.1"), ("mailbox is full", "5.2.2"),
                    ("No space left on device", "4.3.0"))
_OK_ID = re.compile(rf"\bid=(?P<id>{MSGID})\b")
_PARENTS = re.compile(r"<([^>]*)>")
_FLAGS = {"=>": "sent", "->": "sent", ">>": "sent", "*>": "sent", "**": "bounced", "==": "deferred"}


def _relay(e: LogEvent) -> tuple[str, str, str]:
    """(relay as the records write it "HOST[IP]:PORT", host, ip) of a line's H= field; ("", "", "") without one."""
    m = _HOSTFIELD.search(e.text)
    if not m:
        return "", "", ""
    name, ip = m.group("name") or "", m.group("ip")
    return f"{name or 'unknown'}[{ip}]" + (f":{m.group('port')}" if m.group("port") else ""), name, ip


def read_rejection(e: LogEvent) -> Rejection | None:
    """A refusal Exim logged as a server: "H=(helo) [ip]:port F=<sender> rejected RCPT <rcpt>: why"."""
    if e.mta != "exim" or e.program == "exim-reject" or "rejected " not in e.text:
        return None
    relay, _, _ = _relay(e)
    client = relay.rsplit(":", 1)[0] if relay else ""
    big = _REJECTED_FROM.match(e.text)
    if big:  # Exim's reply: "552 Message size exceeds maximum permitted" (the log has the reason, not the reply)
        why = big.group("why")
        code = 552 if "too big" in why else 550
        stage: Stage = "MAIL" if big.group("mail") else "END-OF-MESSAGE"
        return Rejection(e.node, stage, Reply.parse(code, why), big.group("sender"), "", e.line, client, e.seq)
    m = _REJECTED.search(e.text)
    if not m:
        return None
    why = m.group("why").strip()
    c = _CODE.match(why)
    code = int(c.group("code")) if c else (451 if m.group("temp") else 550)
    reply = Reply.parse(code, c.group("text") if c else why)
    s = _SENDER.search(e.text)
    addr = (m.group("addr") or "<>")[1:-1]
    rcpt = addr if m.group("what") == "RCPT" else ""
    sender = s.group("s") if s else (addr if m.group("what") == "MAIL" else "")
    return Rejection(e.node, _STAGES.get(m.group("what"), "RCPT"), reply, sender, rcpt, e.line, client, e.seq)


def _failure(why: str, e: LogEvent, host: str, ip: str) -> SessionFailure | None:
    """How a session failed without a reply, from the words after "defer (errno): " or a failure's reason."""
    low = why.lower()
    outcome: Outcome | None = None
    stage: Stage = "CONNECT"
    if "connection refused" in low:
        outcome = "refused"
    elif "no route to host" in low or "network is unreachable" in low or "host is unreachable" in low:
        outcome = "unreachable"
    elif "timed out" in low or "timeout" in low:
        outcome = "timed out"
        if "after" in low or "while" in low or "response to" in low:
            stage = next((st for k, st in _AFTER if k.lower() in low), "DATA")
    elif "connection closed" in low or "lost connection" in low or "connection reset" in low or "closed" in low:
        outcome = "lost"
        stage = next((st for k, st in _AFTER if k.lower() in low), "BANNER")
    if outcome is None:
        return None
    return SessionFailure(e.node, host, ip, stage, outcome, why, e.queue_id or "", e.seq, e.line)


def read_delivery(e: LogEvent) -> Delivery | None:
    """A delivery attempt's outcome for one address: `=>`, `->`, `>>`, `*>` (sent), `**` (bounced), `==`
    (deferred). A deferral that says the retry time was not reached is none: the address was not tried."""
    flag = e.get("flag")
    if e.mta != "exim" or not e.queue_id or flag not in _FLAGS or flag == "<=":
        return None
    status = _FLAGS[flag]
    address = (e.get("address") or "").rstrip(":")
    after_flag = e.text.split(" ", 2)[2] if e.text.count(" ") >= 2 else ""
    parents = []
    rest = after_flag
    while (p := re.match(r"^<([^>]*)> ?", rest)) is not None:
        parents.append(p.group(1))
        rest = rest[p.end():]
    # a local delivery logs the local part and the address it came as: "jill <jill@library.example>"
    recipient = address
    if "@" not in address and parents:
        recipient, parents = parents[0], parents[1:]
    original = parents[-1] if parents else ""
    relay, host, ip = _relay(e)
    transport = e.get("T") or ""
    detail = ""
    reply: Reply | None = None
    stage: Stage | None = None
    failure: SessionFailure | None = None
    if status == "sent":
        detail = e.get("C") or ""
        if not host and not ip:
            relay = transport or "local"
    else:
        # the reason follows the fields: "... T=remote_smtp H=x [ip]: SMTP error ..." or "defer (111): ..."
        reason = rest.split(": ", 1)[1] if ": " in rest else rest
        d = _DEFER_ERRNO.search(rest)
        if d:
            reason = d.group("why") or f"defer ({d.group('errno')})"
        detail = _TIMINGS.sub("", reason.strip())
        if status == "deferred" and _NOT_TRIED.match(detail):
            return None
        said = _SAID.search(detail)
        if said:
            reply = Reply.parse(int(said.group("code")), said.group("text"))
            cmd = said.group("cmd")
            stage = next((st for k, st in _AFTER if cmd.startswith(k) or k in cmd), None)
        elif host or ip or d:
            failure = _failure(detail, e, host, ip)
            stage = failure.stage if failure else None
        if not host and not ip:
            relay = transport or e.get("R") or "none"
    dsn = reply.enhanced if reply is not None and reply.enhanced else ""
    if not dsn and status != "sent" and not host:
        dsn = next((code for words, code in _STATUS_OF_WORDS if detail.startswith(words)), "")
    return Delivery(e.node, e.queue_id, recipient, relay, dsn or "", status, detail, transport or "exim", e.line,
                    e.seq, reply, stage, failure, host, ip,
                    forwarded=False, original=original if original.lower() != recipient.lower() else "",
                    conn_use=1, tls=read_tls(e) if host or ip else None)


def read_tls(e: LogEvent) -> TlsSession | None:
    """The TLS session a line's X= field names ("TLS1.3:ECDHE_...:256"), with CV= (whether the peer's certificate
    verified: log_selector +tls_certificate_verified); None in clear."""
    x = e.get("X")
    if not x:
        return None
    protocol, _, cipher = x.partition(":")
    cv = e.get("CV") or ""
    return TlsSession(re.sub(r"^TLS(?=\d)", "TLSv", protocol), cipher, cv == "yes", f"CV={cv}" if cv else "")


def read_host_error(e: LogEvent) -> SessionFailure | None:
    """A session with a next hop that failed without a reply, on the transport's own line:
    "ID H=mx.example.edu [10.1.2.12]:25 Connection refused" (the deferral of each address follows)."""
    if e.mta != "exim" or not e.queue_id:
        return None
    m = _HOST_ERROR.match(e.text)
    if not m:
        return None
    return _failure(m.group("why"), e, m.group("name") or "", m.group("ip"))


def read_arrival(e: LogEvent) -> tuple[str, str, str] | None:
    """(sender, Message-ID in angle brackets or "", the message it is about: R= for a bounce) of an arrival."""
    if e.mta != "exim" or not e.queue_id or e.get("flag") != "<=":
        return None
    sender = e.get("address") or ""
    mid = e.get("id") or e.get("id*") or ""  # id*=: a Message-ID Exim made itself (log_selector +msg_id_created)
    return ("" if sender == "<>" else sender), (f"<{mid}>" if mid else ""), e.get("R") or ""


def read_notice(e: LogEvent) -> Notice | None:
    """A bounce (or other DSN) Exim created: an arrival from the null sender that names, in R=, the message it is
    about."""
    a = read_arrival(e)
    if a is None or a[0] or not re.fullmatch(MSGID, a[2]):
        return None
    return Notice(e.node, a[2], e.queue_id or "", "non-delivery", e.line, e.seq)


def read_expiry(e: LogEvent) -> Expiry | None:
    """Exim gave up on an address because its retry time ran out, or on a frozen message (timeout_frozen_after)."""
    if e.mta == "exim" and e.queue_id and ("retry timeout exceeded" in e.text
                                           or "cancelled by timeout_frozen_after" in e.text):
        return Expiry(e.node, e.queue_id, e.seq, e.line)
    return None


def read_hold(e: LogEvent) -> Hold | None:
    """Exim froze a message: `ID Frozen` (a bounce it could not deliver: "(delivery error message)"); no queue
    runner tries it again until it is thawed."""
    if e.mta == "exim" and e.queue_id and (e.text == "Frozen" or e.text.startswith("Frozen (")):
        return Hold(e.node, e.queue_id, e.seq, e.line, e.text)
    return None


def is_release(e: LogEvent) -> bool:
    """Exim thawed a frozen message: `ID Unfrozen by ...` (forced delivery, `exim -Mt`, auto_thaw)."""
    return e.mta == "exim" and bool(e.queue_id) and e.text.startswith("Unfrozen")


def is_hold(e: LogEvent) -> bool:
    """The line sets a message aside (read_hold)."""
    return read_hold(e) is not None


def is_removal(e: LogEvent) -> bool:
    """Exim is done with a message: `ID Completed`."""
    return e.mta == "exim" and bool(e.queue_id) and e.text == "Completed"


def is_still_being_delivered(e: LogEvent) -> bool:
    """Exim sets no message aside as still locked (a queue runner skips it and the next one takes it)."""
    return False


def is_local_delivery(e: LogEvent, node: str, address: str) -> bool:
    """Exim on `node` stored a message for `address` in a mailbox (a delivery with no next hop)."""
    d = read_delivery(e) if e.node == node else None
    return d is not None and d.status == "sent" and not d.host and not d.address and \
        address.lower() in (d.recipient.lower(), d.original.lower())


def is_problem(e: LogEvent) -> bool:
    """Exim says something went wrong with itself: its panic log, or a configuration or expansion failure."""
    return e.mta == "exim" and (e.program == "exim-panic" or "failed to expand" in e.text
                                or "configuration error" in e.text.lower())


def logged_at(e: LogEvent) -> float | None:
    """When Exim wrote the line (its time stamp: UTC, to the millisecond), as a Unix time."""
    m = _STAMP.search(e.line)
    if not m:
        return None
    stamp = calendar.timegm((int(m.group("y")), int(m.group("mo")), int(m.group("d")), int(m.group("h")),
                             int(m.group("mi")), int(m.group("s")), 0, 0, 0))
    return stamp + (float(m.group("ms")) if m.group("ms") else 0.5)


def queued_as(text: str) -> str:
    """The message id in Exim's reply to the end of data ("250 OK id=1vXyZ1-000000-Ab"), else ""."""
    m = _OK_ID.search(text)
    return m.group("id") if m else ""

