"""Image tags are hashes of their inputs: unchanged inputs, same tag; any change, a new tag."""

from pathlib import Path

import pytest

from harness.engine import images
from harness.engine.base import BuildError, host_mirror


def test_tags_are_stable_and_name_the_image() -> None:
    for name in images.IMAGE_NAMES:
        t = images.tag(name)
        assert t == images.tag(name)
        assert t.startswith(f"mailharness-{name}:") and len(t.split(":")[1]) == 12


def test_a_changed_input_changes_the_tag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = images.containers_dir()
    dst = tmp_path / "containers"
    for p in src.rglob("*"):
        if p.is_file():
            (dst / p.relative_to(src)).parent.mkdir(parents=True, exist_ok=True)
            (dst / p.relative_to(src)).write_bytes(p.read_bytes())
    monkeypatch.setenv("MAILHARNESS_CONTAINERS", str(dst))
    before = {n: images.tag(n) for n in images.IMAGE_NAMES}
    base_before = images.base_tag()
    (dst / "postfix" / "main.cf").write_text((dst / "postfix" / "main.cf").read_text() + "# changed\n")
    after = {n: images.tag(n) for n in images.IMAGE_NAMES}
    assert after["postfix"] != before["postfix"]
    assert after["dns"] == before["dns"] and images.base_tag() == base_before
    (dst / "base" / "packages.txt").write_text("postfix\n")
    assert images.base_tag() != base_before
    assert all(images.tag(n) != after[n] for n in images.IMAGE_NAMES), "a new base rebuilds every image"


def test_missing_definitions_say_where_they_were_looked_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILHARNESS_CONTAINERS", str(tmp_path))
    with pytest.raises(BuildError, match=str(tmp_path)):
        images.tag("postfix")


def test_the_mirror_comes_from_the_environment_or_the_host() -> None:
    assert host_mirror().startswith(("http://", "https://", "file:"))


def test_mirror_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILHARNESS_DEBIAN_MIRROR", "http://mirror.invalid/debian")
    assert host_mirror() == "http://mirror.invalid/debian"


def test_the_base_route_is_offline_only_for_a_local_engine_and_root() -> None:
    from harness.engine.base import plan

    assert plan("auto", local=True, root=True, debootstrap=True)[0] == ("pull", "offline")
    routes, why = plan("auto", local=False, root=True, debootstrap=True)
    assert routes == ("pull",) and "offline route needs a local engine (DOCKER_HOST is remote)" in why
    routes, why = plan("auto", local=True, root=False, debootstrap=False)
    assert routes == ("pull",) and why.endswith("needs root, debootstrap")
    assert plan("offline", local=False, root=False, debootstrap=False) == (("offline",), "the offline route, as asked")
    with pytest.raises(BuildError, match="expected auto, pull or offline"):
        plan("ftp", local=True, root=True, debootstrap=True)
