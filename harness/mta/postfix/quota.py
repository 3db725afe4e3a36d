"""A mailbox's quota as Dovecot reports it, where a user's configuration delivers to Dovecot (lmtp:) and the node runs
the Dovecot that stands in for theirs (containers/postfix/standins.py), with MailboxFull's per-recipient quota.

    doveadm -c /etc/dovecot/mailharness.conf -f tab quota get -u jill@library.example
    Quota name	Type	Value	Limit	%
    User quota	STORAGE	1	2	50
    User quota	MESSAGE	1	-	0

STORAGE is in kilobytes, MESSAGE in messages; "-" is no limit.
"""

from __future__ import annotations

import shlex

from ..base import Quota

DOVECOT_CONF = "/etc/dovecot/mailharness.conf"  # standins.py writes it


def command(address: str) -> list[str]:
    return ["sh", "-c", f"doveadm -c {DOVECOT_CONF} -f tab quota get -u {shlex.quote(address)} 2>&1"]


def parse(report: str, address: str) -> Quota:
    """doveadm's tab-separated report on `address` -> Quota (limit None and messages None where it does not say);
    `said` is the report in one line: "doveadm quota get -u ADDRESS: STORAGE 1 of 2 KB, MESSAGE 1"."""
    limit: int | None = None
    messages: int | None = None
    rows = []
    for line in report.splitlines():
        cells = [c.strip() for c in line.split("\t")]
        if len(cells) < 4 or cells[1].upper() not in ("STORAGE", "MESSAGE"):
            continue
        kind, value, cap = cells[1].upper(), cells[2], cells[3]
        if kind == "STORAGE":
            limit = int(cap) * 1024 if cap.isdigit() else None
            rows.append(f"STORAGE {value} of {cap} KB" if cap.isdigit() else f"STORAGE {value} KB, no limit")
        else:
            messages = int(value) if value.isdigit() else None
            rows.append(f"MESSAGE {value}")
    said = ", ".join(rows) or " ".join(report.split()) or "(nothing)"
    return Quota(limit, messages, f"doveadm quota get -u {address}: {said}")
