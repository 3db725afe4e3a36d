"""`mailharness check` picks each requirement's recipient by where its mail ends, after the aliases: a quota on the
mailbox an alias ends in, a next hop's refusal where nothing is stored here, and N/A where DSN is not offered."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def check(directory: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli", "check", str(directory),
                           f"--mailharness-html={tmp_path / 'report.html'}"], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)


def verdicts(out: str) -> dict[str, str]:
    """requirement -> PASS, FAIL, N/A or NOT JUDGED, from the summary table."""
    return {m.group(2): m.group(1) for m in re.finditer(r"^(PASS|FAIL|N/A|NOT JUDGED)\s+\S+s\s+(\w+)", out, re.M)}


def test_virtual_hosting_that_hides_dsn_and_aliases_to_dovecot(tmp_path: Path) -> None:
    """docker-mailserver's shape: DSN removed from EHLO, virtual mailboxes over LMTP to Dovecot, info@ an alias
    of jill@. NOTIFY=NEVER does not apply (no client can send NOTIFY); the quota goes on jill's mailbox, where
    info@'s mail ends (it once went on info@'s, and Dovecot stored the message: a false FAIL)."""
    config = tmp_path / "config"
    shutil.copytree(ROOT / "examples" / "postfix-distribution", config)
    with open(config / "main.cf", "a") as fh:
        fh.write("smtpd_discard_ehlo_keywords = silent-discard, dsn\n")
    (config / "virtual").write_text("info@library.example jill@library.example\n"
                                    "postmaster@library.example jill@library.example\n")
    r = check(config, tmp_path)
    got = verdicts(r.stdout)
    assert r.returncode == 0, r.stdout[-4000:]
    assert got["honours_notify_never"] == "N/A", got
    assert "does not offer DSN in its EHLO reply" in r.stdout
    assert got["a_recipient_over_quota_is_refused_or_bounced_with_5_2_2"] == "PASS", got
    assert "FAIL" not in got.values(), got


def test_a_quota_that_does_not_hold_where_the_mail_ends_is_not_judged(tmp_path: Path) -> None:
    """jill@'s and bob@'s mail ends in carol@'s mailbox by a rewrite the route look-ups do not follow
    (recipient_canonical_maps): the quota put on the chosen one's mailbox would let the message over it through, a
    false FAIL. The probe delivery before the judgement sees Dovecot count nothing against that quota: NOT JUDGED,
    saying what it saw."""
    config = tmp_path / "config"
    shutil.copytree(ROOT / "examples" / "postfix-distribution", config)
    with open(config / "main.cf", "a") as fh:
        fh.write("recipient_canonical_maps = texthash:/etc/postfix/canonical\n")
    # both mailboxes' mail ends in carol's: whichever of them the harness picks, the quota is not where it ends
    (config / "canonical").write_text("jill@library.example carol@library2.example\n"
                                      "bob@library.example carol@library2.example\n")
    r = check(config, tmp_path)
    got = verdicts(r.stdout)
    assert r.returncode == 0, r.stdout[-4000:]
    assert got["a_recipient_over_quota_is_refused_or_bounced_with_5_2_2"] == "NOT JUDGED", got
    m = re.search(r"the quota put on (\w+)@library.example's mailbox \(2000 bytes\) does not hold", r.stdout)
    assert m, r.stdout[-4000:]
    assert "relayed <carol@library2.example>" in r.stdout and "MESSAGE 0" in r.stdout
    assert "FAIL" not in got.values(), got


def test_a_gateway_whose_local_addresses_all_forward_to_relayed_recipients(tmp_path: Path) -> None:
    """Nothing is stored on this host: delivery fails after acceptance when the next hop refuses (the backend the
    harness puts behind the gateway), not when a local disk fills (it once filled one, nothing failed: a false
    FAIL). The quota requirement cannot be judged (no mailbox here) and says so."""
    r = check(ROOT / "tests" / "e2e" / "configs" / "alias-gateway", tmp_path)
    got = verdicts(r.stdout)
    assert r.returncode == 0, r.stdout[-4000:]
    for req in ("bounces_to_the_envelope_sender_when_delivery_fails_after_acceptance",
                "never_bounces_a_message_with_a_null_sender", "honours_notify_never",
                "no_backscatter_through_relaying_to_a_backend", "rejects_unknown_recipients_at_rcpt"):
        assert got[req] == "PASS", (req, got, r.stdout[-4000:])
    assert got["a_recipient_over_quota_is_refused_or_bounced_with_5_2_2"] == "NOT JUDGED", got
