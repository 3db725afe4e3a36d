"""What each fault means on an Exim node (harness.mta.exim.faults) and how the writer turns the applied changes into
one script (harness.mta.exim.config): no Docker, a recording stand-in for the node."""

from __future__ import annotations

import pytest

from harness import (
    AcceptUnknownUsers,
    DiskFull,
    Forward,
    MailboxFull,
    QueueFull,
    QueueLifetime,
    Refuse,
    SizeLimit,
    UnknownUser,
)
from harness.faults import Fault, FaultError
from harness.faults.changes import File, Param, TableKeyGone, TableLine, want
from harness.mta.exim import faults as X
from harness.mta.exim.config import EximConfigWriter
from harness.topology import NodeSpec


class _Node:
    name, domain, ip = "library", "library.example", "10.9.9.11"

    def __init__(self) -> None:
        self.spec = NodeSpec("library", "library.example", users=("jill", "postmaster"))
        self.execs: list[str] = []
        self.restarts: list[str] = []

    def exec(self, cmd: list[str], *, check: bool = True) -> bytes:
        self.execs.append(cmd[-1])
        if "cat /etc/exim4/mh/baseline/users" in cmd[-1]:
            return b"jill\npostmaster\n"
        return b"ok\n" if "dev/tcp" in cmd[-1] else b""

    def reconfigure(self, script: str) -> None:
        self.restarts.append(script)


def test_each_fault_means_on_exim_what_it_means_on_postfix() -> None:
    n = _Node()
    assert X.changes_for(UnknownUser("library", "jill"), n) == (TableKeyGone("library", "users", "jill"),)
    assert X.changes_for(AcceptUnknownUsers("library"), n)[0].path == X.ACCEPT_UNKNOWN  # type: ignore[union-attr]
    assert Param("library", X.SPOOL_SPACE, "1000000G") in X.changes_for(QueueFull("library"), n)
    assert X.changes_for(SizeLimit("library", 20_000), n) == (File("library", X.SIZE_LIMIT_FILE, text="20000"),)
    assert X.changes_for(Refuse("library", "Jill@Library.example", "450 4.2.0 later"), n) == (
        TableLine("library", "refuse", "jill@library.example: 450 4.2.0 later"),)
    assert X.changes_for(Forward("library", "jill", "jill@example.edu"), n) == (
        TableLine("library", "aliases", "jill: jill@example.edu"),)
    assert X.changes_for(Forward("library", "jill", "jill@example.edu", via="virtual"), n) == (
        TableLine("library", "virtual", "jill@library.example: jill@example.edu"),)
    assert Param("library", X.RETRY, "F,5s,1s") in X.changes_for(DiskFull("library", retry_for="5s"), n)
    # 0s: a rule without times, which fails the address at its first temporary failure
    assert Param("library", X.RETRY, "") in X.changes_for(DiskFull("library"), n), "0s: at the first failure"
    assert set(X.changes_for(QueueLifetime("library", lifetime="2", delay_warning="0"), n)) == {
        Param("library", X.RETRY, "F,2s,1s"), Param("library", X.BOUNCE_ERRORS_FOR, "2s"),
        Param("library", X.DELAY_WARNING, "0s")}
    assert Param("library", X.DELAY_WARNING, "1s:52w") in X.changes_for(
        QueueLifetime("library", delay_warning="1s"), n), "one warning, as on Postfix: the last interval repeats"
    full = X.changes_for(MailboxFull("library", "jill", 20_000), n)
    assert TableLine("library", "quota", "jill: 20000") in full and any(isinstance(c, File) for c in full)


@pytest.mark.parametrize(("fault", "words"), [
    (Forward("library", "nobody"), "no user 'nobody' on library"),
    (Refuse("library", reply="250 fine"), "4xx or 5xx"),
    (SizeLimit("library", 5000), "at least 10000"),
    (QueueLifetime("library", lifetime="soon"), "not a time Exim can read"),
])
def test_what_exim_cannot_express_is_refused_with_the_reason(fault: Fault, words: str) -> None:
    with pytest.raises(FaultError, match=words):
        X.changes_for(fault, _Node())


