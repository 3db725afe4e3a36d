"""`mailharness check` on a configuration that keeps every table in SQL (examples/postfix-sql): it names the tables
it cannot read and the way out at once, judges nothing it cannot, and judges everything with readable copies."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

SQL = Path(__file__).resolve().parents[2] / "examples" / "postfix-sql"
COPIES = [f"--mta-table={p}=texthash/{p}" for p in ("virtual_mailbox_domains", "virtual_mailbox_maps",
                                                    "virtual_alias_maps")]


def check(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli", "check", str(SQL), *args,
                           f"--mailharness-html={tmp_path / 'report.html'}"], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)


def test_without_help_it_stops_at_once_naming_the_tables_and_the_way_out(tmp_path: Path) -> None:
    t0 = time.monotonic()
    r = check(tmp_path)
    took = time.monotonic() - t0
    assert r.returncode == 4, r.stdout[-2000:] + r.stderr[-2000:]
    assert "serves no domain" not in r.stderr, "the domains are there, in tables the harness cannot read"
    assert "virtual_mailbox_domains = proxy:mysql:/etc/postfix/sql/virtual_domains.cf" in r.stderr
    assert "--mta-domain DOMAIN" in r.stderr and "--mta-table" in r.stderr
    print(f"exit 4 after {took:.1f} s")  # no lookup waits for a database that is not there


def test_with_a_domain_what_needs_the_tables_is_not_judged_and_nothing_fails(tmp_path: Path) -> None:
    r = check(tmp_path, "--mta-domain=acme.test")
    assert r.returncode == 0, r.stdout[-4000:]
    assert "0 passed, 0 failed, 9 not applicable, 9 not judged" in r.stdout, r.stdout[-4000:]
    assert "acme.test: taken as a virtual mailbox domain, as you said" in r.stdout
    assert "give it a readable copy with --mta-table PARAM=FILE" in r.stdout


def test_with_readable_copies_every_requirement_is_judged(tmp_path: Path) -> None:
    r = check(tmp_path, *COPIES)
    assert r.returncode == 0, r.stdout[-4000:]
    assert "9 passed, 0 failed, 9 not applicable" in r.stdout, r.stdout[-4000:]
