"""The parts of the API reference that autodoc cannot read, and the rule that fails the build on a public name
without documentation.

Directives:

- ``mailharness-fixtures``: the pytest fixtures of harness.plugin (name, scope, what the test gets, docstring);
- ``mailharness-options``: the plugin's command-line options and ini settings, as its ``pytest_addoption`` hooks
  declare them (with their help);
- ``mailharness-environment``: the environment variables, from harness.plugin.settings.ENVIRONMENT.

Every object autodoc documents, every fixture, option and ini setting must have a text; a missing one is a
warning, which ``-W`` turns into a failed build.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.pycode import ModuleAnalyzer
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

log = logging.getLogger("mailharness_reference")


def _undocumented(app: Sphinx, what: str, name: str, obj: Any, options: Any, lines: list[str]) -> None:
    """autodoc-process-docstring: a public object documented without a text is a warning."""
    if any(part.startswith("_") for part in name.split(".")[1:]):
        return
    text = "\n".join(lines).strip()
    auto = isinstance(obj, type) and text.startswith(f"{obj.__name__}(")  # what @dataclass writes for none
    if not text or auto:
        log.warning(f"undocumented public {what} {name}: write its docstring", type="mailharness",
                    subtype="undocumented")
    if isinstance(obj, type) and dataclasses.is_dataclass(obj):
        for field in undocumented_fields(obj):
            log.warning(f"undocumented field {name}.{field}: write a docstring under it", type="mailharness",
                        subtype="undocumented")


def undocumented_fields(cls: type) -> list[str]:
    """The public fields of a dataclass (its own and those it inherits) that have no docstring under them (or
    ``#:`` comment above them) where they are declared, as Sphinx reads them from the source."""
    out = []
    for f in dataclasses.fields(cls):
        if f.name.startswith("_"):
            continue
        owner = next(c for c in cls.__mro__ if f.name in vars(c).get("__annotations__", {}))
        docs = ModuleAnalyzer.for_module(owner.__module__).find_attr_docs()
        if not any(line.strip() for line in docs.get((owner.__qualname__, f.name), [])):
            out.append(f.name)
    return out


class _Rendered(SphinxDirective):
    """A directive whose content is reStructuredText made at build time."""

    def lines(self) -> list[str]:
        raise NotImplementedError

    def run(self) -> list[nodes.Node]:
        node = nodes.container()
        self.state.nested_parse(StringList(self.lines(), source=self.get_source_info()[0]), self.content_offset, node)
        return node.children


def _indent(text: str, by: str = "   ") -> list[str]:
    return [by + line if line.strip() else "" for line in inspect.cleandoc(text).splitlines()]


def _what_the_test_gets(func: Any) -> str:
    """The fixture's value type: its return annotation, or what its generator yields."""
    ann = str(inspect.signature(func).return_annotation)
    for wrapper in ("Generator[", "Iterator["):
        if ann.startswith(wrapper) and ann.endswith("]"):
            inner, depth = ann[len(wrapper):-1], 0
            for i, ch in enumerate(inner):  # the first argument, at the top level of brackets
                depth += ch == "["
                depth -= ch == "]"
                if ch == "," and depth == 0:
                    inner = inner[:i]
                    break
            ann = inner.strip()
    return "" if ann in ("Any", "None", str(inspect.Signature.empty)) else ann


class Fixtures(_Rendered):
    """``.. mailharness-fixtures::``: every public fixture of harness.plugin."""

    def lines(self) -> list[str]:
        import harness.plugin as plugin

        out: list[str] = []
        for name, obj in vars(plugin).items():
            marker = getattr(obj, "_fixture_function_marker", None)
            if marker is None or name.startswith("_"):
                continue
            func = obj._get_wrapped_function()
            doc = inspect.getdoc(func) or ""
            if not doc:
                log.warning(f"undocumented fixture {name}: write its docstring", type="mailharness",
                            subtype="undocumented")
            gets = _what_the_test_gets(func)
            out += [f".. py:data:: {name}", "   :module: harness.plugin"]
            out += [f"   :type: {gets}"] if gets else []
            out += ["", f"   *pytest fixture, scope* ``{marker.scope}``.", "", *_indent(doc), ""]
        return out


class _Recorder:
    """Stands in for pytest's parser and its option group: keeps what the plugin's hooks declare."""

    def __init__(self) -> None:
        self.options: list[tuple[tuple[str, ...], dict[str, Any]]] = []
        self.inis: list[tuple[str, str, dict[str, Any]]] = []

    def getgroup(self, *args: Any, **kwargs: Any) -> _Recorder:
        return self

    def addoption(self, *names: str, **kwargs: Any) -> None:
        self.options.append((names, kwargs))

    def addini(self, name: str, help: str, **kwargs: Any) -> None:  # noqa: A002  (pytest's name)
        self.inis.append((name, help, kwargs))


def declared() -> _Recorder:
    """What harness.plugin and the plugins it loads (its `pytest_plugins`) declare in
    pytest_addoption."""
    import harness.plugin as plugin

    rec = _Recorder()
    plugin.declare_options(rec)
    return rec


class Options(_Rendered):
    """``.. mailharness-options::``: the plugin's command-line options and ini settings."""

    def lines(self) -> list[str]:
        rec = declared()
        out: list[str] = []
        for names, kw in rec.options:
            help_text = kw.get("help", "")
            if not help_text:
                log.warning(f"option {names[0]} has no help text", type="mailharness", subtype="undocumented")
            metavar = kw.get("metavar") or ("{" + ",".join(kw["choices"]) + "}" if kw.get("choices") else None)
            flag = kw.get("action") in ("store_true", "store_false")
            sig = ", ".join(n if flag else f"{n}={metavar or 'VALUE'}" for n in names)
            out += [f".. option:: {sig}", "", *_indent(help_text), ""]
        out += ["", "Ini-file settings (``[pytest]`` in pytest.ini, ``[tool.pytest.ini_options]`` in pyproject.toml):",
                ""]
        for name, help_text, kw in rec.inis:
            if not help_text:
                log.warning(f"ini setting {name} has no help text", type="mailharness", subtype="undocumented")
            kind = f" ({kw['type']})" if kw.get("type") else ""
            out += [f"``{name}``{kind}", *_indent(help_text), ""]
        return out


class Environment(_Rendered):
    """``.. mailharness-environment::``: the environment variables the harness and its scripts read."""

    def lines(self) -> list[str]:
        from harness.plugin.settings import ENVIRONMENT

        out: list[str] = []
        for name, text in ENVIRONMENT.items():
            if not text:
                log.warning(f"environment variable {name} has no text", type="mailharness", subtype="undocumented")
            out += [f".. envvar:: {name}", "", *_indent(text), ""]
        return out


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("autodoc-process-docstring", _undocumented)
    app.add_directive("mailharness-fixtures", Fixtures)
    app.add_directive("mailharness-options", Options)
    app.add_directive("mailharness-environment", Environment)
    return {"parallel_read_safe": True, "version": "1"}
