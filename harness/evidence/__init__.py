"""What the nodes' logs say happened since the last reset: rejections, queued messages, deliveries, failed sessions,
bounces: the raw material of the verdict, as plain records (the verdict links them, the report draws them).

Reading them from a log is the MTA's own knowledge and lives in its package (`harness.mta.postfix.evidence`); this
module is where the MTA-neutral core reads them, and the one place outside `harness.mta` that names the reader.
Every MTA node runs Postfix today; the second MTA (Exim) turns these names into a dispatch on each event's node.

Import the names from here (`from harness import evidence`; `evidence.deliveries(...)`).
"""

from __future__ import annotations

from ..mta.postfix.evidence import *  # noqa: F403  (the reader's names, as its __all__ lists them)
from ..mta.postfix.evidence import __all__ as __all__
