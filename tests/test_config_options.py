"""`mailharness check` and `mailharness explore` take the same options for the configuration under test (one
home: harness.sut.options), and explore's reach the topology it builds: the node replaced, the recipient, the
domains and the tables vouched for, the release. No Docker: what would ask Postfix is replaced by a recorder."""

from __future__ import annotations

import pickle
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from harness import cli
from harness.bundled import example
from harness.explore.command import config_from
from harness.explore.explorer import Config, Worlds
from harness.explore.scenario import Targets
from harness.mta.facts import ConfigInfo
from harness.mta.postfix.userconfig import TABLES_DIR, with_tables
from harness.mta.versions import default_version, releases
from harness.sut import byoc
from harness.sut.options import UserConfig
from harness.topology import default_topology

SQL_TABLES = ["virtual_mailbox_domains=texthash/virtual_mailbox_domains",
              "virtual_mailbox_maps=texthash/virtual_mailbox_maps", "virtual_alias_maps=texthash/virtual_alias_maps"]
OTHER_RELEASE = next(v for v in releases("postfix") if v != default_version("postfix"))


def _described(*head: str) -> list[str]:
    return [*head, "--mta-recipient", "alice@acme.test", "--mta-domain", "acme.test", "--mta-domain", "acme.org",
            *(x for t in SQL_TABLES for x in ("--mta-table", t)), "--mta", f"postfix@{OTHER_RELEASE}"]


def _info(domain: str = "acme.test", recipients: tuple[str, ...] = ("alice@acme.test",)) -> ConfigInfo:
    return ConfigInfo(Path("/nowhere"), {}, f"mail.{domain}", domain, (), (domain,), (), recipients, ())


def test_check_and_explore_read_the_configuration_options_alike() -> None:
    p = cli.parser()
    check, _ = p.parse_known_args(_described("check", "--example", "postfix-sql"))
    explore = p.parse_args(_described("explore", "--example", "postfix-sql"))
    shared = ("example", "recipient", "mta_domain", "mta_table", "mta")
    got = {k: (getattr(check, k), getattr(explore, k)) for k in shared}
    assert all(c == e for c, e in got.values()), f"expected the same values from both commands, got {got}"
    assert explore.mta_table == SQL_TABLES and explore.mta_domain == ["acme.test", "acme.org"], vars(explore)
    alias = p.parse_args(["explore", "--recipient", "bob@acme.test"])
    assert alias.recipient == "bob@acme.test", f"--recipient is --mta-recipient's other name, as for check: {alias}"


def test_explore_options_reach_the_config_and_the_topology(monkeypatch: pytest.MonkeyPatch) -> None:
    config = config_from(cli.parser().parse_args(_described("explore", "--example", "postfix-sql")))
    directory = str(example("postfix-sql"))
    assert config.variants == ("config",), config
    assert config.user() == UserConfig(directory, "library", "alice@acme.test", ("acme.test", "acme.org"),
                                       tuple(SQL_TABLES)), config
    assert pickle.loads(pickle.dumps(config)) == config, "a worker process gets the same configuration"

    asked: list[tuple[Any, ...]] = []
    built: list[tuple[Any, ...]] = []

    def inspect(directory: str, recipient: str = "", kind: str = "postfix", *, domains: Any = (),
                tables: Any = (), version: str = "") -> ConfigInfo:
        asked.append((directory, recipient, tuple(domains), tuple(tables)))
        return _info()

    def topology(directory: str, node: str = "library", base: Any = None, recipient: str = "", *,
                 domains: Any = (), tables: Any = ()) -> Any:
        built.append((directory, node, recipient, tuple(domains), tuple(tables)))
        return default_topology(), _info()

    monkeypatch.setattr(byoc, "inspect_config", inspect)
    monkeypatch.setattr(byoc, "topology_for_config", topology)
    pairs = tuple(tuple(t.split("=", 1)) for t in SQL_TABLES)
    with ExitStack() as stack:
        worlds = Worlds(config, stack)
        spec = worlds.spec("config")
    assert asked == [(directory, "alice@acme.test", ("acme.test", "acme.org"), pairs)], asked
    assert built == [(directory, "library", "alice@acme.test", ("acme.test", "acme.org"), pairs)], built
    assert worlds.targets == Targets("acme.test", "alice@acme.test", "library"), worlds.targets
    versions = {n.name: n.version for n in spec.nodes if n.kind == "postfix"}
    assert versions and set(versions.values()) == {OTHER_RELEASE}, f"expected every Postfix node on " \
        f"{OTHER_RELEASE} (--mta), got {versions}"


def test_the_node_of_mta_config_is_kept_and_the_default_topology_gets_the_release() -> None:
    config = config_from(cli.parser().parse_args(["explore", "--mta-config", f"store={example('postfix-good')}"]))
    user = config.user()
    assert user is not None and user.node == "store" and user.directory == str(example("postfix-good")), user
    plain = Config(("default",), mta=(f"library=postfix@{OTHER_RELEASE}",))
    with ExitStack() as stack:
        spec = Worlds(plain, stack).spec("default")
    versions = {n.name: n.version for n in spec.nodes if n.kind == "postfix"}
    assert versions.get("library") == OTHER_RELEASE and versions.get("store") == "", \
        f"expected library on {OTHER_RELEASE} and store on the default release, got {versions}"


