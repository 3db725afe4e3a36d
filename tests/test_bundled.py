"""The run-time folders (image definitions, scenarios, examples) are found inside the package or in a source
checkout, and nowhere else. The installed case is proven end to end by tests/e2e/test_wheel.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import bundled

ROOT = Path(__file__).resolve().parents[1]


def test_a_checkout_reads_the_repository_folders() -> None:
    assert bundled.folder("containers") == ROOT / "containers"
    assert bundled.folder("suites") == ROOT / "suites"
    found = bundled.examples()
    assert {"postfix-good", "postfix-backscatter", "postfix-gateway"} <= set(found)
    assert {"exim-default", "exim-debian", "exim-default-backscatter", "exim-debian-backscatter"} <= set(found)
    assert set(found) == {d.name for d in (ROOT / "examples").iterdir() if d.is_dir()}, "every folder is an example"
    assert bundled.example("postfix-good") == ROOT / "examples" / "postfix-good"


def test_outside_a_checkout_only_the_package_counts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site-packages"
    (site / "containers" / "base").mkdir(parents=True)  # another project's folder beside ours: never taken
    (site / "containers" / "base" / "packages.txt").write_text("postfix\n")
    monkeypatch.setattr(bundled, "PACKAGE", site / "harness")
    with pytest.raises(bundled.NotBundled, match=r"looked for base/packages.txt in .*site-packages/harness/containers"
                       r"\): the installed package is incomplete"):
        bundled.folder("containers")
    (site / "harness" / "examples" / "postfix-good").mkdir(parents=True)
    (site / "harness" / "examples" / "postfix-good" / "main.cf").write_text("myhostname = x\n")
    assert bundled.example("postfix-good") == site / "harness" / "examples" / "postfix-good"
    with pytest.raises(bundled.NotBundled, match="no example named 'nope'; the bundled examples are postfix-good"):
        bundled.example("nope")
