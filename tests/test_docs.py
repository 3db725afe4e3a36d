"""The API reference can be complete: every public name has a docstring, every field of the public data types
one under it, every fixture, option, ini setting and environment variable a text, every command-line argument a
help. ci/build-docs fails on the same with warnings as errors; these catch it without building the docs.

And the user's guide has a page per concept (issue 22: topology, faults, the verdict, DSNs and their rules, the
conformance requirements, explore, load), each linked from the README and the docs' table of contents, and every
code block on them runs: here the scripts and the command lines (no Docker); the test files in
tests/e2e/test_cookbook.py, with the cookbook's (tests/docblocks.py says which block is which)."""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import re
import sys
from pathlib import Path
from typing import Any

import pytest

import harness
import harness.plugin as plugin
from harness.cli import parser as cli_parser
from harness.dsn.lint import parser as lint_parser
from harness.plugin.settings import ENVIRONMENT

from .docblocks import CONCEPT_PAGES, DOCS, LANGUAGES, OWN_TESTS, Block, blocks, check_command, command_lines

ROOT = Path(__file__).resolve().parents[1]
PUBLIC = [getattr(harness, n) for n in harness.__all__]
# Public types the API returns without exporting their names: a story's hops and DSNs, a mailbox, a DSN's parts.
REACHED = ["harness.verdict.Hop", "harness.evidence.records.TlsSession", "harness.verdict.EmittedDsn",
           "harness.mail.Mailbox", "harness.smtp.Exchange",
           "harness.dsn.model.PerMessage", "harness.dsn.model.RecipientBlock", "harness.dsn.model.TypedValue",
           "harness.dsn.model.Address", "harness.dsn.model.DateValue", "harness.dsn.model.Field",
           "harness.dsn.model.Block", "harness.dsn.model.MimePart", "harness.dsn.model.ReturnedContent",
           "harness.dsn.context.RecipientParams", "harness.dsn.assertions.DsnAssertionError",
           "harness.errors.KeywordError", "harness.smuggling.VariantResult", "harness.smuggling.Found",
           "harness.smuggling.Variant", "harness.smuggling.Line", "harness.smuggling.session.Session"]


def _load(dotted: str) -> Any:
    module, _, name = dotted.rpartition(".")
    __import__(module)
    return getattr(sys.modules[module], name)


CLASSES = [c for c in PUBLIC + [_load(d) for d in REACHED] if isinstance(c, type)]


def _own_doc(obj: Any) -> str:
    doc = vars(obj).get("__doc__") if isinstance(obj, type) else getattr(obj, "__doc__", None)
    doc = (doc or "").strip()
    if isinstance(obj, type) and doc.startswith(f"{obj.__name__}("):  # what @dataclass writes when there is none
        return ""
    return doc


@pytest.mark.parametrize("name", harness.__all__)
def test_every_public_name_has_a_docstring(name: str) -> None:
    obj = getattr(harness, name)
    if not isinstance(obj, type) and not inspect.isfunction(obj):  # a type alias (Stage): its docstring is under it
        documented = _attribute_docs(sys.modules[obj.__module__ if obj.__module__.startswith("harness") else
                                                 f"harness.{_where(name)}"], "")
        assert name in documented, f"harness.{name}: no docstring under its definition"
        return
    assert _own_doc(obj), f"harness.{name} has no docstring"


def _where(name: str) -> str:
    return harness._WHERE[name]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__qualname__)
def test_every_public_method_and_property_has_a_docstring(cls: type) -> None:
    missing = []
    for attr, value in vars(cls).items():
        if attr.startswith("_"):
            continue
        func = value.fget if isinstance(value, property) else getattr(value, "__func__", value)
        if inspect.isfunction(func) and not (func.__doc__ or "").strip():
            missing.append(attr)
    assert not missing, f"{cls.__qualname__}: no docstring for {', '.join(missing)}"


def _attribute_docs(module: Any, qualname: str) -> set[str]:
    """The names assigned in the class `qualname` of `module` (or at its top level, for "") that have a docstring
    right under them, as Sphinx reads them (the source, with ast)."""
    body: list[ast.stmt] = ast.parse(inspect.getsource(module)).body
    for part in qualname.split(".") if qualname else []:
        body = next(n for n in body if isinstance(n, ast.ClassDef) and n.name == part).body
    documented = set()
    for stmt, after in zip(body, body[1:], strict=False):
        targets = [stmt.target] if isinstance(stmt, ast.AnnAssign) else stmt.targets \
            if isinstance(stmt, ast.Assign) else []
        if len(targets) == 1 and isinstance(targets[0], ast.Name) and isinstance(after, ast.Expr) \
                and isinstance(after.value, ast.Constant) and isinstance(after.value.value, str) \
                and after.value.value.strip():
            documented.add(targets[0].id)
    return documented


@pytest.mark.parametrize("cls", [c for c in CLASSES if dataclasses.is_dataclass(c)], ids=lambda c: c.__qualname__)
def test_every_field_of_the_public_data_types_has_a_docstring(cls: type) -> None:
    missing = []
    for f in dataclasses.fields(cls):
        owner = next(c for c in cls.__mro__ if f.name in vars(c).get("__annotations__", {}))
        documented = _attribute_docs(sys.modules[owner.__module__], owner.__qualname__)
        if not f.name.startswith("_") and f.name not in documented:
            missing.append(f"{owner.__qualname__}.{f.name}")
    assert not missing, f"no docstring under the field(s) {', '.join(missing)}"


def test_every_fixture_has_a_docstring() -> None:
    fixtures = {n: o for n, o in vars(plugin).items()
                if getattr(o, "_fixture_function_marker", None) is not None and not n.startswith("_")}
    assert {"mail_topology", "mail_fault", "mail_topology_factory", "mail_topology_with_mock"} <= set(fixtures)
    for name, obj in fixtures.items():
        assert (obj._get_wrapped_function().__doc__ or "").strip(), f"fixture {name} has no docstring"


