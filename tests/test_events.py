import threading

import pytest

from harness.evidence.events import EventLog, MailTimeout
from harness.evidence.events import parse_line as plain_parse_line
from harness.mta.postfix.evidence.grammar import grammar, parse_line

BOUNCED = ("Nov 29 13:05:05 mx postfix/smtp[118]: 0384E176400: to=<nosuchuser@library.example>, "
           "relay=mx.library.example[10.159.78.11]:25, delay=0.01, delays=0/0/0/0.01, dsn=5.1.1, status=bounced "
           "(host mx.library.example[10.159.78.11] said: 550 5.1.1 <nosuchuser@library.example>: Recipient address "
           "rejected: User unknown in local recipient table (in reply to RCPT TO command))")


def test_postfix_delivery_lines_are_parsed_into_fields() -> None:
    e = parse_line("store", 0, BOUNCED)
    assert (e.program, e.queue_id, e.to) == ("postfix/smtp", "0384E176400", "nosuchuser@library.example")
    assert (e.get("dsn"), e.get("status")) == ("5.1.1", "bounced")
    assert e.get("relay") == "mx.library.example[10.159.78.11]:25"
    assert str(e.get("detail")).startswith("host mx.library.example[10.159.78.11] said: 550 5.1.1")


def test_noqueue_and_non_postfix_lines() -> None:
    e = parse_line("library", 1, "Nov 29 13:05:05 mx postfix/smtpd[114]: NOQUEUE: reject: RCPT from x[1.2.3.4]: "
                   "550 5.1.1 <a@b>: Recipient address rejected; from=<j@s> to=<a@b> proto=ESMTP helo=<mx>")
    assert e.queue_id == "NOQUEUE" and e.sender == "j@s" and e.to == "a@b"
    d = parse_line("dns", 2, "dnsmasq[1]: query[MX] library.example from 10.0.0.10")
    assert d.program == "dnsmasq" and d.queue_id is None
    raw = parse_line("x", 3, "something else entirely")
    assert raw.text == "something else entirely" and raw.program == ""



def test_a_node_that_runs_no_mta_gets_no_queue_id_or_fields() -> None:
    """The grammar is the node's MTA's: the same Postfix-looking line on a node without one (the mock, DNS) is
    only program, pid and text."""
    e = plain_parse_line("edu", 0, BOUNCED)
    assert (e.program, e.queue_id, dict(e.fields)) == ("postfix/smtp", None, {})
    log = EventLog()
    log.grammars["store"] = grammar
    assert log.add("store", BOUNCED).queue_id == "0384E176400" and log.add("edu", BOUNCED).queue_id is None


def test_wait_returns_an_event_added_later_by_another_thread() -> None:
    log = EventLog(grammars={"a": grammar})
    log.add("a", "noise")
    mark = log.mark()
    threading.Timer(0.05, lambda: log.add("a", BOUNCED)).start()
    ev = log.wait(lambda e: e.get("status") == "bounced", timeout=5, since=mark)
    assert ev.seq == 1


def test_wait_ignores_events_before_the_mark() -> None:
    log = EventLog()
    log.add("a", BOUNCED)
    with pytest.raises(MailTimeout):
        log.wait(lambda e: e.get("status") == "bounced", timeout=0.05, since=log.mark())


def test_timeout_says_what_was_expected_and_what_each_node_logged_last() -> None:
    log = EventLog()
    for i in range(12):
        log.add("store", f"line {i}")
    log.add("library", "only line")
    with pytest.raises(MailTimeout) as exc:
        log.wait(lambda e: False, timeout=0.01, since=0, what="a DSN to jack", hint="check the MX")
    text = str(exc.value)
    assert "waited 0.01s for a DSN to jack" in text
    assert "last 8 of 12 log lines on store" in text and "line 11" in text and "line 3" not in text
    assert "only line" in text and "hint: check the MX" in text


def test_timeout_keeps_a_message_s_fate_over_a_burst_of_connection_lines() -> None:
    """A connection cache closes its connections in a burst after the mail they carried (the CI failure of
    2026-12-07: seven 'disconnect' lines pushed the delivery out of the last eight); the lines about a message
    stay, with the last lines about none."""
    log = EventLog(grammars={"library": grammar})
    log.add("library", BOUNCED)
    for i in range(10):
        log.add("library", f"Dec  7 16:55:05 mx postfix/smtpd[{120 + i}]: disconnect from mx.store.example"
                           f"[10.96.19.10] ehlo=1 mail=6 commands={i}")
    with pytest.raises(MailTimeout) as exc:
        log.wait(lambda e: False, timeout=0.01, since=0, what="a message delivered to jill@example.edu")
    text = str(exc.value)
    assert "status=bounced" in text and "commands=9" in text and "commands=2" not in text
    assert "8 of 11 log lines on library (the last about a message, and the last others" in text
    assert text.index("status=bounced") < text.index("commands=9")
