"""Sphinx configuration: the user's guide (the Markdown pages of docs/) and the API reference, generated from the
docstrings (autodoc), the command line's parsers (sphinx-argparse) and the pytest plugin's own declarations
(docs/_ext/mailharness_reference.py). Built by ci/build-docs with warnings as errors: a public name without a
docstring is a warning (the extension says which), and so fails the build."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE / "_ext")]  # the checkout's harness, and the extension

project = "pytest-mailharness"
author = "the pytest-mailharness authors"
copyright = "the pytest-mailharness authors"  # noqa: A001  (Sphinx's name)
extensions = [
    "sphinx.ext.autodoc",
    "sphinxarg.ext",
    "myst_parser",
    "mailharness_reference",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_ext"]
smartquotes = False  # "--mta-config" stays two hyphens, quotes stay as typed
default_role = "py:obj"  # `name` in a docstring: a link where it resolves, code in any case
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "undoc-members": True, "show-inheritance": True}
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
myst_heading_anchors = 3
# The Markdown pages link to files of the repository (../harness/..., ../examples/...) that are not pages.
suppress_warnings = ["myst.xref_missing"]
html_theme = "alabaster"
html_title = "pytest-mailharness"
html_theme_options = {"description": "Real Postfix servers in Docker, injected failures, RFC 3464 DSN checks",
                      "fixed_sidebar": True}
