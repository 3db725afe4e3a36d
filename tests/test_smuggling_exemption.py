"""Which clients Postfix exempts from smtpd_forbid_bare_newline (harness.mta.postfix.smuggling): a probe from
such a client says nothing of what a client on the Internet meets, and the requirement says NOT JUDGED."""

from __future__ import annotations

from harness.mta.postfix.smuggling import effective, exemption

FILES = {"/etc/postfix/trusted": "# ours\n10.1.2.0/24\n!10.9.0.0/16 # not these\n10.0.0.0/8\n"}


def _exempt(values: dict[str, str], ip: str, tables: dict[str, set[str]] | None = None) -> str:
    return exemption(values, ip, read_file=lambda p: FILES.get(p, ""),
                     in_table=lambda t, k: k in (tables or {}).get(t, set()))


def test_nobody_is_exempt_when_nobody_is_held_to_crlf() -> None:
    assert _exempt({"smtpd_forbid_bare_newline": "no", "smtpd_forbid_bare_newline_exclusions": "0.0.0.0/0"},
                   "10.1.2.1") == ""


def test_an_address_in_the_exclusions_is_named_with_the_item_that_holds_it() -> None:
    values = {"smtpd_forbid_bare_newline": "normalize",
              "smtpd_forbid_bare_newline_exclusions": "127.0.0.0/8 [::1]/128 10.64.0.0/10"}
    assert _exempt(values, "10.70.3.1") == ("smtpd_forbid_bare_newline_exclusions = 127.0.0.0/8 [::1]/128 "
                                            "10.64.0.0/10 holds 10.70.3.1 (10.64.0.0/10)")
    assert _exempt(values, "192.0.2.7") == ""
    assert _exempt({**values, "smtpd_forbid_bare_newline_exclusions": ""}, "10.70.3.1") == ""


def test_files_negations_tables_and_names_as_postfix_matches_them() -> None:
    values = {"smtpd_forbid_bare_newline": "reject", "smtpd_forbid_bare_newline_exclusions": "/etc/postfix/trusted"}
    assert "(10.1.2.0/24)" in _exempt(values, "10.1.2.1")
    assert _exempt(values, "10.9.1.1") == ""  # the negation comes first: no exemption
    assert "(10.0.0.0/8)" in _exempt(values, "10.8.1.1")
    values["smtpd_forbid_bare_newline_exclusions"] = "mx.example.net, cidr:/etc/postfix/nets"
    assert "(cidr:/etc/postfix/nets)" in _exempt(values, "10.1.2.1", {"cidr:/etc/postfix/nets": {"10.1.2.1"}})
    assert _exempt(values, "10.1.2.1") == ""


def test_the_smtp_service_of_master_cf_overrides_main_cf() -> None:
    main = {"smtpd_forbid_bare_newline": "normalize", "smtpd_forbid_bare_newline_exclusions": "$mynetworks"}
    got = effective(main, {"smtp/inet/smtpd_forbid_bare_newline": "no", "submission/inet/x": "y"})
    assert got == {"smtpd_forbid_bare_newline": "no", "smtpd_forbid_bare_newline_exclusions": "$mynetworks"}
