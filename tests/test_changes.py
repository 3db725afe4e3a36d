"""What applied changes imply for a node (harness.faults.changes), without Docker: any order of applying and undoing
gives the state a plain replay of the still-applied changes gives, and undoing everything gives the baseline."""

from __future__ import annotations

import base64

from hypothesis import given
from hypothesis import strategies as st

from harness.faults.changes import (
    Change,
    Container,
    DiskFilled,
    DnsAnswer,
    File,
    NodeWant,
    Param,
    ServiceOff,
    TableKeyGone,
    TableLine,
    want,
)
from harness.mta.postfix.config import ConfigWriter, size_conflict

BASELINE_TABLE = "jill OK\njack OK\n"
CHANGES: list[Change] = [
    Param("library", "message_size_limit", "2000"), Param("library", "message_size_limit", "5000"),
    Param("library", "maximal_queue_lifetime", "0s"), Param("store", "smtp_connect_timeout", "1s"),
    TableLine("library", "aliases", "jill jill@example.edu"),
    TableLine("library", "aliases", "jill jack@store.example"),
    TableKeyGone("library", "local_recipients", "jill"), TableLine("library", "local_recipients", "jill OK"),
    ServiceOff("library", "smtp/inet"), File("library", "/var/mail/jill/.forward", text="a@b\n", owner="jill"),
    File("library", "/var/mail/jill/.forward", text="c@d\n", owner="jill"), DiskFilled("library"),
    Container("edu", "halted"), Container("edu", "frozen"), Container("edu", "disconnected"),
    DnsAnswer("library.example", "nxdomain"), DnsAnswer("library.example", "servfail"),
    DnsAnswer("example.edu", "dead_mx"),
]
# A fault is a group of changes; a script applies (index into FAULTS) or undoes (index into the applied ones).
FAULTS = [tuple(CHANGES[i] for i in group) for group in
          [(0,), (1,), (2, 11), (3, 13), (4,), (5,), (6,), (7,), (8,), (9,), (10,), (12, 3), (14,), (15,), (16,),
           (17,)]]
steps = st.lists(st.tuples(st.booleans(), st.integers(0, 100)), max_size=30)


def replay(applied: list[tuple[Change, ...]]) -> tuple[dict[str, dict[str, object]], dict[str, str]]:
    """The spec, written the slow way: for each thing, look for the last applied change that decides it."""
    flat = [c for group in applied for c in group]
    nodes: dict[str, dict[str, object]] = {}
    for c in flat:
        if isinstance(c, DnsAnswer):
            continue
        n = nodes.setdefault(c.node, {})
        if isinstance(c, Param):
            n[f"param {c.name}"] = [x for x in flat if isinstance(x, Param) and x.node == c.node
                                    and x.name == c.name][-1].value
        elif isinstance(c, (TableLine, TableKeyGone)):
            gone = {x.key for x in flat if isinstance(x, TableKeyGone) and x.node == c.node and x.table == c.table}
            lines = [ln for ln in (BASELINE_TABLE.splitlines() if c.table == "local_recipients" else [])
                     if ln.split()[0] not in gone]
            lines += [x.line for x in flat if isinstance(x, TableLine) and x.node == c.node and x.table == c.table
                      and x.line.split()[0] not in gone]
            n[f"table {c.table}"] = lines
        elif isinstance(c, File):
            n[f"file {c.path}"] = [x for x in flat if isinstance(x, File) and x.path == c.path][-1].text
        else:
            n[str(c)] = True
    dns: dict[str, str] = {}
    for c in flat:
        if isinstance(c, DnsAnswer):
            dns[c.domain] = c.kind
    return nodes, dns


def summary(wants: dict[str, NodeWant]) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    for node, w in wants.items():
        n = out.setdefault(node, {})
        n.update({f"param {k}": v for k, v in w.params.items()})
        for t in w.tables:
            n[f"table {t}"] = w.table(t, BASELINE_TABLE if t == "local_recipients" else "").splitlines()
        n.update({f"file {p}": f.text for p, f in w.files.items()})
        n.update({str(ServiceOff(node, s)): True for s in w.services_off})
        n.update({str(Container(node, s)): True for s in w.container})
        if w.disk_filled:
            n[str(DiskFilled(node))] = True
    return {k: v for k, v in out.items() if v}


@given(steps)
def test_any_order_of_apply_and_undo_gives_what_the_applied_changes_imply(script: list[tuple[bool, int]]) -> None:
    applied: list[tuple[Change, ...]] = []
    for is_apply, i in script:
        if is_apply:
            applied.append(FAULTS[i % len(FAULTS)])
        elif applied:
            applied.pop(i % len(applied))
        wants, dns = want(c for group in applied for c in group)
        assert (summary(wants), dns) == replay(applied)
    for _ in range(len(applied)):
        applied.pop(0)
    assert want(()) == ({}, {})


def test_undoing_one_of_two_writers_of_a_parameter_leaves_the_other() -> None:
    small, large = Param("library", "message_size_limit", "2000"), Param("library", "message_size_limit", "5000")
    assert want([small, large])[0]["library"].params == {"message_size_limit": "5000"}
    assert want([large])[0]["library"].params == {"message_size_limit": "5000"}  # small undone: large holds
    assert want([small])[0]["library"].params == {"message_size_limit": "2000"}  # large undone: small comes back


