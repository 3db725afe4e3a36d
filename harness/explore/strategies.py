"""Hypothesis strategies over scenarios. Every choice shrinks towards the plainest case: the default topology, an
ordinary sender, one known recipient, no parameters, no faults, faults before submission.

Faults are drawn from the catalogue with the parameters that keep one scenario within seconds (queue times
compressed, 1 s client time-outs). The misconfiguration "fault" AcceptUnknownUsers is never drawn: the explorer
looks for broken guarantees in the configuration under test, it does not make the mistakes itself.
"""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st

from ..faults import (
    DiskFull,
    Dns,
    Down,
    Fault,
    Forward,
    QueueFull,
    QueueLifetime,
    Refuse,
    SizeLimit,
    Tarpit,
    UnknownUser,
    Unreachable,
)
from .scenario import MockStep, Rcpt, Scenario, SenderKind, Start, Targets, Variant

NOTIFY = st.sampled_from([(), ("NEVER",), ("FAILURE",), ("SUCCESS",), ("DELAY",), ("SUCCESS", "FAILURE"),
                          ("FAILURE", "DELAY"), ("SUCCESS", "FAILURE", "DELAY")])


def recipients(variant: Variant) -> st.SearchStrategy[Rcpt]:
    # Forwards and full mailboxes need the harness's own tables and users: not on your configuration.
    kinds = ["known", "unknown", "remote", "local"] + ([] if variant == "config" else ["forwarded", "over_quota"])
    return st.builds(Rcpt, kind=st.sampled_from(kinds), notify=NOTIFY, orcpt=st.booleans(),
                     via=st.sampled_from(["alias", "forward", "virtual"]))


def faults(variant: Variant, t: Targets) -> st.SearchStrategy[Fault]:
    lib = t.node
    user = t.known.split("@", 1)[0]
    life = st.builds(QueueLifetime, st.sampled_from(["store", lib]), lifetime=st.sampled_from(["0s", "2s"]),
                     delay_warning=st.sampled_from(["0", "1s"]))
    options: list[st.SearchStrategy[Fault]] = [
        life,
        st.builds(DiskFull, st.sampled_from(["store", lib]), retry_for=st.sampled_from(["0s", "2s"])),
        # Twice more: a failure at the server under test after it accepted is where a configuration's handling
        # of bounces shows (who is told, and how).
        st.builds(DiskFull, st.just(lib), retry_for=st.sampled_from(["0s", "2s"])),
        st.builds(DiskFull, st.just(lib), retry_for=st.just("0s")),
        st.builds(QueueFull, st.sampled_from([lib])),
        st.builds(SizeLimit, st.sampled_from([lib]), limit=st.sampled_from([10_000, 20_000])),
        st.builds(Down, st.sampled_from([lib])),
        st.builds(Unreachable, st.sampled_from([lib])),
        st.builds(Tarpit, st.sampled_from([lib])),
        st.builds(Dns, st.sampled_from([lib, "edu"]),
                  kind=st.sampled_from(["nxdomain", "servfail", "no_mx", "null_mx", "dead_mx"])),
    ]
    if variant != "config":  # faults that edit the harness's own tables
        options += [
            st.builds(UnknownUser, st.just(lib), user=st.just(user)),
            st.builds(Refuse, st.just(lib), address=st.just(t.known),
                      reply=st.sampled_from(["550 5.1.1 No such user here", "451 4.3.2 Try again later"])),
        ]
    if variant == "default":  # example.edu is a Postfix
        options += [
            st.builds(Refuse, st.just("edu"), address=st.just("jill@example.edu"),
                      reply=st.sampled_from(["550 5.1.1 No such user here", "451 4.3.2 Try again later"])),
            st.builds(DiskFull, st.just("edu")),
            st.builds(Down, st.just("edu"), whole_host=st.booleans()),
            st.builds(Forward, st.just("edu"), user=st.just("jill"), to=st.just(t.known),
                      via=st.sampled_from(["alias", "forward"])),
        ]
    return st.one_of(options)


def mock_steps() -> st.SearchStrategy[MockStep]:
    return st.builds(MockStep, kind=st.sampled_from(["refuse", "tempfail", "tempfail_then_accept", "no_dsn"]),
                     times=st.integers(1, 2))


def canonical(variants: Sequence[Variant], t: Targets | None = None) -> list[Scenario]:
    """The cases every search begins with, before hypothesis generates: one per recipient kind and sender, and a
    failure after acceptance at the server under test (where a configuration's handling of bounces shows)."""
    t = t or Targets()
    out = []
    for v in variants:
        out += [Scenario(v), Scenario(v, recipients=(Rcpt("unknown"),)), Scenario(v, "forged", (Rcpt("unknown"),)),
                Scenario(v, "null", (Rcpt("unknown"),)), Scenario(v, recipients=(Rcpt("known", ("SUCCESS",)),)),
                Scenario(v, recipients=(Rcpt("known"),), faults=(DiskFull(t.node),))]
        if v == "mock":
            out.append(Scenario(v, recipients=(Rcpt("remote"),), mock=(MockStep("refuse"),)))
    return out


@st.composite
def scenarios(draw: st.DrawFn, variants: Sequence[Variant] = ("default",),
              targets: Targets | None = None) -> Scenario:
    """A scenario in one of `variants` (the first is where shrinking goes)."""
    t = targets or Targets()
    variant = draw(st.sampled_from(list(variants)))
    sender: SenderKind = draw(st.sampled_from(["ordinary", "forged", "null"]))
    rcpts = tuple(draw(st.lists(recipients(variant), min_size=1, max_size=3)))
    ret = draw(st.sampled_from([None, "HDRS", "FULL"]))
    envid = draw(st.sampled_from([None, "explore+1", "order 42=yes"]))
    size = draw(st.sampled_from([0, 12_000]))
    # Half the scenarios without faults: they are the cheapest, and a configuration's mistakes (backscatter,
    # notification copies) show in the envelope alone.
    drawn = tuple(dict.fromkeys(draw(st.one_of(st.just([]), st.lists(faults(variant, t), min_size=1, max_size=3)))))
    mock = tuple(draw(st.lists(mock_steps(), max_size=1))) if variant == "mock" else ()
    # After acceptance: the message is first held at store (its next hop down), then the faults start. Only for
    # mail store hands on; a forged submission goes straight to the server under test.
    start: Start = draw(st.sampled_from(["before", "after"])) if drawn and sender != "forged" else "before"
    return Scenario(variant, sender, rcpts, ret, envid, size, drawn, start, mock)
