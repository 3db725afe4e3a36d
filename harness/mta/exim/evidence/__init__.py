"""What an Exim node's logs say happened: the same records as every MTA's (harness.evidence.records), read from
Exim's main, reject and panic logs (.lines: one line; .views: a whole log). Everything the harness knows about the
wording of Exim's logs is in this package; harness.evidence hands it the events of Exim nodes."""

from __future__ import annotations

from .lines import is_hold, is_local_delivery, is_removal, is_still_being_delivered, logged_at, queued_as
from .views import (
    deliveries,
    expirations,
    holds,
    message_ids,
    notice_events,
    notices,
    postmaster_notices,
    problems,
    queue_lives,
    queued,
    rejections,
    removed,
    senders,
    session_failures,
)

__all__ = [
    "deliveries", "expirations", "holds", "is_hold", "is_local_delivery", "is_removal", "is_still_being_delivered",
    "logged_at",
    "message_ids", "notice_events", "notices", "postmaster_notices", "problems", "queue_lives", "queued",
    "queued_as", "rejections", "removed", "senders", "session_failures",
]
