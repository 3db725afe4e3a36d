"""The seam between the MTA-neutral core and the MTA packages (harness/mta/<kind>/): what knows an MTA lives in
its package, and the core reads it through harness.mta.base (MtaNode) and the registry (harness.mta)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

HARNESS = Path(__file__).resolve().parent.parent / "harness"
# Postfix's programs, its log formats and the configuration files and writes the harness makes.
POSTFIX = re.compile(
    r"\b(postconf|postmap|postqueue|postsuper|postlog|postalias|postcat|postdrop|postmulti|sendmail -bv)\b"
    r"|postfix/(smtpd|smtp|qmgr|cleanup|local|bounce|lmtp|pickup|virtual|error)\b"
    r"|status=(sent|bounced|deferred|expired)|status=\(|\(queue active\)|NOQUEUE|/etc/postfix\b"
    r"|\b(local_recipient_maps|mailbox_size_limit|message_size_limit|maximal_queue_lifetime|queue_minfree"
    r"|smtp_connect_timeout|smtp_helo_timeout|mail_spool_directory)\b")
# The core modules that may name the Postfix package (and why); nothing else outside harness/mta/ may.
NAMES_POSTFIX_PACKAGE = {
    "world.py": "MailTopology.postfix(key), the typed accessor for Postfix's own methods (postconf by hand)",
}


def _core_modules() -> list[Path]:
    return [p for p in sorted(HARNESS.rglob("*.py")) if "mta" not in p.relative_to(HARNESS).parts[:1]]


def _code_strings(tree: ast.AST) -> list[tuple[int, str]]:
    """Every name and string constant of the code, without docstrings (prose may name an MTA). A string that stands
    alone as a statement is one: a module's, class's or function's docstring, or a field's, under the field."""
    docs = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            docs.add(id(node.value))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            out.append((node.lineno, node.value))
        elif isinstance(node, ast.Name):
            out.append((node.lineno, node.id))
        elif isinstance(node, ast.Attribute):
            out.append((node.lineno, node.attr))
    return out


def leaks(paths: list[Path]) -> list[str]:
    found = []
    for path in paths:
        for line, text in _code_strings(ast.parse(path.read_text(encoding="utf-8"))):
            if m := POSTFIX.search(text):
                found.append(f"{path.relative_to(HARNESS)}:{line}: {m.group(0)}")
    return found


def test_no_core_module_names_a_postfix_program_parameter_or_log_format() -> None:
    assert leaks(_core_modules()) == []


# Exim's programs and options, its log files and the names its node gives them in the container's log.
EXIM = re.compile(r"\bexim -(b[A-Za-z]*|q\w*|M\w*)\b|\bexim4\.conf|/etc/exim4\b|update-exim4|\b(main|reject|panic)log\b"
                  r"|\b(dsn_advertise_hosts|check_spool_space|timeout_frozen_after|ignore_bounce_errors_after)\b"
                  r"|\bexim-(main|reject|panic)\b")


def test_no_core_module_names_an_exim_program_option_or_log_format() -> None:
    found = [f"{p.relative_to(HARNESS)}:{line}: {m.group(0)}" for p in _core_modules()
             for line, text in _code_strings(ast.parse(p.read_text(encoding="utf-8"))) if (m := EXIM.search(text))]
    assert found == []
    assert EXIM.search("exim -bpc") and EXIM.search("exim-main") and EXIM.search("/var/log/exim4/mainlog")


def test_no_core_module_imports_the_exim_package() -> None:
    importers = [p.relative_to(HARNESS).as_posix() for p in _core_modules()
                 for node in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
                 if isinstance(node, ast.ImportFrom) and "mta.exim" in (node.module or "")]
    assert importers == []


def test_the_check_finds_what_it_looks_for() -> None:
    """The seam test's own pattern catches the Postfix package's code (else it would pass on anything)."""
    found = leaks(sorted((HARNESS / "mta" / "postfix").rglob("*.py")))
    for what in ("postconf", "postqueue", "postlog", "postfix/bounce", "local_recipient_maps", "/etc/postfix",
                 "NOQUEUE", "status=("):
        assert any(f.endswith(f": {what}") for f in found), (what, found)


def test_only_the_registry_and_the_listed_core_modules_import_the_postfix_package() -> None:
    importers = []
    for path in _core_modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            name = ""
            if isinstance(node, ast.ImportFrom):
                name = ("." * node.level) + (node.module or "")
            elif isinstance(node, ast.Import):
                name = ",".join(a.name for a in node.names)
            if "mta.postfix" in name:
                importers.append(path.relative_to(HARNESS).as_posix())
    assert sorted(set(importers)) == sorted(NAMES_POSTFIX_PACKAGE)


def test_a_fault_an_mta_cannot_express_names_the_mta_and_what_it_supports() -> None:
    import pytest

    from harness.faults import Fault, FaultError
    from harness.mta.postfix.faults import changes_for

    class Meteor(Fault):
        pass

    class _Node:
        name, domain = "library", "library.example"

    with pytest.raises(FaultError, match=r"Postfix cannot express Meteor; the faults it supports: .*DiskFull") as e:
        changes_for(Meteor("library"), _Node())  # type: ignore[arg-type]
    assert "object" not in str(e.value), "only faults are listed, not singledispatch's fallback"