@pytest.mark.parametrize(("argv", "code", "said"), [
    (["explore", "--mta-domain", "acme.test"], 2, "--mta-domain describe a configuration"),
    (["explore", "--mta-config", "examples/postfix-good", "--example", "postfix-good"], 2, "not both"),
    (["explore", "--example", "no-such-example"], 4, "no example named 'no-such-example'"),
    (["explore", "--example", "postfix-good", "--mta-table", "virtual_mailbox_maps"], 4, "expected PARAM=FILE"),
    (["check", "--mta-recipient", "alice@acme.test"], 2, "--mta-recipient describe a configuration"),
    (["check", "examples/postfix-good", "--example", "postfix-good"], 2, "not both"),
], ids=["explore-described-unnamed", "explore-both", "explore-unknown-example", "explore-bad-table",
        "check-described-unnamed", "check-both"])
def test_options_that_do_not_go_together_are_refused_before_docker(argv: list[str], code: int, said: str,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    got = cli.main(argv)
    err = capsys.readouterr().err
    assert (got, said in err) == (code, True), f"expected exit {code} saying {said!r}, got {got}: {err}"


def test_check_hands_the_same_options_to_pytest(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []

    def run(args: list[str]) -> int:
        seen.append(list(args))
        return 0

    monkeypatch.setattr(UserConfig, "inspect", lambda self: _info())
    monkeypatch.setattr(pytest, "main", run)
    assert cli.main(_described("check", "--example", "postfix-sql", "--node", "store")) == 0
    [args] = seen
    directory = example("postfix-sql")
    want = [f"--mta-config=store={directory}", "--mta-domain=acme.test", "--mta-domain=acme.org",
            *(f"--mta-table={t}" for t in SQL_TABLES), "--mta-recipient=alice@acme.test",
            f"--mailharness-mta=postfix@{OTHER_RELEASE}"]
    assert [a for a in args if a in want] == want, f"expected {want} among pytest's arguments, got {args}"


def test_table_files_are_found_in_the_example_from_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CI's postfix-sql options name files relative to the example, as `check` resolves them."""
    monkeypatch.chdir(tmp_path)
    user = config_from(cli.parser().parse_args(["explore", "--example", "postfix-sql",
                                                *(x for t in SQL_TABLES for x in ("--mta-table", t))])).user()
    assert user is not None
    out = with_tables(Path(user.directory), user.table_pairs())
    main_cf = (out / "main.cf").read_text()
    for t in SQL_TABLES:
        param = t.split("=", 1)[0]
        assert f"{param} = texthash:/etc/postfix/{TABLES_DIR}/{param}" in main_cf, main_cf
        assert (out / TABLES_DIR / param).read_bytes() == (Path(user.directory) / t.split("=", 1)[1]).read_bytes()


def test_a_search_that_fails_is_no_finding_it_exits_3(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """A failure of the harness in the search (a lookup error, a lost node) is said as one: exit 3, not 1 (a
    violation), so that CI does not read a crash as a broken guarantee."""
    from harness.explore import command

    def crash(*args: Any, **kwargs: Any) -> Any:
        raise KeyError("no node 'info@mx.library.example'")

    monkeypatch.setattr(command, "search", crash)
    got = cli.main(["explore", "--budget", "1", "--database", "", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert (got, "a worker failed: worker 0: KeyError" in err) == (3, True), f"expected exit 3 naming the " \
        f"KeyError, got {got}: {err}"


def test_a_configuration_that_receives_no_mail_is_not_explored(monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """An outbound-only server (a null client, a satellite: loopback only, or no domain) gets no mail from outside,
    and every scenario sends it some: explore says so and exits 5 without searching (it would judge nothing)."""
    import dataclasses

    from harness.explore import command

    why = "no listener on the network (inet_interfaces = loopback-only)"
    monkeypatch.setattr(UserConfig, "inspect", lambda self: dataclasses.replace(_info(), inbound_na=why))

    def search(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("searched a configuration that receives no mail")

    monkeypatch.setattr(command, "search", search)
    got = cli.main(["explore", "--example", "postfix-nullclient", "--budget", "1", "--database", ""])
    err = capsys.readouterr().err
    assert (got, f"not applicable: {why}" in err) == (5, True), f"expected exit 5 saying why, got {got}: {err}"


def test_describe_says_how_the_server_sends_and_whether_it_receives() -> None:
    from pathlib import Path

    from harness.mta.facts import ConfigInfo, Outbound
    from harness.sut.options import UserConfig, describe

    info = ConfigInfo(Path("cfg"), {}, "web1.shop.test", "shop.test", (), (), (), (), (), notes=("a note",),
                      outbound=Outbound("[smtp.provider.test]:587", "smtp.provider.test", 587, ("web1", "pw"),
                                        "encrypt", "shop.test"),
                      inbound_na="no listener on the network (inet_interfaces = loopback-only)")
    first, *more = describe(UserConfig("cfg"), info)
    assert first.startswith("cfg in place of library: web1.shop.test, domains none;"), first
    assert more == ["  sends through relayhost [smtp.provider.test]:587: stood in for by the node relayhost "
                    "(smtp.provider.test:587, STARTTLS offered, login web1 required after STARTTLS); TLS policy "
                    "encrypt; senders qualified as @shop.test",
                    "  receives no mail from outside: no listener on the network (inet_interfaces = loopback-only)",
                    "  note: a note"], more
    ip = Outbound("[192.0.2.1]", "", 25, None, "", "shop.test", why="relayhost = [192.0.2.1] is an IP address")
    info2 = ConfigInfo(Path("cfg"), {}, "h.test", "test.test", (), (), (), (), (), outbound=ip)
    assert "not stood in for: relayhost = [192.0.2.1] is an IP address" in describe(UserConfig("cfg"), info2)[1]
