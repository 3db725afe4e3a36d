"""What the nodes' logs say happened since the last reset: rejections, queued messages, deliveries, failed sessions,
bounces: the raw material of the verdict, as plain records (the verdict links them, the report draws them).

Reading them from a log is the MTA's own knowledge and lives in its package (`harness.mta.postfix.evidence`); this
module is where the MTA-neutral core reads them, and the one place outside `harness.mta` that names the reader.
Every MTA node runs Postfix today; the second MTA (Exim) turns these names into a dispatch on each event's node.

Import the names from here (`from harness import evidence`; `evidence.deliveries(...)`).
"""

from __future__ import annotations

from ..mta.postfix.evidence import (
    Delivery,
    Expiry,
    Notice,
    Outcome,
    QueueEntry,
    Rejection,
    SessionFailure,
    connection_use,
    deliveries,
    expirations,
    is_final_failure,
    is_local_delivery,
    is_mailbox_delivery,
    is_removal,
    is_still_being_delivered,
    logged_at,
    message_ids,
    notice_events,
    notices,
    original_recipient,
    parse_session_failure,
    postmaster_notices,
    problems,
    queue_listing,
    queue_lives,
    queued,
    queued_as,
    rejections,
    removed,
    senders,
    session_failures,
    split_host,
)
from ..smtp import Reply as Reply
from ..smtp import Stage
from ..smtp import stage_of as stage_of
from .events import LogEvent as LogEvent

__all__ = [
    "Delivery", "Expiry", "Notice", "Outcome", "Rejection", "SessionFailure", "Stage", "deliveries", "expirations",
    "is_local_delivery", "is_removal", "message_ids", "notices", "parse_session_failure", "problems", "queued",
    "postmaster_notices", "queued_as", "rejections", "removed", "session_failures", "split_host",
    # accounting for every recipient (harness.loadgen)
    "QueueEntry", "is_final_failure", "is_mailbox_delivery", "notice_events", "original_recipient", "queue_listing",
    "senders", "is_still_being_delivered", "connection_use", "queue_lives", "logged_at",
]
