"""Reading a user's Postfix configuration (no Docker): parameters, expansion, domains, recipients."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.byoc import ConfigError, expand, inspect_config, parse_main_cf, topology_for_config

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_main_cf_syntax() -> None:
    p = parse_main_cf("# comment\nmydomain = a.example\nmydestination = $myhostname,\n    $mydomain\nempty =\n")
    assert p == {"mydomain": "a.example", "mydestination": "$myhostname, $mydomain", "empty": ""}


def test_expansion_with_defaults() -> None:
    params = {"myhostname": "mx.a.example", "mydomain": "a.example"}
    assert expand("${myhostname} $(mydomain) $mydomain", params) == "mx.a.example a.example a.example"
    assert expand("$virtual_alias_domains", params) == "", "defaults expand too (to their own defaults)"


def test_the_good_example() -> None:
    info = inspect_config(EXAMPLES / "postfix-good")
    assert (info.hostname, info.domain, info.local_domains) == ("mx.library.example", "library.example",
                                                               ("library.example",))
    assert info.recipients == ("jill@library.example",) and "jill" in info.local_users
    assert info.notes == ()


def test_the_backscatter_example_is_noticed() -> None:
    info = inspect_config(EXAMPLES / "postfix-backscatter")
    assert any("local_recipient_maps is empty" in n for n in info.notes)
    assert "jill" in info.local_users, "aliases' right-hand sides name local users"


def test_virtual_domains_and_unlistable_tables(tmp_path: Path) -> None:
    (tmp_path / "main.cf").write_text("myhostname = mx.corp.example\nvirtual_alias_domains = corp2.example\n"
                                      "virtual_alias_maps = hash:/etc/postfix/virtual, pcre:/etc/postfix/v.pcre\n")
    (tmp_path / "virtual").write_text("bob@corp2.example  bob@corp.example\n@corp2.example catchall\n")
    info = inspect_config(tmp_path)
    assert info.domain == "corp.example" and info.virtual_domains == ("corp2.example",)
    assert info.recipients == ("bob@corp2.example",), "catch-alls are not recipients to test with"
    spec, _ = topology_for_config(tmp_path, "library")
    node = spec.node("library")
    assert node.config_dir == str(tmp_path.resolve()) and node.other_domains == ("corp2.example",)
    assert spec.node("anyone@corp2.example").name == "library"


def test_what_cannot_be_used_says_why(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no main.cf here"):
        inspect_config(tmp_path)
    (tmp_path / "main.cf").write_text("myhostname = localhost\n")
    with pytest.raises(ConfigError, match="set mydomain or a fully qualified myhostname"):
        inspect_config(tmp_path)
    (tmp_path / "main.cf").write_text("myhostname = mx.store.example\n")
    with pytest.raises(ConfigError, match=r"store.example \(node store\)"):
        topology_for_config(tmp_path, "library")
