"""Fix hints from the configuration itself (harness.mta.postfix.causes): the user's own value that is the known
cause comes first; with none visible, the requirement's generic hint stands alone."""

from __future__ import annotations

from harness.mta import causes

GOOD = {"mydestination": "$myhostname, acme.test", "local_recipient_maps": "proxy:unix:passwd.byname $alias_maps",
        "smtpd_reject_unlisted_recipient": "yes", "relay_domains": "", "mynetworks": "127.0.0.0/8",
        "smtpd_relay_restrictions": "permit_mynetworks, reject_unauth_destination"}


def test_a_correct_configuration_shows_no_cause() -> None:
    assert causes("postfix", "unknown-recipients", GOOD) == []
    assert causes("postfix", "relay", GOOD) == []


def test_smtpd_reject_unlisted_recipient_no_is_named() -> None:
    [cause] = causes("postfix", "unknown-recipients", {**GOOD, "smtpd_reject_unlisted_recipient": "no"})
    assert cause.startswith("smtpd_reject_unlisted_recipient = no:"), cause


def test_an_empty_local_recipient_maps_and_a_relay_domain_without_recipients() -> None:
    found = causes("postfix", "unknown-recipients", {**GOOD, "local_recipient_maps": "", "relay_domains": "b.test"})
    assert [c.split(" ", 1)[0] for c in found] == ["local_recipient_maps", "relay_domains"], found


def test_an_open_relay_by_mynetworks_or_a_leading_permit() -> None:
    found = causes("postfix", "relay", {**GOOD, "mynetworks": "127.0.0.0/8 0.0.0.0/0",
                                         "smtpd_relay_restrictions": "permit, reject_unauth_destination"})
    assert "0.0.0.0/0 trusts every client" in found[0] and "begins with permit" in found[1], found


def test_a_topic_the_package_does_not_know_has_no_cause() -> None:
    assert causes("postfix", "quota", GOOD) == []


def test_smuggling_causes_read_the_values_the_node_runs_with() -> None:
    from harness.mta import cause_settings

    assert "smtpd_forbid_bare_newline" in cause_settings("postfix", "smuggling")
    assert cause_settings("postfix", "relay") == ()
    fixed = {"smtpd_forbid_bare_newline": "normalize", "smtpd_forbid_bare_newline_exclusions": "127.0.0.0/8",
             "smtpd_forbid_unauth_pipelining": "no"}
    assert causes("postfix", "smuggling", fixed) == []
    found = causes("postfix", "smuggling", {**fixed, "smtpd_forbid_bare_newline": "no"})
    assert found[0].startswith("smtpd_forbid_bare_newline = no") and "normalize" in found[0], found
    assert found[1].startswith("smtpd_forbid_unauth_pipelining = no as well"), found
    [wide] = causes("postfix", "smuggling", {**fixed, "smtpd_forbid_bare_newline_exclusions": "0.0.0.0/0",
                                             "smtpd_forbid_unauth_pipelining": "yes"})
    assert "exempts every client on the Internet" in wide
