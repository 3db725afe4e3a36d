"""Reading how a Postfix configuration sends (harness.mta.postfix.outbound): its relayhost, the stand-in's name and
port, the login its smtp_sasl_password_maps hold, its TLS policy, and whether it listens on the network."""

from __future__ import annotations

from typing import Any, cast

import pytest

from harness.mta.postfix.outbound import listens, outbound, policy_keys, tls_policy
from harness.mta.postfix.probe import Answer, Probe


class TableProbe:
    """A probe whose `postmap -q KEY TABLE` answers from a dict, and whose files are a dict (head -n 1)."""

    def __init__(self, tables: dict[str, dict[str, str]], files: dict[str, str] | None = None) -> None:
        self.tables = tables
        self.files = files or {}
        self.asked: list[list[str]] = []

    def run(self, commands: list[list[str]]) -> list[Answer]:
        out = []
        for c in commands:
            self.asked.append(c)
            if c[:2] == ["postmap", "-q"]:
                value = self.tables.get(c[3], {}).get(c[2])
                out.append(Answer(0, value + "\n", "") if value is not None else Answer(1, "", ""))
            elif c[:3] == ["head", "-n", "1"]:
                f = self.files.get(c[3])
                out.append(Answer(0, f, "") if f is not None else Answer(1, "", "no such file"))
            else:
                raise AssertionError(f"unexpected command {c}")
        return out


def read(values: dict[str, str], probe: TableProbe | None = None) -> tuple[Any, list[str]]:
    notes: list[str] = []
    return outbound(cast(Probe, probe or TableProbe({})), {"myorigin": "acme.test", **values}, notes), notes


@pytest.mark.parametrize(("relayhost", "host", "port"), [
    ("[smtp.provider.test]:587", "smtp.provider.test", 587),
    ("[smtp.provider.test]:submission", "smtp.provider.test", 587),
    ("[mail.acme.test]", "mail.acme.test", 25),
    ("acme.test", "acme.test", 25),
    ("Relay.Acme.Test:2525", "relay.acme.test", 2525),
])
def test_the_stand_in_answers_for_the_relayhost_s_name_and_port(relayhost: str, host: str, port: int) -> None:
    relay, notes = read({"relayhost": relayhost})
    assert (relay.relayhost, relay.host, relay.port, relay.why) == (relayhost, host, port, ""), notes
    assert relay.login is None and relay.origin == "acme.test"


def test_no_relayhost_no_outbound() -> None:
    assert read({"relayhost": ""})[0] is None


@pytest.mark.parametrize(("relayhost", "why"), [
    ("[192.0.2.10]:587", "is an IP address"),
    ("[smtp.provider.test]:465", "implicit TLS"),
    ("[smtp.provider.test]:nosuchservice", "unknown service"),
])
def test_a_relayhost_that_cannot_be_stood_in_for_says_why(relayhost: str, why: str) -> None:
    relay, _ = read({"relayhost": relayhost})
    assert relay.host == "" and why in relay.why, relay


def test_the_login_is_the_one_the_table_holds_for_the_relayhost_as_written() -> None:
    probe = TableProbe({"hash:/etc/postfix/sasl_passwd": {"[smtp.provider.test]:587": "web1@shop.test:pw:with:colons"}})
    relay, notes = read({"relayhost": "[smtp.provider.test]:587", "smtp_sasl_auth_enable": "yes",
                         "smtp_sasl_password_maps": "hash:/etc/postfix/sasl_passwd"}, probe)
    assert relay.login == ("web1@shop.test", "pw:with:colons"), notes


def test_a_login_table_without_the_relayhost_leaves_a_note() -> None:
    relay, notes = read({"relayhost": "[smtp.provider.test]:587", "smtp_sasl_auth_enable": "yes",
                         "smtp_sasl_password_maps": "hash:/etc/postfix/sasl_passwd"})
    assert relay.login is None
    assert any("holds no user:password for [smtp.provider.test]:587" in n for n in notes), notes


def test_myorigin_in_a_file_is_its_first_line() -> None:
    probe = TableProbe({}, {"/etc/mailname": "shop.test\n"})
    relay, _ = read({"relayhost": "[x.test]", "myorigin": "/etc/mailname"}, probe)
    assert relay.origin == "shop.test"


