"""Where a recipient's mail ends, as Postfix's lookups say (no Docker: a probe that answers `postmap -q` and
`postalias -q` from dictionaries, as Postfix would for these tables)."""

from __future__ import annotations

from harness.mta.postfix.probe import Answer
from harness.mta.postfix.resolve import Tables
from harness.mta.postfix.routes import route

VIRTUAL = "texthash:/etc/postfix/virtual"
VMAILBOX = "texthash:/etc/postfix/vmailbox"
ALIASES = "hash:/etc/aliases"
TRANSPORT = "texthash:/etc/postfix/transport"
TABLES = {
    VIRTUAL: {"info@acme.test": "alice@acme.test", "sales@acme.test": "bob@partner.test, alice@acme.test",
              "alice@acme.test": "alice@acme.test", "ops@corp.test": "ops@backend.corp.test"},
    VMAILBOX: {"alice@acme.test": "acme.test/alice/"},
    ALIASES: {"postmaster": "root", "root": "jill", "list": "|/usr/bin/mlmmj-receive"},
    TRANSPORT: {"backend.corp.test": "smtp:[10.0.0.5]"},
}


class _Probe:
    def run(self, cmds: list[list[str]]) -> list[Answer]:
        out = []
        for cmd in cmds:
            key, table = cmd[-2], cmd[-1]
            name = next(t for t in TABLES if t.split(":", 1)[1] == table.split(":", 1)[1])
            value = TABLES[name].get(key)
            out.append(Answer(0, value + "\n", "") if value is not None else Answer(1, "", ""))
        return out


VALUES = {"virtual_alias_maps": VIRTUAL, "virtual_mailbox_maps": VMAILBOX, "alias_maps": ALIASES,
          "transport_maps": TRANSPORT, "virtual_transport": "lmtp:unix:private/dovecot-lmtp",
          "local_transport": "local:$myhostname", "relay_transport": "relay"}
SERVED = {"acme.test": "virtual mailbox", "library.example": "local", "corp.test": "relay",
          "backend.corp.test": "relay"}


def _route(address: str, **values: str) -> tuple[str, str]:
    r = route(address, {**VALUES, **values}, Tables(_Probe(), aliases={ALIASES}), SERVED)  # type: ignore[arg-type]
    return r.kind, r.final


def test_a_virtual_alias_ends_where_its_target_is_stored() -> None:
    assert _route("info@acme.test") == ("lmtp", "alice@acme.test")  # Dovecot's mailbox of alice, not info's
    assert _route("alice@acme.test") == ("lmtp", "alice@acme.test")  # an alias to itself is the mailbox
    assert _route("sales@acme.test") == ("lmtp", "alice@acme.test"), "the target stored here is preferred"


def test_local_aliases_are_followed_to_a_mailbox_or_a_command() -> None:
    assert _route("postmaster@library.example") == ("mailbox", "jill@library.example")
    assert _route("list@library.example")[0] == "other"
    assert _route("jill@library.example", mailbox_command="/usr/bin/procmail")[0] == "other"
    assert _route("jill@library.example", mailbox_transport="lmtp:unix:private/dovecot-lmtp") == (
        "lmtp", "jill@library.example")


def test_an_alias_to_a_relayed_recipient_is_relayed_not_stored() -> None:
    assert _route("ops@corp.test") == ("relay", "ops@backend.corp.test")
    assert _route("bob@partner.test") == ("relay", "bob@partner.test")