def test_a_removed_key_hides_added_lines_too_and_comes_back_when_undone() -> None:
    gone, added = TableKeyGone("library", "local_recipients", "jill"), TableLine("library", "aliases", "jill a@b")
    w = want([gone, added])[0]["library"]
    assert w.table("local_recipients", BASELINE_TABLE) == "jack OK\n"
    assert w.table("aliases", "") == "jill a@b\n"
    assert want([added])[0]["library"].table("local_recipients", BASELINE_TABLE) == BASELINE_TABLE


def test_dns_answers_merge_per_domain() -> None:
    assert want([DnsAnswer("a.example", "nxdomain"), DnsAnswer("b.example", "servfail")])[1] == {
        "a.example": "nxdomain", "b.example": "servfail"}


def test_size_limits_that_postfix_would_refuse_are_named() -> None:
    assert size_conflict({"message_size_limit": "200000"}, {"mailbox_size_limit": "100000"}) is not None
    assert size_conflict({"message_size_limit": "2000"}, {"mailbox_size_limit": "100000"}) is None
    assert size_conflict({"mailbox_size_limit": "0"}, {"message_size_limit": "10240000"}) is None


class _Node:
    """A Postfix node as the ConfigWriter drives it: what it ran, and whether with a reload."""

    name, ip = "edu", "10.0.0.3"

    def __init__(self) -> None:
        self.runs: list[tuple[str, str]] = []

    def exec(self, cmd: list[str], *, check: bool = True) -> bytes:
        if cmd[:2] == ["postconf", "-c"]:
            return b"message_size_limit = 10240000\n"
        if cmd[:2] == ["sh", "-c"] and cmd[2].startswith("cat "):
            return b""  # the tables' baseline: empty
        self.runs.append(("exec", cmd[-1]))
        return b""

    def reconfigure(self, script: str) -> None:
        self.runs.append(("reload", script))


def test_a_refusal_is_indexed_in_place_without_a_reload_and_undone_the_same_way() -> None:
    # smtpd reads the lmdb: refusals at every lookup, so a session already open (a client's cached connection)
    # sees the change with no reload; a texthash: table, or main.cf, still needs one (issue 18, item 7b).
    node = _Node()
    writer = ConfigWriter(node)
    refuse = TableLine("edu", "refuse", "jill@example.edu 451 4.7.1 later")
    writer.converge(want([refuse])[0]["edu"])
    (how, script), = node.runs
    assert how == "exec" and script.endswith("postmap lmdb:/etc/postfix/refuse") and "/etc/postfix/refuse" in script
    writer.converge(NodeWant())
    assert node.runs[1][0] == "exec" and node.runs[1][1].endswith("postmap lmdb:/etc/postfix/refuse")
    assert not writer.changed
    writer.converge(want([refuse, Param("edu", "message_size_limit", "20000")])[0]["edu"])
    how, script = node.runs[2]
    # the index first: postmap would wait up to 2 s for main.cf to settle after the postconf -e edits
    assert how == "reload" and script.index("postmap lmdb:/etc/postfix/refuse") < script.index("postconf -e")
    writer.converge(want([TableLine("edu", "aliases", "jill a@b")])[0]["edu"])
    assert node.runs[3][0] == "reload"


def test_a_tls_policy_replaces_its_index_without_a_reload_and_a_level_set_again_holds() -> None:
    # The smtp client caches each next hop's policy for its life: the index is built beside the old one and renamed
    # over it, so a client holding the old one restarts before its next delivery (no reload of the whole node).
    node = _Node()
    writer = ConfigWriter(node)
    encrypt, verify = (TableLine("edu", "tls_policy", f"store.example {level}") for level in ("encrypt", "verify"))
    writer.converge(want([encrypt])[0]["edu"])
    (how, script), = node.runs
    assert how == "exec", "a policy needs no reload"
    lines = script.splitlines()
    assert lines[-3:] == ["postmap lmdb:/etc/postfix/tls_policy.mh-new",
                          "mv -f /etc/postfix/tls_policy.mh-new.lmdb /etc/postfix/tls_policy.lmdb",
                          "mv -f /etc/postfix/tls_policy.mh-new /etc/postfix/tls_policy"]
    assert base64.b64decode(lines[-4].split("'")[1]) == b"store.example encrypt\n"
    writer.converge(want([encrypt, verify])[0]["edu"])
    assert base64.b64decode(node.runs[1][1].splitlines()[-4].split("'")[1]) == b"store.example verify\n", \
        "the level applied last holds, as a parameter set twice would"
    writer.converge(want([verify, encrypt])[0]["edu"])
    assert base64.b64decode(node.runs[2][1].splitlines()[-4].split("'")[1]) == b"store.example encrypt\n"
    writer.converge(NodeWant())
    assert node.runs[3][0] == "exec" and base64.b64decode(node.runs[3][1].splitlines()[-4].split("'")[1]) == b""
    assert not writer.changed