@pytest.mark.parametrize(("values", "level", "required"), [
    ({"smtp_tls_security_level": "encrypt"}, "encrypt", True),
    ({"smtp_tls_security_level": "may"}, "may", False),
    ({"smtp_tls_security_level": "", "smtp_enforce_tls": "yes"}, "encrypt", True),
    ({"smtp_tls_security_level": "", "smtp_use_tls": "yes"}, "may", False),
    ({}, "none", False),
])
def test_the_tls_policy(values: dict[str, str], level: str, required: bool) -> None:
    assert tls_policy(values) == level
    relay, _ = read({"relayhost": "[x.test]", **values})
    assert relay.tls_required is required


POLICY = "hash:/etc/postfix/tls_policy"


@pytest.mark.parametrize(("relayhost", "keys"), [
    ("[smtp.provider.test]:587", ["[smtp.provider.test]:587"]),
    ("[mail.acme.test]", ["[mail.acme.test]"]),
    ("relay.acme.test:2525", ["relay.acme.test:2525"]),
    ("Relay.Acme.Test", ["relay.acme.test", ".acme.test", ".test"]),
])
def test_postfix_looks_the_relayhost_s_policy_up_by_the_next_hop_verbatim(relayhost: str, keys: list[str]) -> None:
    assert policy_keys(relayhost) == keys


def test_the_policy_table_s_entry_for_the_relayhost_is_the_policy() -> None:
    probe = TableProbe({POLICY: {"[smtp.provider.test]:587": "encrypt protocols=>=TLSv1.2"}})
    relay, notes = read({"relayhost": "[smtp.provider.test]:587", "smtp_tls_security_level": "may",
                         "smtp_tls_policy_maps": POLICY}, probe)
    assert (relay.tls, relay.tls_required, relay.tls_stated) == ("encrypt", True, "")
    assert relay.tls_said == "smtp_tls_policy_maps: [smtp.provider.test]:587 encrypt protocols=>=TLSv1.2"
    assert notes == [f"the relayhost's TLS policy: {relay.tls_said}"]


@pytest.mark.parametrize("key", ["smtp.provider.test", "[smtp.provider.test]", "smtp.provider.test:587",
                                 "[smtp.provider.test]:submission", ".provider.test"])
def test_an_entry_under_a_key_postfix_never_looks_up_is_intent_not_policy(key: str) -> None:
    """The operator meant TLS for the relayhost; Postfix applies smtp_tls_security_level: the check judges the
    intent, and says why it does not hold."""
    probe = TableProbe({POLICY: {key: "encrypt"}})
    relay, notes = read({"relayhost": "[smtp.provider.test]:587", "smtp_tls_security_level": "may",
                         "smtp_tls_policy_maps": POLICY}, probe)
    assert (relay.tls, relay.tls_required, relay.tls_stated, relay.tls_intended) == ("may", False, "encrypt", True)
    assert relay.tls_said == "smtp_tls_security_level = may"
    assert relay.tls_stated_said.startswith(f"smtp_tls_policy_maps has '{key} encrypt', a key Postfix never looks up "
                                            "for relayhost = [smtp.provider.test]:587")
    assert notes == [relay.tls_stated_said]


def test_dane_is_not_a_requirement_of_tls_without_dnssec_and_none_of_the_others_is_intent() -> None:
    relay, _ = read({"relayhost": "[x.test]", "smtp_tls_security_level": "dane"})
    assert (relay.tls_required, relay.tls_intended, relay.verifies) == (False, False, True)
    relay, _ = read({"relayhost": "[x.test]", "smtp_tls_security_level": "dane-only"})
    assert (relay.tls_required, relay.verifies) == (True, True)
    probe = TableProbe({POLICY: {"x.test": "may"}})
    relay, notes = read({"relayhost": "[x.test]", "smtp_tls_policy_maps": POLICY}, probe)
    assert (relay.tls, relay.tls_intended) == ("none", False) and relay.tls_stated == "may"


@pytest.mark.parametrize(("value", "expected"), [
    ("all", True), ("loopback-only", False), ("127.0.0.1", False), ("127.0.0.1, [::1]", False),
    ("192.0.2.1, 127.0.0.1", True),
])
def test_listening_on_loopback_only(value: str, expected: bool) -> None:
    assert listens({"inet_interfaces": value}) is expected


@pytest.mark.parametrize(("mynetworks", "expected"), [
    ("127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128", True), ("192.0.2.0/24", False), ("", False)])
def test_clients_on_the_host_itself_when_mynetworks_holds_loopback(mynetworks: str, expected: bool) -> None:
    relay, _ = read({"relayhost": "[x.test]", "mynetworks": mynetworks})
    assert relay.local_clients is expected