class _Recorder:
    def __init__(self) -> None:
        self.options: list[tuple[tuple[str, ...], dict[str, Any]]] = []
        self.inis: list[tuple[str, str]] = []

    def getgroup(self, *args: Any, **kwargs: Any) -> _Recorder:
        return self

    def addoption(self, *names: str, **kwargs: Any) -> None:
        self.options.append((names, kwargs))

    def addini(self, name: str, help: str, **kwargs: Any) -> None:  # noqa: A002  (pytest's name)
        self.inis.append((name, help))


def test_every_option_and_ini_setting_has_help() -> None:
    rec = _Recorder()
    plugin.declare_options(rec)
    assert len(rec.options) >= 10 and len(rec.inis) >= 4
    assert [names for names, kw in rec.options if not kw.get("help")] == []
    assert [name for name, text in rec.inis if not text] == []


def _actions(p: argparse.ArgumentParser, prog: str) -> list[tuple[str, argparse.Action]]:
    out = []
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {c.dest: c.help for c in action._choices_actions}
            for name, sub in action.choices.items():
                out.append((f"{prog} {name}", argparse.Action([name], name, help=helps.get(name))))
                out += _actions(sub, f"{prog} {name}")
        elif not isinstance(action, argparse._HelpAction):
            out.append((prog, action))
    return out


def test_every_command_and_argument_of_the_command_line_has_help() -> None:
    found = _actions(cli_parser(), "mailharness") + _actions(lint_parser(), "mailharness dsn-lint")
    assert len(found) > 40
    missing = [f"{prog}: {'/'.join(a.option_strings) or a.dest}" for prog, a in found if not (a.help or "").strip()]
    assert missing == []


def test_every_environment_variable_is_documented() -> None:
    used = set()
    for path in [*(ROOT / "harness").rglob("*.py"), *(ROOT / "ci").rglob("*")]:
        if path.is_file():
            used |= set(re.findall(r"\bMAILHARNESS_[A-Z0-9_]+", path.read_text(errors="replace")))
    assert used - set(ENVIRONMENT) == set(), "add them to harness.plugin.settings.ENVIRONMENT"
    assert set(ENVIRONMENT) - used == set(), "documented but read nowhere"
    assert all(text.strip() for text in ENVIRONMENT.values())


# -- the cookbook's command lines and included files (its Python blocks run in tests/e2e/test_cookbook.py) ------
COOKBOOK = ROOT / "docs" / "cookbook.md"


def test_the_cookbooks_command_lines_are_ones_the_parsers_take() -> None:
    commands = command_lines(blocks("cookbook.md", "sh"))
    assert {c[0] for c in commands} == {"mailharness", "pytest"} and len(commands) >= 5
    for argv in commands:
        check_command(argv)


def test_the_files_the_cookbook_includes_exist_and_are_tested() -> None:
    included = re.findall(r"^```\{literalinclude\} (\S+)", COOKBOOK.read_text(), flags=re.M)
    assert included == ["../ci/templates/github-actions.yml", "../ci/templates/gitlab-ci.yml"]
    tested = (ROOT / "tests" / "e2e" / "citemplates.py").read_text()
    for path in included:
        assert (COOKBOOK.parent / path).is_file()
        assert Path(path).name in tested  # tests/e2e/test_templates.py runs each template's steps


# -- the concept pages ---------------------------------------------------------------------------------------------
SCRIPTS = [b for p in CONCEPT_PAGES if p not in OWN_TESTS for b in blocks(p, "python") if not b.is_test]
TESTS = [b for p in CONCEPT_PAGES if p not in OWN_TESTS for b in blocks(p, "python") if b.is_test]
SHELL = [b for p in CONCEPT_PAGES for b in blocks(p, "sh")]


@pytest.mark.parametrize("page", CONCEPT_PAGES)
def test_every_concept_page_is_in_the_contents_and_linked_from_the_readme(page: str) -> None:
    toctree = re.findall(r"^   (\S+)$", (DOCS / "index.rst").read_text(), flags=re.M)
    assert page.removesuffix(".md") in toctree, f"docs/index.rst: add {page} to a toctree"
    assert f"(docs/{page})" in (ROOT / "README.md").read_text(), f"README.md: link docs/{page}"


@pytest.mark.parametrize("page", CONCEPT_PAGES)
def test_every_block_says_what_it_is(page: str) -> None:
    found = blocks(page)
    assert found, f"docs/{page} has no example"
    assert [b.where for b in found if b.lang not in LANGUAGES] == [], f"fences must name one of {LANGUAGES}"


@pytest.mark.parametrize("block", SCRIPTS, ids=lambda b: b.where)
def test_every_script_runs_without_docker(block: Block) -> None:
    exec(compile(block.code, block.where, "exec"), {"__name__": f"docs_{block.page}"})


@pytest.mark.parametrize("block", TESTS, ids=lambda b: b.where)
def test_every_test_file_compiles(block: Block) -> None:
    compile(block.code, block.where, "exec")  # and runs against real servers in tests/e2e/test_cookbook.py


@pytest.mark.parametrize("block", SHELL, ids=lambda b: b.where)
def test_every_command_line_is_one_the_parsers_take(block: Block) -> None:
    for argv in command_lines([block]):
        check_command(argv)


def test_the_pages_have_examples_of_each_kind() -> None:
    assert len(SCRIPTS) >= 4 and len(TESTS) >= 6 and len(SHELL) >= 5
    assert {b.page for b in TESTS} >= {"topology.md", "faults.md", "verdict.md", "conformance.md", "load.md"}
