import pytest

from harness import NodeSpec, TopologySpec, default_topology


def test_default_topology_is_the_classic_case() -> None:
    t = default_topology()
    assert [(n.name, n.domain, n.users) for n in t] == [
        ("store", "store.example", ("jack",)),
        ("library", "library.example", ("jill",)),
        ("edu", "example.edu", ("jill",)),
    ]
    assert t.node("library").hostname == "mx.library.example"


@pytest.mark.parametrize("key", ["library", "library.example", "mx.library.example", "jill@library.example",
                                 "JILL@Library.Example", "root@mx.library.example"])
def test_nodes_are_found_by_name_domain_hostname_or_address(key: str) -> None:
    assert default_topology().node(key).name == "library"


def test_unknown_node_lists_the_candidates() -> None:
    with pytest.raises(KeyError) as exc:
        default_topology().node("nowhere.example")
    assert "store (store.example), library (library.example), edu (example.edu)" in str(exc.value)


def test_postmaster_is_always_a_mailbox_and_users_are_deduplicated() -> None:
    n = NodeSpec("a", "a.example", users=("bob", "bob"))
    assert n.users == ("bob",)
    assert n.mailboxes == ("bob", "postmaster")


@pytest.mark.parametrize("domain", ["Upper.Example", "no_underscore.example", "single", ""])
def test_invalid_domains_are_refused(domain: str) -> None:
    with pytest.raises(ValueError, match="DNS domain"):
        NodeSpec("x", domain)


def test_invalid_user_and_kind_are_refused() -> None:
    with pytest.raises(ValueError, match="user"):
        NodeSpec("x", "x.example", users=("no spaces",))
    with pytest.raises(ValueError, match="kind"):
        NodeSpec("x", "x.example", kind="sendmail")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="main_cf, relayhost are for Postfix nodes; an exim node runs"):
        NodeSpec("x", "x.example", kind="exim", main_cf={"a": "b"}, relayhost="[r.example]")
    assert NodeSpec("x", "x.example", kind="exim", version="4.96").version == "4.96"


def test_duplicate_domains_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicate node domain: a.example"):
        TopologySpec(nodes=(NodeSpec("a", "a.example"), NodeSpec("b", "a.example", hostname="mx2.a.example")))


def test_main_cf_overrides_are_frozen() -> None:
    n = NodeSpec("a", "a.example", main_cf={"message_size_limit": "1000"})
    with pytest.raises(TypeError):
        n.main_cf["x"] = "y"  # type: ignore[index]
