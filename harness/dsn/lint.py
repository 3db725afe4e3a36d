"""`mailharness dsn-lint [--profile strict|postfix|exim|lenient] [--json] [--delivered] FILE...`
(`-` is standard input).

Exit status: 0 when no input has an error finding, 1 when any has, 2 when an input could not be read at all
(2 wins over 1). A message that is not a DSN is reported with the reason and is not an error, unless it declares
report-type=delivery-status without a readable delivery-status part (an M-3 error).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Any

from harness.dsn.context import DsnEnvelope
from harness.dsn.findings import Finding
from harness.dsn.model import DSN, NotADSN
from harness.dsn.parse import parse_bytes
from harness.dsn.profiles import PROFILES
from harness.dsn.summary import recipient_dict
from harness.dsn.validate import validate, verdict


@dataclass(frozen=True)
class Linted:
    name: str
    parsed: DSN | NotADSN
    findings: tuple[Finding, ...]
    profile: str

    @property
    def has_error(self) -> bool:
        return any(f.level == "error" for f in self.findings)


def lint_bytes(data: bytes, name: str, profile: str = "strict", delivered: bool = False) -> Linted:
    parsed = parse_bytes(data, name)
    dsn_envelope = DsnEnvelope.from_delivered(parsed) if delivered and isinstance(parsed, DSN) else None
    return Linted(name, parsed, validate(parsed, profile, dsn_envelope=dsn_envelope), profile)


def as_json(result: Linted) -> dict[str, Any]:
    p = result.parsed
    out: dict[str, Any] = {"file": result.name, "is_dsn": p.is_dsn}
    if isinstance(p, NotADSN):
        out["reason"] = p.reason
        out["kind"] = p.kind
    out["profile"] = result.profile
    out["reporting_mta"] = p.reporting_mta if isinstance(p, DSN) else None
    out["recipients"] = [
        {k: v for k, v in recipient_dict(r).items() if k not in ("diagnostic_type", "will_retry_until")}
        for r in (p.recipients if isinstance(p, DSN) else ())
    ]
    out["findings"] = [f.as_dict() for f in result.findings]
    out["verdict"] = verdict(result.findings)
    return out


def as_text(result: Linted) -> str:
    p = result.parsed
    v = verdict(result.findings)
    if isinstance(p, NotADSN):
        lines = [f"{result.name}: not a DSN ({p.kind}): {p.reason}"]
    else:
        n_err = sum(1 for f in result.findings if f.level == "error")
        summary = f"{n_err} error(s), {len(result.findings) - n_err} warning(s)" if result.findings else "clean"
        lines = [f"{result.name}: DSN from {p.reporting_mta or '(no Reporting-MTA)'} - {summary} [{result.profile}]"]
        for r in p.recipients:
            d = recipient_dict(r)
            remote = f" via {d['remote_mta']}" if d["remote_mta"] else ""
            lines.append(f"  {d['final_recipient']}: {d['action']} {d['status']}{remote}")
            if d["diagnostic_code"]:
                lines.append(f"    {r.diagnostic_code}")
    if v != "clean" or isinstance(p, NotADSN):
        lines += [f"  {f}" for f in result.findings]
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    """`mailharness dsn-lint`'s parser (the API reference is generated from it)."""
    p = argparse.ArgumentParser(
        prog="mailharness dsn-lint",
        description="Check delivery status notifications (bounces) against the RFC 3464/3461 checklist.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="message files; '-' reads standard input")
    p.add_argument("--profile", choices=PROFILES, default="strict", help="rule levels (default: strict)")
    p.add_argument("--json", action="store_true", help="one JSON object per line per input")
    p.add_argument(
        "--delivered",
        action="store_true",
        help="inputs are copies as delivered to a mailbox: check ENV-1 from their Return-Path",
    )
    return p


def main(argv: Sequence[str] | None = None, stdin: IO[bytes] | None = None, stdout: IO[str] | None = None) -> int:
    args = parser().parse_args(list(argv) if argv is not None else None)
    out = stdout or sys.stdout
    status = 0
    for name in args.files:
        try:
            if name == "-":
                data = (stdin or sys.stdin.buffer).read()
            else:
                with open(name, "rb") as fh:
                    data = fh.read()
        except OSError as exc:
            status = 2
            reason = exc.strerror or str(exc)
            if args.json:
                out.write(json.dumps({"file": name, "error": f"cannot read: {reason}"}) + "\n")
            else:
                print(f"mailharness dsn-lint: {name}: cannot read: {reason}", file=sys.stderr)
            continue
        result = lint_bytes(data, "<stdin>" if name == "-" else name, args.profile, args.delivered)
        if result.has_error and status == 0:
            status = 1
        out.write((json.dumps(as_json(result), ensure_ascii=False) if args.json else as_text(result)) + "\n")
    return status


if __name__ == "__main__":
    sys.exit(main())
