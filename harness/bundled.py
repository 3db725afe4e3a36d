"""Where the files the harness needs at run time are: the image definitions, the bundled scenarios and the
example configurations (Postfix's and Exim's).

Installed (wheel or sdist), they are inside the package: `harness/containers`, `harness/suites` (the package
`harness.suites`) and `harness/examples`, put there by setup.py's build step. In a source checkout (an editable
install, or `python -m harness.cli` from the repository) they are at the top of the repository: `containers/`,
`suites/`, `examples/`. Nothing else is looked at: a `containers` folder some other project left in
site-packages is never taken for ours.
"""

from __future__ import annotations

from pathlib import Path

from .errors import MailharnessError, NotFound

PACKAGE = Path(__file__).resolve().parent

# name -> a file that must be there for the folder to be ours (and complete)
MARKERS = {
    "containers": "base/packages.txt",
    "suites": "conformance/test_requirements.py",
    "examples": "postfix-good/main.cf",
}


class NotBundled(MailharnessError):
    """A folder the harness needs is neither in the installed package nor in a source checkout."""


def _checkout() -> Path | None:
    """The repository this package was imported from, if it was (its pyproject.toml names the project)."""
    root = PACKAGE.parent
    pyproject = root / "pyproject.toml"
    if pyproject.is_file() and 'name = "pytest-mailharness"' in pyproject.read_text(encoding="utf-8"):
        return root
    return None


def candidates(name: str) -> list[Path]:
    """Where `name` is looked for, in order: inside the package, then at the top of a source checkout."""
    if name not in MARKERS:
        raise NotFound(f"unknown bundled folder {name!r}; expected one of {', '.join(MARKERS)}")
    root = _checkout()
    return [PACKAGE / name] + ([root / name] if root is not None else [])


def folder(name: str) -> Path:
    """The bundled folder `name` (containers, suites, examples)."""
    tried = candidates(name)
    for d in tried:
        if (d / MARKERS[name]).is_file():
            return d
    raise NotBundled(f"{name}/ not found (looked for {MARKERS[name]} in {', '.join(map(str, tried))}): the "
                     f"installed package is incomplete; reinstall pytest-mailharness from a wheel or sdist")


def examples() -> dict[str, Path]:
    """The example configurations for `mailharness check`, by name (postfix-good, exim-default, ...): each folder
    an MTA package recognises as its configuration (harness.mta.recognise)."""
    from .mta.recognise import recognise

    return {d.name: d for d in sorted(folder("examples").iterdir()) if d.is_dir() and recognise(d)}


def example(name: str) -> Path:
    found = examples()
    if name not in found:
        raise NotBundled(f"no example named {name!r}; the bundled examples are {', '.join(found)}")
    return found[name]
