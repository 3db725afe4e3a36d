"""What pyproject.toml cannot say: the bundled scenarios and the run-time data go INTO the package.

- `suites/` (a Python package in the repository, where the project's own CI lints and runs it) is installed as
  `harness.suites`: a name that belongs to us, never a top-level `suites`.
- `containers/` (image definitions) and `examples/` (configurations for `mailharness check`) are copied into
  the built package as `harness/containers` and `harness/examples`. They are plain data, not packages.

harness/bundled.py finds them there once installed, and at the top of the repository in a source checkout
(an editable install builds nothing, so it reads the repository's folders in place).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
DATA = ("containers", "examples")  # repository folder -> harness/<same name> in the built package


class build_py_with_data(build_py):  # noqa: N801  (setuptools' command naming)
    def run(self) -> None:
        # An older build of this checkout (before harness.suites) left a top-level suites/ in build/lib, and
        # bdist_wheel packs all of build/lib: never ship it.
        shutil.rmtree(Path(self.build_lib) / "suites", ignore_errors=True)
        # Nor a module that is gone from the source, or became a package (harness/evidence.py ->
        # harness/evidence/): an older build's copy would ship next to it. The package is built afresh.
        shutil.rmtree(Path(self.build_lib) / "harness", ignore_errors=True)
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for name in DATA:
            src, dst = HERE / name, Path(self.build_lib) / "harness" / name
            if not (src / ".").is_dir():
                raise SystemExit(f"setup.py: {src} is missing; the package would be built without its {name}")
            shutil.rmtree(dst, ignore_errors=True)
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


packages = find_packages(include=["harness", "harness.*"])
packages += ["harness.suites"] + [f"harness.suites.{p}" for p in find_packages("suites")]

setup(
    packages=packages,
    package_dir={"harness.suites": "suites"},
    cmdclass={"build_py": build_py_with_data},
)
