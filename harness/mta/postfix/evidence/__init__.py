"""What the nodes' logs say happened since the last reset: rejections, queued messages, deliveries, failed sessions,
bounces.

This is the raw material of the verdict: plain records read from Postfix's own log lines. Everything the harness
knows about the wording of Postfix's logs is in this package, and only here (the verdict links these records, the
report draws them); stages are `harness.smtp.Stage`, the same names the harness's SMTP client uses.

- lines: what one line says (the patterns of Postfix's words, the records, tests on one line);
- views: what a whole log says (those records gathered, lines linked to each other, queue lives) and what
  `postqueue -j` lists.

The MTA-neutral core reads these through `harness.evidence`.
"""

from __future__ import annotations

from ....evidence.events import LogEvent as LogEvent
from ....evidence.records import (
    Delivery,
    Expiry,
    Notice,
    Outcome,
    QueueEntry,
    Rejection,
    SessionFailure,
    connection_use,
    is_final_failure,
    is_mailbox_delivery,
    original_recipient,
    split_host,
)
from ....smtp import Reply as Reply
from ....smtp import Stage
from ....smtp import stage_of as stage_of
from .lines import (
    is_hold,
    is_local_delivery,
    is_removal,
    is_still_being_delivered,
    logged_at,
    parse_session_failure,
    queued_as,
)
from .views import (
    deliveries,
    expirations,
    holds,
    message_ids,
    notice_events,
    notices,
    postmaster_notices,
    problems,
    queue_listing,
    queue_lives,
    queued,
    rejections,
    removed,
    senders,
    session_failures,
)

__all__ = [
    "Delivery", "Expiry", "Notice", "Outcome", "Rejection", "SessionFailure", "Stage", "deliveries", "expirations",
    "holds", "is_hold",
    "is_local_delivery", "is_removal", "message_ids", "notices", "parse_session_failure", "problems", "queued",
    "postmaster_notices", "queued_as", "rejections", "removed", "session_failures", "split_host",
    # accounting for every recipient (harness.loadgen)
    "QueueEntry", "is_final_failure", "is_mailbox_delivery", "notice_events", "original_recipient", "queue_listing",
    "senders", "is_still_being_delivered", "connection_use", "queue_lives", "logged_at",
]
