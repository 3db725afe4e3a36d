"""`mailharness load` on real Postfix servers, small: every recipient accounted for, the reference run, your own
configuration in library's place, and the backscatter mistake failing the run."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from harness import MailTopology
from harness.loadgen.command import LoadOptions, load_world, run_load
from harness.topology import TopologySpec

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_a_small_load_run_accounts_for_every_recipient(
        mail_topology_factory: Callable[[TopologySpec], MailTopology]) -> None:
    spec, mix = load_world()
    world = mail_topology_factory(spec)
    lines: list[str] = []
    result = run_load(world, mix, LoadOptions(messages=60, clients=5, reference_messages=30, reference_rounds=2),
                      out=lines.append)
    text = "\n".join(lines)
    assert result.ok, text
    acct = result.accounting
    assert len(acct.results) == 96, text  # 16 recipients per 10 messages
    assert [str(r) for r in acct.results if not r.expected] == []
    assert Counter(r.outcome for r in acct.results) == {"delivered": 42, "dsn": 30, "refused": 12, "silent": 12}
    assert result.run.accepted == 54  # the unknown user alone via library: refused at RCPT, no DATA
    assert acct.misdirected_dsns == [] and acct.pending == [] and result.drain.left == []
    assert result.log_gaps == {} and result.mailbox_mismatches == [] and result.mailbox_messages >= 72
    assert result.healed_after is not None
    assert all(r.latency is not None and r.latency >= 0 for r in acct.results if r.outcome != "refused")
    ref = result.reference
    assert ref is not None and ref.exit_code == 0 and ref.accepted == 60 and ref.seconds > 0, text  # 2 rounds of 30
    assert result.same_workload is not None and result.same_workload.accepted == 60 and len(result.rounds) == 2
    assert "reference round 2 of 2" in text
    assert result.ratio is not None and result.ratio > 0
    assert world.faults == ()  # the run removes what it applied
    assert "accounting (every recipient of every message):" in text and "submitted 60/60" in text


def load(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli", "load", *args], capture_output=True, text=True,
                          timeout=600, cwd=cwd)


def test_the_command_with_your_configuration_in_librarys_place(tmp_path: Path) -> None:
    r = load("-n", "30", "-c", "5", "--no-reference", "--mta-config", str(EXAMPLES / "postfix-good"), cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert "verdict: every one of 48 recipients accounted for" in r.stdout
    assert "unknown user, via library" in r.stdout


def test_the_backscatter_mistake_fails_the_run(tmp_path: Path) -> None:
    """An empty local_recipient_maps accepts mail for unknown users, then bounces it: what the client should have
    been told at RCPT becomes a DSN, and the run says so (and exits 1)."""
    r = load("-n", "20", "-c", "4", "--no-reference", "--mta-config", str(EXAMPLES / "postfix-backscatter"),
             cwd=tmp_path)
    assert r.returncode == 1, r.stdout[-4000:]
    out = r.stdout
    assert "recipients with another outcome than the mix expects (4):" in out
    assert "(unknown user, via library): dsn, expected refused" in out
    assert "verdict: FAILED: 0 unaccounted, 0 duplicated, 0 misdirected, 4 unexpected" in out
