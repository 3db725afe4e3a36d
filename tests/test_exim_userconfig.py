"""A user's Exim configuration, without Docker: what Exim answered about real configurations in the probe
(tests/mta/exim_config_samples.json, collected from both releases by tests/mta/exim_config_samples.py) is read and
replayed through harness.mta.exim.configfacts; the harness's overrides (containers/exim/user-config.py) are applied to
the configurations as Exim printed them; the causes and the choice of the MTA that runs a configuration."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType
from typing import Any, cast

import pytest

from harness.faults import AcceptUnknownUsers, DiskFull, FaultError, Forward, QueueFull, Refuse, SizeLimit, UnknownUser
from harness.mta import overrides, recognise
from harness.mta.exim import answers as read
from harness.mta.exim import configfacts, faults
from harness.mta.exim.causes import causes
from harness.mta.facts import ConfigError
from harness.mta.probe import Answer, Probe
from harness.sut.options import UserConfig
from harness.topology import NodeSpec

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = json.loads((ROOT / "tests" / "mta" / "exim_config_samples.json").read_text())
RELEASES = sorted(SAMPLES)
EXAMPLES = ROOT / "examples"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("exim_user_config", ROOT / "containers" / "exim" / "user-config.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SCRIPT = _script()
SELECTOR = re.search(r"^log_selector\s*=\s*((?:.*\\\n)*.*)$", (ROOT / "containers" / "exim" / "configure").read_text(),
                     re.M)


class Replay:
    """A probe that answers each command as the real one did (tests/mta/exim_config_samples.json)."""

    def __init__(self, answers: list[list[Any]]) -> None:
        self.answers = {json.dumps(c): Answer(s, o, e) for c, s, o, e in answers}

    def run(self, commands: list[list[str]]) -> list[Answer]:
        missing = [c for c in commands if json.dumps(c) not in self.answers]
        assert not missing, f"not in the samples (run tests/mta/exim_config_samples.py again): {missing}"
        return [self.answers[json.dumps(c)] for c in commands]

    def put(self, files: dict[str, bytes], mode: int = 0o644) -> None:
        pass


def sample(release: str, name: str) -> dict[str, Any]:
    return cast(dict[str, Any], SAMPLES[release][name])


def replayed(release: str, name: str) -> Any:
    s = sample(release, name)
    d = EXAMPLES / name if (EXAMPLES / name).is_dir() else Path(name)
    return configfacts._resolve(d, cast(Probe, Replay(s["answers"])), "", s["domains"])


def answer(release: str, name: str, command: list[str]) -> str:
    found = [o for c, _, o, _ in sample(release, name)["answers"] if c == command]
    assert found, command
    return cast(str, found[0])


def flat(release: str, name: str) -> str:
    return answer(release, name, ["cat", configfacts.USER_CONF])


# -- what Exim said, read --------------------------------------------------------------------------------------------
def test_option_lines_and_lists_are_read_as_exim_prints_them() -> None:
    assert read.options("primary_hostname = mail.acme.test\nno_disable_ipv6\nprdr_enable\nfoo is not a known option") \
        == {"primary_hostname": "mail.acme.test", "disable_ipv6": "false", "prdr_enable": "true"}
    assert read.named_list("domainlist local_domains = @ : library.example\n") == \
        ("domain", "local_domains", "@ : library.example")
    assert read.named_list('no address, domain, host, or local part list called "x" exists') is None
    assert read.list_items(": 127.0.0.1 : ::::1") == ["127.0.0.1", "::1"], "a doubled colon is a colon"
    assert read.list_items("<; 127.0.0.1 ; ::1") == ["127.0.0.1", "::1"]
    assert read.lookup_file("lsearch;/etc/exim4/domains") == "/etc/exim4/domains"
    assert read.lookup_file("partial-lsearch;/etc/exim4/hubbed_hosts") == "/etc/exim4/hubbed_hosts"
    assert read.lookup_file("library.example") == ""


@pytest.mark.parametrize("release", RELEASES)
def test_address_tests_name_where_each_address_ends(release: str) -> None:
    """exim -bt on an alias that fans out to a mailbox and a remote address, a pipe, a :fail:, an unknown user."""
    bt = [configfacts.EXIM, "-bt"]
    [info_jill, info_jack] = sorted(read.address_tests(answer(release, "exim-aliases", [*bt, "sales@library.example"])),
                                    key=lambda t: t.address != "jill@library.example")
    assert info_jill == read.Tested("jill@library.example", "deliverable", router="localuser",
                                    transport="local_delivery", parents=("info@library.example",
                                                                         "sales@library.example"))
    assert (info_jack.status, info_jack.reason) == ("deferred", "host lookup did not complete")
    [pipe] = read.address_tests(answer(release, "exim-aliases", [*bt, "pipe@library.example"]))
    assert (pipe.target, pipe.transport) == ("|/bin/cat", "address_pipe")
    [gone] = read.address_tests(answer(release, "exim-aliases", [*bt, "gone@library.example"]))
    assert (gone.status, gone.reason) == ("undeliverable", "moved away")
    [root] = read.address_tests(answer(release, "exim-debian", [*bt, "root@library.example"]))
    assert (root.target, root.transport) == ("/var/mail/mail", "address_file")


@pytest.mark.parametrize("release", RELEASES)
def test_the_configuration_as_exim_printed_it_is_read_by_section(release: str) -> None:
    sections = read.sections(flat(release, "exim-debian"))
    routers = read.drivers(sections["routers"])
    assert list(routers) == ["dnslookup", "system_aliases", "userforward", "local_user", "mail4root"]
    assert routers["local_user"]["transport"] == "mail_spool", "the macro LOCAL_DELIVERY, expanded"
    assert read.drivers(sections["transports"])["mail_spool"]["driver"] == "appendfile"
    rcpt = read.acls(sections["acl"])["acl_check_rcpt"]
    assert [s.verb for s in rcpt] == ["accept", "deny", "accept", "accept", "accept", "require", "require", "accept"]
    assert rcpt[6].conditions == (("verify", "recipient"),)
    assert read.statements_of(read.acl_json(rcpt)) == rcpt


# -- the facts, replayed ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("release", RELEASES)
def test_a_single_configure_file_is_read_as_exim_reads_it(release: str) -> None:
    info = replayed(release, "exim-default")
    assert (info.hostname, info.domain, info.local_domains) == ("mail.library.example", "library.example",
                                                                ("library.example",))
    assert info.recipients[0] == "jill@library.example" and info.local_users == ("jill",)
    assert info.routes[0].kind == "mailbox" and "router localuser, transport local_delivery" in info.routes[0].via
    assert "root@library.example" not in info.recipients, "root's mail would be delivered as root: never_users"
    assert info.unknown == "no-such-user-4711@library.example" and not info.inbound_na
    assert any("jill: a Unix account the harness gives the node" in n for n in info.notes), info.notes
    assert info.params["acl_smtp_rcpt"] == "acl_rcpt" and "acl acl_rcpt" in info.params


@pytest.mark.parametrize("release", RELEASES)
def test_debian_s_layout_is_made_by_update_exim4_conf(release: str) -> None:
    info = replayed(release, "exim-debian")
    assert (info.hostname, info.domain) == ("mx.library.example", "library.example"), "hostname left to the host"
    assert info.params["primary_hostname"] == "mx.library.example"
    assert info.params["list local_domains"] == "@:localhost:library.example", "dc_other_hostnames, by Debian"
    assert info.recipients[:2] == ("jill@library.example", "jill@mx.library.example")
    root = next(r for r in info.routes if r.address == "postmaster@library.example")
    assert (root.kind, root.final) == ("mailbox", "root@library.example") and "/var/mail/mail" in root.via
    assert info.notes[:2] == ("Debian's layout: the running configuration made by update-exim4.conf, as Debian does",
                              "/etc/mailname: not in the folder; made with 'library.example' (the first of "
                              "dc_other_hostnames)")


@pytest.mark.parametrize("release", RELEASES)
def test_aliases_count_by_the_mailbox_they_end_in(release: str) -> None:
    info = replayed(release, "exim-aliases")
    routes = {r.address: r for r in info.routes}
    assert routes["sales@library.example"].final == "jill@library.example"
    assert routes["sales@library.example"].via.startswith("sales@library.example -> info@library.example -> jill@")
    assert routes["pipe@library.example"].kind == "other"
    assert "gone@library.example" not in routes, ":fail: is an unknown recipient"


def test_a_broken_configuration_is_refused_in_exim_s_words() -> None:
    words = "configuration refused by Exim (exim -bV):\nExim configuration error in line 3 of /etc/exim4/configure:"
    probe = Replay([[["python3", configfacts.SCRIPT, "render", "/etc/mailharness-user/cfg"], 0,
                     json.dumps({"error": words}), ""]])
    with pytest.raises(ConfigError, match=r"cfg: configuration refused by Exim \(exim -bV\):\nExim configuration"):
        configfacts._resolve(Path("cfg"), cast(Probe, probe), "", [])


# -- the overrides ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("name", ["exim-default", "exim-debian"])
def test_the_overrides_change_only_what_they_say(release: str, name: str) -> None:
    assert SELECTOR is not None
    user = flat(release, name)
    out = SCRIPT.override(user, SELECTOR.group(1).replace("\\\n", " "))
    lines = out.splitlines()
    assert lines[1:3] == [".include /etc/exim4/mh/node.conf", ".include_if_exists /etc/exim4/mh/settings"]
    main = out.split("\nbegin ", 1)[0]
    set_lines = [SCRIPT.option_name(ln) for ln in main.splitlines() if not ln.startswith(".")]
    for option in ("log_selector", "log_file_path", "timezone", "message_size_limit", "spool_directory"):
        assert set_lines.count(option) == 1, (option, "Exim refuses an option set twice")
    assert "+msg_id_created" in next(ln for ln in lines if ln.startswith("log_selector"))
    at = lines.index(".ifdef MH_LOCAL_INTERFACES")  # a fault's value (SMTP off), else the topology's network
    assert lines[at:at + 5] == [".ifdef MH_LOCAL_INTERFACES", "local_interfaces = MH_LOCAL_INTERFACES", ".else",
                                "local_interfaces = <; 0.0.0.0", ".endif"] and "disable_ipv6 = true" in lines
    assert [ln.split()[-1] for ln in lines if ln.strip().startswith("*") and "MH_RETRY" in ln] == ["MH_RETRY"]
    assert lines.count("    connect_timeout = MH_CONNECT_TIMEOUT") == 1, "the one smtp transport"
    user_acl = user.split("begin acl", 1)[1].split("begin routers", 1)[0]
    assert user_acl in out, "the ACLs are left as they are"
    if name == "exim-debian":
        [ignore] = [ln for ln in lines if ln.strip().startswith("ignore_target_hosts")]
        assert ignore.strip().startswith("ignore_target_hosts = <; ! MH_NETWORKS ; 0.0.0.0 ;"), ignore
        assert "timeout_frozen_after = 7d" in lines and "primary_hostname = MH_HOSTNAME" in lines
    else:
        assert "primary_hostname = MH_HOSTNAME" not in lines, "the configuration names its host itself"


def test_a_loopback_only_configuration_keeps_its_interfaces() -> None:
    out = SCRIPT.override("local_interfaces = <; 127.0.0.1 ; ::1\nbegin acl\n", "+all")
    assert "local_interfaces = <; 127.0.0.1 ; ::1" in out.splitlines()
    assert SCRIPT.loopback_only("127.0.0.1") and not SCRIPT.loopback_only("<; ::0 ; 0.0.0.0")
    assert SCRIPT.unignore("0.0.0.0 : 127.0.0.0/8") == "! MH_NETWORKS : 0.0.0.0 : 127.0.0.0/8"
    assert SCRIPT.retry_rule("  *  quota") == "  *  quota", "a rule without times fails at once, as it did"


def test_the_layouts_and_debian_s_settings() -> None:
    assert SCRIPT.layout(["configure", "aliases"]) == "configure"
    assert SCRIPT.layout(["exim4.conf", "update-exim4.conf.conf"]) == "exim4.conf", "Debian reads exim4.conf first"
    assert SCRIPT.layout(["main.cf"]) == ""
    settings = SCRIPT.debian_settings((EXAMPLES / "exim-debian" / "update-exim4.conf.conf").read_text())
    assert settings["dc_eximconfig_configtype"] == "internet" and settings["dc_use_split_config"] == "true"
    assert SCRIPT.mailname_from(settings) == "library.example"
    assert SCRIPT.mailname_from({"dc_other_hostnames": "localhost"}) == ""


def test_the_overrides_are_listed_from_the_script_and_name_every_option_it_sets() -> None:
    listed = overrides("exim")
    assert all(what and why for what, why in listed), listed
    named = " ".join(what for what, _ in listed)
    for option in (*SCRIPT.REPLACED, *SCRIPT.BY_FAULT, *SCRIPT.TRANSPORT_BY_FAULT, "message_size_limit",
                   "ignore_target_hosts", "primary_hostname"):
        assert option in named, f"{option}: set by user-config.py, not said in an override line"
    assert any(what.startswith("not changed: the ACLs and routers") for what, _ in listed)


# -- the causes --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("release", RELEASES)
def test_the_backscatter_cause_names_the_statement_that_accepts_before_verifying(release: str) -> None:
    broken = replayed(release, "exim-debian-backscatter").params
    [cause] = causes("unknown-recipients", broken)
    assert cause.startswith("acl_check_rcpt (acl_smtp_rcpt) accepts the server's own domains at `accept domains = "
                            "+local_domains : +relay_to_domains` before any `verify = recipient`"), cause
    assert causes("unknown-recipients", replayed(release, "exim-debian").params) == []
    assert causes("relay", replayed(release, "exim-debian").params) == []


def test_a_bare_accept_before_the_relay_check_is_an_open_relay_and_backscatter() -> None:
    acl = [read.Statement("accept", (("hosts", ":"),)), read.Statement("accept", ())]
    params = {"acl_smtp_rcpt": "rcpt", "acl rcpt": read.acl_json(acl), "list relay_from_hosts": "0.0.0.0/0"}
    [wide, open_acl] = causes("relay", params)
    assert wide.startswith("relay_from_hosts = 0.0.0.0/0: 0.0.0.0/0 lets every client") and "`accept`" in open_acl
    assert causes("unknown-recipients", params)[0].startswith("rcpt (acl_smtp_rcpt) accepts the server's own domains "
                                                              "at `accept`")
    postmaster = [read.Statement("accept", (("local_parts", "postmaster"), ("domains", "+local_domains"))),
                  read.Statement("deny", (("!verify", "recipient"),)), read.Statement("accept", ())]
    assert causes("unknown-recipients", {"acl_smtp_rcpt": "r", "acl r": read.acl_json(postmaster)}) == []


# -- faults on a user's configuration, and which MTA runs it -----------------------------------------------------------
def test_faults_that_would_rewrite_what_is_judged_are_refused_on_a_user_s_configuration() -> None:
    node = type("N", (), {"name": "library", "domain": "library.example",
                          "spec": NodeSpec("library", "library.example", users=("jill",))})()
    for ok in (DiskFull("library"), QueueFull("library"), SizeLimit("library", 20_000)):
        faults.on_user_config(ok, faults.changes_for(ok, node))
    for bad in (UnknownUser("library", "jill"), AcceptUnknownUsers("library"), Refuse("library", "jill@x.example"),
                Forward("library", "jill", "jack@store.example")):
        with pytest.raises(FaultError, match="not on a user's Exim configuration"):
            faults.on_user_config(bad, faults.changes_for(bad, node))


def test_the_mta_of_a_configuration_is_the_one_its_files_name_or_the_one_chosen() -> None:
    default, good = str(EXAMPLES / "exim-default"), str(EXAMPLES / "postfix-good")
    assert recognise(default) == "exim" and recognise(good) == "postfix" and recognise(ROOT / "docs") == ""
    assert UserConfig(default).kind() == ("exim", "")
    exim = UserConfig(default, mta=("exim@4.96",))
    assert exim.mta_choices() == ["library=exim@4.96"], "the other nodes keep their MTA"
    assert exim.kind() == ("exim", "4.96")
    postfix = UserConfig(good, mta=("postfix@3.7",))
    assert postfix.mta_choices() == ["postfix@3.7"] and postfix.kind() == ("postfix", "3.7")
    mixed = UserConfig(default, mta=("postfix@3.7",))  # the release of the other nodes: Exim still runs Exim's
    assert mixed.mta_choices() == ["postfix@3.7"] and mixed.kind() == ("exim", "")
    assert UserConfig(default, mta=("library=postfix",)).kind() == ("postfix", ""), "what you chose for its node"
    assert "--mailharness-mta=library=exim@4.96" in exim.pytest_options()


def test_a_smarthost_router_is_an_outbound_route_the_harness_does_not_stand_in_for() -> None:
    """Debian's satellite: a manualroute router for every domain but the server's own. The outbound requirements
    are NOT JUDGED (no stand-in for an Exim smarthost yet), with the router named; sending by MX is no smarthost."""
    from harness.mta.exim.routes import Routing, smarthost

    routers = {"hubbed_hosts": {"driver": "manualroute", "domains": "${if exists{/etc/exim4/hubbed_hosts}{x}fail}",
                                "route_data": "${lookup{$domain}lsearch{/etc/exim4/hubbed_hosts}}"},
               "smarthost": {"driver": "manualroute", "domains": "! +local_domains",
                             "route_list": "* smtp.provider.test::587 byname", "transport": "remote_smtp_smarthost"}}
    transports = {"remote_smtp_smarthost": {"driver": "smtp", "hosts_require_tls": "*"}}
    out = smarthost(Routing(routers, transports), "library.example")
    assert out is not None and out.relayhost == "smtp.provider.test::587" and out.host == "", out
    assert (out.tls, out.origin) == ("encrypt", "library.example") and out.tls_required
    assert out.why.startswith("router smarthost sends every other domain's mail to smtp.provider.test:587")
    assert smarthost(Routing({"dnslookup": {"driver": "dnslookup", "domains": "! +local_domains"}}, {}), "x") is None


def test_mail_that_would_be_delivered_as_root_is_no_known_recipient_and_says_why() -> None:
    """Exim's default configure with Debian's /etc/aliases: postmaster -> root, whose delivery Exim refuses
    (never_users): -bt calls it deliverable, the delivery would fail; Debian's mail4root (user = mail) delivers."""
    from harness.mta.exim.routes import Routing, route_of, why_not

    routing = Routing({"localuser": {"driver": "accept", "check_local_user": "true"},
                       "mail4root": {"driver": "redirect", "user": "mail"}},
                      {"local_delivery": {"driver": "appendfile"}, "address_file": {"driver": "appendfile"}})
    as_root = [read.Tested("root@library.example", "deliverable", router="localuser", transport="local_delivery",
                           parents=("postmaster@library.example",))]
    assert route_of("postmaster@library.example", as_root, routing) is None
    assert why_not(as_root, routing).startswith("root@library.example would be delivered as root (router localuser")
    to_file = [read.Tested("root@library.example", "deliverable", router="mail4root", transport="address_file",
                           target="/var/mail/mail", parents=("postmaster@library.example",))]
    route = route_of("postmaster@library.example", to_file, routing)
    assert route is not None and (route.kind, route.final) == ("mailbox", "root@library.example")
