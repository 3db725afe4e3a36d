"""The code blocks of the documentation's pages, as the tests run them (tests/test_docs.py without Docker,
tests/e2e/test_cookbook.py against real servers):

- a ```python block that defines a test (`def test_`) is a test file a user could copy: the end-to-end tests run
  every page's test files in one pytest run against real servers (one default topology for them all);
- any other ```python block is a script that needs no Docker: the fast tests run it;
- each line of a ```sh block is a command line the parsers must take (`mailharness` and its commands, `pytest`
  with the plugin's options, `python` with a script of the repository);
- ```text and ```json blocks show output or data: they are not run.

Every fence of a concept page names one of these languages.
"""

from __future__ import annotations

import argparse
import re
import shlex
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
# The user's guide's page per concept (issue 22): linked from the README and from docs/index.rst.
CONCEPT_PAGES = ("topology.md", "faults.md", "verdict.md", "dsns.md", "conformance.md", "explore.md", "load.md")
# Pages whose Python blocks are run by tests of their own, which also compare them with what the code writes.
OWN_TESTS = {"explore.md": "tests/e2e/test_explore_docs.py"}
LANGUAGES = ("python", "sh", "text", "json")
PYTESTS_OWN = {"--junitxml"}  # options of pytest itself the pages use
_FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", flags=re.S | re.M)


@dataclass(frozen=True)
class Block:
    """One fenced block of a page."""

    page: str
    lang: str
    code: str
    line: int

    @property
    def is_test(self) -> bool:
        return "\ndef test_" in "\n" + self.code

    @property
    def where(self) -> str:
        return f"docs/{self.page}:{self.line}"


def blocks(page: str, lang: str | None = None) -> list[Block]:
    """The fenced blocks of docs/PAGE (of one language, if given), dedented, in order."""
    text = (DOCS / page).read_text()
    out = [Block(page, m.group(1).strip(), textwrap.dedent(m.group(2)), text.count("\n", 0, m.start()) + 1)
           for m in _FENCE.finditer(text)]
    return [b for b in out if lang is None or b.lang == lang]


def run_page_example(pytester: pytest.Pytester, page: str) -> pytest.RunResult:
    """docs/PAGE's one ```python block, as a test file a user could copy, run by pytest in a subprocess against
    the real servers; it must pass (one test). The result, for what its output must show."""
    [block] = blocks(page, "python")
    pytester.makepyfile(**{f"test_doc_{Path(page).stem}": block.code})
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-s")
    result.assert_outcomes(passed=1)
    return result


def command_lines(found: Iterable[Block]) -> list[list[str]]:
    """Each command of the sh blocks as argv: a line continued with a backslash is one command; "  # ..." is a
    comment."""
    out = []
    for b in found:
        for line in b.code.replace("\\\n", " ").splitlines():
            line = line.split("  #")[0].strip()
            if line:
                out.append(shlex.split(line))
    return out


def plugin_options() -> set[str]:
    """Every command-line option the pytest plugin (and the plugins it loads) declares."""
    import harness.plugin as plugin

    class Recorder:
        def __init__(self) -> None:
            self.names: set[str] = set()

        def getgroup(self, *args: Any, **kwargs: Any) -> Recorder:
            return self

        def addoption(self, *names: str, **kwargs: Any) -> None:
            self.names.update(names)

        def addini(self, *args: Any, **kwargs: Any) -> None:
            pass

    rec = Recorder()
    plugin.declare_options(rec)
    return rec.names


def check_command(argv: list[str]) -> None:
    """The command line is one the parsers take (SystemExit or AssertionError if not)."""
    from harness.cli import parser as cli_parser
    from harness.dsn.lint import parser as lint_parser

    if argv[0] == "python":
        assert (ROOT / argv[1]).is_file(), f"{' '.join(argv)}: no script {argv[1]} in the repository"
        return
    assert argv[0] in ("mailharness", "pytest"), f"{' '.join(argv)}: not a command of the harness or pytest"
    if argv[:2] == ["mailharness", "dsn-lint"]:
        lint_parser().parse_args(argv[2:])
        return
    if argv[0] == "mailharness":
        args: argparse.Namespace
        args, rest = cli_parser().parse_known_args(argv[1:])
        assert not rest or args.cmd in ("run", "check"), argv  # only these pass the rest to pytest
    else:
        rest = argv[1:]
    options = {a.split("=", 1)[0] for a in rest if a.startswith("--")}
    known = plugin_options() | PYTESTS_OWN
    assert options <= known, f"{' '.join(argv)}: unknown {options - known}"
