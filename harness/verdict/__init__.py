"""The verdict: everything that happened to one message, gathered from every node, and who should have done what.

    story = sent.verdict()
    story.assert_rejected_by("library.example", stage="RCPT", status="5.1.1")
    assert story.bounced_by("store.example", to="jack@store.example")
    story.assert_no_backscatter()

Each assertion returns True or raises VerdictError, whose message shows the message's whole path, hop by hop.

- harness.verdict.story: the Story (hops, emitted DSNs), how it is drawn, and its assertions;
- harness.verdict.linking: `gather`, which links the message's copies across nodes from harness.evidence's
  records and the harness's own SMTP transcript into a Story.

Import the names from here (`from harness.verdict import Story, gather`).
"""

from __future__ import annotations

from .linking import SentWorld, gather
from .story import HARNESS, SESSION_FAILURES, EmittedDsn, Hop, Story, VerdictError

__all__ = ["HARNESS", "SESSION_FAILURES", "EmittedDsn", "Hop", "SentWorld", "Story", "VerdictError", "gather"]
