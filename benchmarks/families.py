"""`mailharness check` on one configuration of each family of server people run (issue 18's table): the verdict
counts, what the harness stood in for, the warm wall time, and whether any node's log mentions a time-out.

    python benchmarks/families.py [--runs N]

Families: an outbound-only null client; a satellite with SASL and TLS to its provider; a server with a smarthost
that also receives (Debian's "Internet with smarthost"); an SQL-backed virtual host (with readable copies of its
tables); an LDAP-backed one (without: NOT JUDGED, with the way out); virtual hosting that hides DSN and delivers
to Dovecot with quota; a gateway whose local addresses are aliases of relayed recipients. The derived
configurations are written to a temporary folder from the bundled examples. Prints `name: value` lines.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check import check  # noqa: E402  (the sibling benchmark: one home for running check)

ROOT = Path(__file__).resolve().parents[1]
EX = ROOT / "examples"
SMARTHOST = """compatibility_level = 3.6
myhostname = mail.shop.test
mydomain = shop.test
myorigin = $mydomain
mydestination = $myhostname, shop.test, localhost.localdomain, localhost
alias_maps = hash:/etc/aliases
relayhost = [smtp.provider.test]
mynetworks = 127.0.0.0/8
inet_interfaces = all
smtp_tls_security_level = may
"""
LDAP = """compatibility_level = 3.6
myhostname = mx.corp.test
mydomain = corp.test
mydestination = $myhostname, localhost
virtual_mailbox_domains = proxy:ldap:/etc/postfix/ldap-domains.cf
virtual_mailbox_maps = proxy:ldap:/etc/postfix/ldap-mailboxes.cf
virtual_alias_maps = proxy:ldap:/etc/postfix/ldap-aliases.cf
virtual_transport = lmtp:unix:private/dovecot-lmtp
"""


def families(tmp: Path) -> list[tuple[str, Path, list[str]]]:
    smarthost = tmp / "smarthost"
    smarthost.mkdir()
    (smarthost / "main.cf").write_text(SMARTHOST)
    ldap = tmp / "ldap"
    ldap.mkdir()
    (ldap / "main.cf").write_text(LDAP)
    for t in ("domains", "mailboxes", "aliases"):
        (ldap / f"ldap-{t}.cf").write_text("server_host = ldap://ldap.corp.test\nsearch_base = dc=corp,dc=test\n"
                                            "query_filter = (mail=%s)\nresult_attribute = mail\n")
    hide = tmp / "hide-dsn"
    shutil.copytree(EX / "postfix-distribution", hide)
    with open(hide / "main.cf", "a") as fh:
        fh.write("smtpd_discard_ehlo_keywords = silent-discard, dsn\n")
    (hide / "virtual").write_text("info@library.example jill@library.example\n")
    sql = [f"--mta-table={p}=texthash/{p}" for p in
           ("virtual_mailbox_domains", "virtual_mailbox_maps", "virtual_alias_maps")]
    return [("null_client", EX / "postfix-nullclient", []),
            ("satellite_sasl_tls", EX / "postfix-satellite", []),
            ("smarthost_and_inbound", smarthost, []),
            ("sql_with_table_copies", EX / "postfix-sql", sql),
            ("ldap_without_copies", ldap, ["--mta-domain=corp.test"]),
            ("hides_dsn_dovecot_quota", hide, []),
            ("alias_gateway", ROOT / "tests" / "e2e" / "configs" / "alias-gateway", [])]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=1)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        for name, directory, extra in families(Path(d)):
            runs = [check(str(directory), *extra) for _ in range(a.runs)]
            out = runs[-1].stdout
            stood = [line.strip() for line in dict.fromkeys(out.splitlines())
                     if line.startswith("  stood in for:") or line.startswith("  sends through relayhost")]
            print(f"{name}_verdicts: {runs[-1][1]}")
            print(f"{name}_warm_median_s: {sorted(r[0] for r in runs)[len(runs) // 2]:.1f}")
            print(f"{name}_timeout_log_lines: {sum(r[2] for r in runs)} (of {sum(r[3] for r in runs)} searched)")
            print(f"{name}_stood_in_for: {'; '.join(re.sub(r'^(stood in for: )', '', s) for s in stood) or '-'}")


if __name__ == "__main__":
    main()
