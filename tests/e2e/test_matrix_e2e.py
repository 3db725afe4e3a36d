"""`mailharness matrix` on real servers, one column (Postfix 3.7 with Debian's main.cf, whose default is
vulnerable to SMTP smuggling): the verdicts it writes, the evidence of its FAIL, and a second run that gives the
same text but for the line a hand changed, which --check shows as the difference."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

COLUMN = "Postfix 3.7, postfix-debian"


def matrix(tmp_path: Path, *more: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli", "matrix", "--mta", "postfix@3.7", "--reports",
                           str(tmp_path / "reports"), *more], capture_output=True, text=True, timeout=600,
                          cwd=tmp_path)


def test_one_column_of_the_matrix_and_its_check(tmp_path: Path) -> None:
    out = tmp_path / "matrix.md"
    r = matrix(tmp_path, "--output", str(out))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert f"matrix: [1/1] {COLUMN}: 7 PASS, 1 FAIL, 8 N/A, 2 NOT JUDGED" in r.stdout, r.stdout
    text = out.read_text()
    assert f"| requirement | RFC | {COLUMN} |" in text
    assert "| `rejects_unknown_recipients_at_rcpt` | RFC 5321 s6.2; DSN checklist ENV-8 | PASS |" in text
    assert re.search(r"^\| `not_vulnerable_to_smtp_smuggling` \| RFC 5321 s2\.3\.8 .* \| FAIL F1 \|$", text, re.M)
    assert re.search(r"^\| `no_backscatter_through_relaying_to_a_backend` \| .* \| N/A n\d \|$", text, re.M)
    failure = text[text.index("### F1"):]
    assert f"### F1: `not_vulnerable_to_smtp_smuggling` on {COLUMN}" in failure
    assert "library (Postfix 3.7), probed from 10.X.Y.1: VULNERABLE to SMTP smuggling" in failure
    assert "S: 250 2.0.0 Ok: queued as <queue id>   <- before the probe's end of data" in failure
    assert "the nodes ran store, library, edu: Postfix 3.7" in text
    assert "the configuration relays no domain to a backend (no relay\\_domains)" in text
    # nothing of this run or this machine: no address of the topology, no queue id, no temporary path
    assert not re.search(r"\b10\.\d+\.\d+\.\d+\b", text), re.findall(r"\b10\.\d+\.\d+\.\d+\b", text)
    assert str(tmp_path) not in text and "/tmp/" not in text
    assert not re.search(r"queued as [0-9A-F]{8,}", text)
    assert (tmp_path / "reports" / "postfix-3.7-postfix-debian.html").is_file()

    out.write_text(text.replace("FAIL F1", "PASS"))
    again = matrix(tmp_path, "--check", str(out))
    assert again.returncode == 1, again.stdout[-3000:] + again.stderr[-3000:]
    diff = again.stdout[again.stdout.index("--- "):]
    changed = [ln for ln in diff.splitlines() if ln.startswith(("-", "+")) and not ln.startswith(("---", "+++"))]
    assert len(changed) == 2, diff  # a fresh run gives the same text but for the line changed by hand
    assert changed[0].startswith("-| `not_vulnerable_to_smtp_smuggling`") and changed[0].endswith("| PASS |")
    assert changed[1].startswith("+| `not_vulnerable_to_smtp_smuggling`") and changed[1].endswith("| FAIL F1 |")
