"""The TLS faults as data (TlsPolicy, NoStartTLS, BadCertificate): what each means on Postfix, on Exim and on a mock
node, and that undoing one restores exactly what it changed; no Docker (stand-ins record the commands)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from harness import BadCertificate, NoStartTLS, QueueLifetime, SaslLogin, TlsPolicy
from harness.faults import FaultError
from harness.faults.changes import File, NodeWant, Param, TableLine, want
from harness.faults.interpret import changes_for
from harness.mock.tls import CERTIFICATE, FAULTS_DIR, STARTTLS_OFF
from harness.mta.exim import faults as X
from harness.mta.postfix import faults as P
from harness.nodes.base import Node
from harness.nodes.mock import MockNode
from harness.topology import NodeSpec

from .fakes import NodeTable


class _Postfix:
    name, domain = "library", "library.example"
    spec = NodeSpec("library", "library.example")
    tls_policy_keys: tuple[str, ...] = ()  # a user's configuration: no policy table of the harness's


class _PostfixImage(_Postfix):
    tls_policy_keys: tuple[str, ...] = ("store.example", "[backend.corp.example]", "[relay.example]:587")


def test_on_postfix_each_is_one_parameter() -> None:
    n = _Postfix()
    for level in ("none", "may", "encrypt", "verify", "secure"):
        assert P.changes_for(TlsPolicy("library", level), n) == (
            Param("library", "smtp_tls_security_level", level),)
    assert P.changes_for(NoStartTLS("library"), n) == (
        Param("library", "smtpd_tls_security_level", "none"),)
    assert P.changes_for(BadCertificate("library", "untrusted"), n) == (
        Param("library", "smtpd_tls_cert_file", "/etc/mailharness/tls/untrusted.crt"),)


def test_on_the_image_s_postfix_a_policy_is_its_level_for_every_next_hop_in_the_policy_table() -> None:
    assert P.changes_for(TlsPolicy("library", "encrypt"), _PostfixImage()) == (
        TableLine("library", "tls_policy", "store.example encrypt"),
        TableLine("library", "tls_policy", "[backend.corp.example] encrypt"),
        TableLine("library", "tls_policy", "[relay.example]:587 encrypt"))


def test_on_exim_each_is_a_macro_and_secure_is_refused_with_what_exim_supports() -> None:
    n = _Postfix()
    assert set(X.changes_for(TlsPolicy("library", "verify"), n)) == {
        Param("library", "MH_TLS_AVOID", "!*"), Param("library", "MH_TLS_REQUIRE", "*"),
        Param("library", "MH_TLS_VERIFY", "*")}
    assert set(X.changes_for(TlsPolicy("library", "may"), n)) == {
        Param("library", "MH_TLS_AVOID", "!*"), Param("library", "MH_TLS_REQUIRE", "!*"),
        Param("library", "MH_TLS_VERIFY", "!*")}
    assert X.changes_for(NoStartTLS("library"), n) == (Param("library", "MH_TLS_ADVERTISE", "!*"),)
    assert X.changes_for(BadCertificate("library", "expired"), n) == (
        Param("library", "MH_TLS_CERTIFICATE", "expired"),)
    with pytest.raises(FaultError, match=r"Exim cannot express the level 'secure'.*supports: none, may, encrypt, "
                                         r"verify"):
        X.changes_for(TlsPolicy("library", "secure"), n)


class _Mock(MockNode):
    """A mock node that records its commands instead of running a container."""

    def __init__(self, spec: NodeSpec) -> None:  # no container: nothing of Node's start is needed here
        self.name, self.spec = spec.name, spec
        self._fault_files = {}
        self.commands: list[str] = []

    def exec(self, cmd: list[str] | str, *, check: bool = True) -> bytes:
        self.commands.append(cmd[-1])
        return b""


def _mock(spec: NodeSpec) -> _Mock:
    return _Mock(spec)


def test_on_a_mock_node_each_is_a_file_the_mock_reads_and_the_undo_removes_only_its_own() -> None:
    edu = _mock(NodeSpec("edu", "example.edu", kind="mock"))
    world = NodeTable({"edu": edu})
    off = changes_for(NoStartTLS("edu"), world)
    bad = changes_for(BadCertificate("edu", "wrong_name"), world)
    assert off == (File("edu", f"{FAULTS_DIR}/{STARTTLS_OFF}", text="NoStartTLS\n"),)
    assert bad == (File("edu", f"{FAULTS_DIR}/{CERTIFICATE}", text="wrong_name\n"),)
    both, _ = want([*off, *bad])
    edu.converge(both["edu"])
    assert len(edu.commands) == 1 and STARTTLS_OFF in edu.commands[0] and CERTIFICATE in edu.commands[0]
    only_bad, _ = want(bad)
    edu.converge(only_bad["edu"])
    assert edu.commands[-1].endswith(f"rm -f {FAULTS_DIR}/{STARTTLS_OFF}"), edu.commands[-1]
    edu.converge(NodeWant())
    assert edu.commands[-1].endswith(f"rm -f {FAULTS_DIR}/{CERTIFICATE}"), edu.commands[-1]


def test_a_mock_node_takes_no_mta_setting() -> None:
    edu = _mock(NodeSpec("edu", "example.edu", kind="mock"))
    with pytest.raises(FaultError, match="edu is a mock node; this fault needs a real MTA"):
        changes_for(TlsPolicy("edu", "encrypt"), NodeTable({"edu": edu}))
    with pytest.raises(FaultError, match="ask for parameters, which only an MTA node has"):
        edu.converge(NodeWant(params={"smtp_tls_security_level": "may"}))


def test_a_kind_of_certificate_the_harness_does_not_make_is_refused() -> None:
    edu = _mock(NodeSpec("edu", "example.edu", kind="mock"))
    with pytest.raises(FaultError, match="the kinds of bad certificate: expired, wrong_name, self_signed, untrusted"):
        changes_for(BadCertificate("edu", "valid"), NodeTable({"edu": edu}))  # type: ignore[arg-type]


def test_the_dns_node_serves_no_smtp() -> None:
    dns = Node.__new__(Node)
    dns.name, dns.kind = "dns", "dns"
    with pytest.raises(FaultError, match="dns is a dns node, which serves no SMTP"):
        changes_for(NoStartTLS("dns"), NodeTable({"dns": dns}))


def test_a_login_is_postfix_s_sasl_client_settings_and_exim_s_authenticators_macros() -> None:
    n = _Postfix()
    login = SaslLogin("library", user="sat@library.example", password="s3cret-1")
    assert P.changes_for(login, n) == (
        Param("library", "smtp_sasl_auth_enable", "yes"),
        Param("library", "smtp_sasl_password_maps", "static:sat@library.example:s3cret-1"),
        Param("library", "smtp_sasl_security_options", "noanonymous"),
        Param("library", "smtp_sasl_tls_security_options", "noanonymous"))
    assert set(X.changes_for(login, n)) == {
        Param("library", "MH_AUTH_USER", "sat@library.example"), Param("library", "MH_AUTH_PASSWORD", "s3cret-1"),
        Param("library", "MH_AUTH_REQUIRE", "*")}
    for bad in (SaslLogin("library", password="two words"), SaslLogin("library", user="a:b"),
                SaslLogin("library", password="$x")):
        with pytest.raises(FaultError, match="letters, digits and . _ @ \\+ - only"):
            P.changes_for(bad, n)


def test_the_tls_faults_and_the_login_are_the_baseline_s_macros_not_a_user_s_configure() -> None:
    """A user's Exim configure has its own TLS settings, smtp transports and authenticators: the baseline's macros
    would change nothing there, so the faults say so instead of doing nothing."""
    n = _Postfix()
    for fault in (TlsPolicy("library", "encrypt"), SaslLogin("library"), NoStartTLS("library"),
                  BadCertificate("library", "expired")):
        with pytest.raises(FaultError, match="not on a user's Exim configuration: its own TLS settings"):
            X.on_user_config(fault, X.changes_for(fault, n))
    X.on_user_config(QueueLifetime("library"), X.changes_for(QueueLifetime("library"), n))  # read through its own


def test_a_postfix_node_names_its_next_hops_as_its_policy_table_keys_and_none_on_a_user_s_configuration(
        tmp_path: Path) -> None:
    """The keys TlsPolicy writes (PostfixNode.tls_policy_keys): the topology's other domains (by their MX), [host]
    for a route, the relayhost as written; none where the node's TLS policy table is not the image's."""
    from harness.evidence.events import EventLog
    from harness.mta.postfix.node import PostfixNode
    from harness.nodes.base import Placement
    from harness.topology import TopologySpec

    place = Placement("t", "n", "10.0.0.0/24", "10.0.0.2", "10.0.0.9", EventLog())
    gateway = NodeSpec("gateway", "gw.example", other_domains=("corp.example",), routes={"corp.example": "mx.corp"},
                       relayhost="[relay.example]:587")
    topology = TopologySpec(name="t", nodes=(gateway, NodeSpec("shop", "shop.example")))
    assert PostfixNode(gateway, topology, "img", place).tls_policy_keys == (
        "shop.example", "[mx.corp]", "[relay.example]:587")
    own = dataclasses.replace(gateway, main_cf={"smtp_tls_policy_maps": "hash:/etc/postfix/mine"})
    assert PostfixNode(own, topology, "img", place).tls_policy_keys == ()
    users = dataclasses.replace(gateway, config_dir=str(tmp_path))
    assert PostfixNode(users, topology, "img", place).tls_policy_keys == ()
