"""Image tags are hashes of their inputs: unchanged inputs, same tag; any change, a new tag."""

from pathlib import Path

import pytest

from harness.engine import images
from harness.engine.base import BuildError, host_mirror
from harness.mta import KINDS
from harness.mta.versions import default_version, releases

RELEASES, DEFAULT = releases("postfix"), default_version("postfix")
EXIM, EXIM_DEFAULT = releases("exim"), default_version("exim")


def test_tags_are_stable_and_name_the_image() -> None:
    for name in images.IMAGE_NAMES:
        t = images.tag(name)
        assert t == images.tag(name)
        want = f"mailharness-{name}-{default_version(name)}:" if name in KINDS else f"mailharness-{name}:"
        assert t.startswith(want) and len(t.split(":")[1]) == 12


def test_each_postfix_release_has_its_image_on_its_debian_base() -> None:
    for version, r in RELEASES.items():
        t = images.postfix_tag(version)
        assert t.startswith(f"mailharness-postfix-{version}:") and images.tag("postfix", version) == t
        assert images.base_tag(r.debian).startswith(f"mailharness-base-{r.debian}:")
    assert images.postfix_tag("") == images.postfix_tag(DEFAULT) == images.tag("postfix")
    assert images.base_tag() == images.base_tag(RELEASES[DEFAULT].debian)
    # the same definitions on another base: another tag; the bases differ by their suite alone
    assert images.postfix_tag("3.7").split(":")[1] != images.postfix_tag("3.10").split(":")[1]
    assert images.base_tag("bookworm").split(":")[1] != images.base_tag("trixie").split(":")[1]
    with pytest.raises(ValueError, match="known: 3.7"):
        images.postfix_tag("3.9")


def test_each_exim_release_has_its_image_on_its_own_debian_base() -> None:
    """Exim cannot share Postfix's base (both are Debian's mail-transport-agent): its own, per Debian release."""
    for version, r in EXIM.items():
        t = images.mta_tag("exim", version)
        assert t.startswith(f"mailharness-exim-{version}:") and images.tag("exim", version) == t
        assert r.base == "exim" and images.base_tag(r.debian, r.base).startswith(f"mailharness-base-exim-{r.debian}:")
        assert images.base_tag(r.debian, r.base) != images.base_tag(r.debian)
    assert images.tag("exim") == images.mta_tag("exim", EXIM_DEFAULT)
    assert images.key("exim", "4.96") == "exim@4.96" and images.key("exim") == "exim"
    with pytest.raises(ValueError, match="known: 4.96"):
        images.mta_tag("exim", "4.95")


def test_ensure_asks_for_the_releases_wanted() -> None:
    every = images._wanted(images.IMAGE_NAMES, None)
    assert {k for k, *_ in every} == {"postfix", *(f"postfix@{v}" for v in RELEASES), "dns", "mock-smtp",
                                      "exim", *(f"exim@{v}" for v in EXIM)}
    assert {s for *_, s in every} == {r.debian for r in RELEASES.values()}
    # a mapping kind -> versions: each kind its own releases, a kind it leaves out none
    mixed = images._wanted(("postfix", "exim", "dns"), {"exim": ["4.96"], "postfix": [""]})
    assert [k for k, *_ in mixed] == [f"postfix@{DEFAULT}", "postfix", "exim@4.96", "dns"]
    assert [k for k, *_ in images._wanted(("postfix", "exim"), {"postfix": ["3.7"]})] == ["postfix@3.7"]
    only = images._wanted(("postfix", "dns"), ["3.10", "3.10"])
    want = [("postfix@3.10", images.postfix_tag("3.10"), "trixie")]
    if DEFAULT == "3.10":  # the default release's image is also "postfix"
        want.append(("postfix", images.postfix_tag("3.10"), "trixie"))
    assert [(k, t, s) for k, _, t, s in only] == [*want, ("dns", images.tag("dns"), images.HELPER_SUITE)]
    assert [k for k, *_ in images._wanted(("postfix",), [""])] == [f"postfix@{DEFAULT}", "postfix"]


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
    assert after["exim"] == before["exim"]
    (dst / "base" / "packages.txt").write_text("postfix\n")
    assert images.base_tag() != base_before
    on_shared = [n for n in images.IMAGE_NAMES if n != "exim"]
    assert all(images.tag(n) != after[n] for n in on_shared), "a new base rebuilds every image on it"
    assert images.tag("exim") == after["exim"], "Exim's images have a base of their own"
    shared = {n: images.tag(n) for n in on_shared}
    (dst / "exim" / "packages.txt").write_text("exim4-daemon-light\n")
    assert images.tag("exim") != after["exim"], "Exim's packages make its base"
    assert {n: images.tag(n) for n in on_shared} == shared, "and no other image's"


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
    assert "debian:bookworm-slim" in why
    routes, why = plan("auto", local=True, root=True, debootstrap=True, suite="trixie")
    assert "debian:trixie-slim" in why and "debootstrap trixie" in why
    routes, why = plan("auto", local=True, root=False, debootstrap=False)
    assert routes == ("pull",) and why.endswith("needs root, debootstrap")
    assert plan("offline", local=False, root=False, debootstrap=False) == (("offline",), "the offline route, as asked")
    with pytest.raises(BuildError, match="expected auto, pull or offline"):
        plan("ftp", local=True, root=True, debootstrap=True)