def test_an_unknown_fault_names_exim_and_what_it_supports() -> None:
    class Meteor(Fault):
        pass

    with pytest.raises(FaultError, match=r"Exim cannot express Meteor; the faults it supports: .*UnknownUser") as e:
        X.changes_for(Meteor("library"), _Node())
    assert "object" not in str(e.value), "only faults are listed, not singledispatch's fallback"


def test_tables_are_written_without_a_restart_and_macros_restart_once() -> None:
    n = _Node()
    w = EximConfigWriter(n)
    gone, _ = want([TableKeyGone("library", "users", "jill")])
    w.converge(gone["library"])
    assert not n.restarts and any("base64 -d > /etc/exim4/mh/users" in s for s in n.execs)
    assert w.changed
    both, _ = want([TableKeyGone("library", "users", "jill"), Param("library", X.SPOOL_SPACE, "1000000G")])
    w.converge(both["library"])
    assert len(n.restarts) == 1 and "/etc/exim4/mh/settings" in n.restarts[0]
    assert "/etc/exim4/mh/users" not in n.restarts[0], "an unchanged table is not written again"
    w.converge(want([])[0].get("library") or type(both["library"])())
    assert len(n.restarts) == 2 and not w.changed


def test_the_smtp_service_off_and_on_again() -> None:
    n = _Node()
    w = EximConfigWriter(n)
    off, _ = want(X.smtp_off(n))
    w.converge(off["library"])
    assert "MH_LOCAL_INTERFACES = 127.0.0.1" in base64_payloads(n.restarts[-1])
    assert any("dev/tcp/10.9.9.11/25" in s for s in n.execs), "it waits until the port refuses connections"
    w.converge(type(off["library"])())
    assert "MH_LOCAL_INTERFACES" not in base64_payloads(n.restarts[-1])


def test_a_restarted_node_gets_the_files_of_the_faults_still_applied_again() -> None:
    """Its entrypoint restores /etc/exim4/mh from the baseline (size_limit and accept_unknown gone) and /var/mail
    starts empty: the writer writes them again (tests/e2e/test_faults_compose_exim.py runs it)."""
    n = _Node()
    w = EximConfigWriter(n)
    applied, _ = want([*X.changes_for(SizeLimit("library", 30_000), n),
                       *X.changes_for(AcceptUnknownUsers("library"), n)])
    w.converge(applied["library"])
    w.restarted()
    n.execs.clear()
    w.converge(applied["library"])
    again = base64_payloads("\n".join(n.execs))
    assert f"> {X.SIZE_LIMIT_FILE}" in "\n".join(n.execs) and "30000" in again, n.execs
    assert f"> {X.ACCEPT_UNKNOWN}" in "\n".join(n.execs), n.execs


def test_each_full_mailbox_holds_its_own_limit_and_the_last_undo_takes_the_folder() -> None:
    """The quota in force is the user's first quota line: each MailboxFull's limit is a file of its own in the
    folder, so it holds at least that quota in any order; the folder goes with the last of them."""
    n = _Node()
    big, small = (X.changes_for(MailboxFull("library", "jill", limit), n) for limit in (200_000, 100_000))
    fills = [c for c in (*big, *small) if isinstance(c, File)]
    assert len({f.path for f in fills}) == 2 and {f.fill for f in fills} == {200_000, 100_000}
    assert len({f.directory for f in fills}) == 1 and fills[0].directory.startswith("/var/mail/jill/.mh-fill")
    w = EximConfigWriter(n)
    both, _ = want([*big, *small])
    w.converge(both["library"])
    one, _ = want(small)
    n.execs.clear()
    w.converge(one["library"])
    assert "rm -f" in n.execs[-1] and "rmdir" not in n.execs[-1], "the other limit's file is still in the folder"
    n.execs.clear()
    w.converge(type(one["library"])())
    assert f"rmdir -p --ignore-fail-on-non-empty {fills[0].directory}" in n.execs[-1], n.execs


def base64_payloads(script: str) -> str:
    import base64
    import re

    return "".join(base64.b64decode(m).decode() for m in re.findall(r"echo '([A-Za-z0-9+/=]*)' \| base64 -d", script))
