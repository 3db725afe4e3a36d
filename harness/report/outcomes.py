"""The words for a test's outcome, everywhere the harness shows one (the summary table, the HTML report, the JUnit
`verdict` property): one home, so that the three never disagree."""

from __future__ import annotations

LABELS = {"passed": "PASS", "failed": "FAIL", "not-applicable": "N/A", "not-judged": "NOT JUDGED", "skipped": "SKIP",
          "error": "ERROR", "expected-failure": "XFAIL"}


def label(outcome: str) -> str:
    """"passed" -> "PASS"; an outcome without a word of its own is shown in capitals ("?" when empty)."""
    return LABELS.get(outcome, outcome.upper() or "?")
