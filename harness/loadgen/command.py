"""`mailharness load`: a load run that loses nothing.

N messages (default 2,000) from C concurrent clients (default 20) go through the default topology (or YOUR Postfix
configuration in place of library.example, `--mta-config DIR`) with a mix of outcomes: delivered, unknown user,
forward refused, mailbox full, a next hop that tempfails until the run heals it, NOTIFY=NEVER
(harness.loadgen.mix). Then every recipient of every message is accounted for from the nodes' logs
(harness.loadgen.accounting): delivered exactly once, refused to the client that submitted it, or failed with
exactly one DSN to the envelope sender (none where NOTIFY=NEVER); no duplicates, no backscatter, nothing left in
a queue. The evidence itself is checked: no log line lost between Docker and the harness, and the mailboxes hold
what the logs say was delivered. smtp-source, Postfix's own load generator, runs in the same topology first for
the reference throughput.

    world = MailTopology(load_topology()).start()
    result = run_load(world, Mix(), LoadOptions(messages=60, clients=5))
    assert result.ok, result.accounting.problems

Exit status of the command: 0 when everything is accounted for, 1 when anything is unaccounted, duplicated,
misdirected, not the outcome the mix expects, still queued, or when the evidence lost a line.
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..errors import UsageError
from .result import LoadOptions, LoadResult

__all__ = ["LoadOptions", "LoadResult", "add_arguments", "command", "load_world", "run_load"]

if TYPE_CHECKING:  # the command line imports this module for its arguments: the rest comes when a run starts
    from ..evidence.events import LogEvent
    from ..topology import TopologySpec
    from ..world import MailTopology
    from .clients import ClientRun, Progress
    from .mix import Mix, PlannedMessage
    from .reference import Reference

Out = Callable[[str], None]


def load_world(mta_config: str | None = None, recipient: str = "") -> tuple[TopologySpec, Mix]:
    """The load run's topology and mix: the default topology, or YOUR configuration in library's place."""
    from ..sut.byoc import ConfigError, topology_for_config
    from .mix import Mix, load_topology

    if not mta_config:
        return load_topology(), Mix()

    spec, info = topology_for_config(mta_config, "library", base=load_topology())
    rcpt = recipient or (info.recipients[0] if info.recipients else "")
    if not rcpt:
        raise ConfigError(f"{mta_config}: no recipient it accepts could be read from its tables; pass --recipient")
    return spec, Mix(library_domain=info.domain, library_recipient=rcpt)


def _inside(world: MailTopology, plan: list[PlannedMessage]) -> None:
    """Every address is one of the topology's: nothing can leave it."""
    domains = set(world.spec.domains)
    outside = sorted({a for m in plan for a in (m.sender, *(r.address for r in m.recipients))
                      if a.rpartition("@")[2].lower() not in domains})
    if outside:
        raise UsageError(f"addresses outside the topology ({', '.join(sorted(domains))}): {', '.join(outside)}")


def _reference(world: MailTopology, mix: Mix, options: LoadOptions, size: int, run_id: str,
               out: Out) -> tuple[Reference, ClientRun, list[tuple[float, float]]]:
    """smtp-source's run, then the harness's client on the same workload (each after a reset, each drained), as
    many rounds as asked, the order turned each round; both totals, and each round's messages/s."""
    from .clients import ClientRun
    from .reference import Reference

    rounds = max(1, options.reference_rounds)
    refs: list[Reference] = []
    sames: list[ClientRun] = []
    for i in range(rounds):
        if rounds > 1:
            out(f"reference round {i + 1} of {rounds}")
        for step in ("smtp-source", "ours") if i % 2 == 0 else ("ours", "smtp-source"):
            if step == "smtp-source":
                refs.append(_smtp_source(world, mix, options, size, out))
            else:
                sames.append(_same_workload(world, mix, options, f"{run_id}r{i}", out))
    return (Reference.joined(refs), ClientRun.joined(sames),
            [(r.accepted_per_s, s.accepted_per_s) for r, s in zip(refs, sames, strict=True)])


def _smtp_source(world: MailTopology, mix: Mix, options: LoadOptions, size: int, out: Out) -> Reference:
    from .reference import count_accepted, smtp_source
    from .settle import mta_nodes, wait_drained

    n = options.reference_messages or options.messages
    sender = f"{mix.sender_user}+reference@{mix.sender_domain}"
    world.reset()
    out(f"reference: smtp-source, {n} messages of {size} bytes from {options.clients} sessions, to store")
    with world.events.paced(options.log_pace):  # as for the harness's client: the same log following
        ref = smtp_source(world, messages=n, sessions=options.clients, size=size, sender=sender,
                          recipient=mix.library_recipient)
    wait_drained(mta_nodes(world), options.drain_timeout)
    world.sync_logs()
    ref = count_accepted(world, ref, sender)
    out(f"  smtp-source: {ref.accepted} of {n} accepted in {ref.seconds:.2f}s ({ref.accepted_per_s:.1f}/s), "
        f"exit {ref.exit_code}" + (f": {ref.output[-300:]}" if ref.output else ""))
    return ref


def _same_workload(world: MailTopology, mix: Mix, options: LoadOptions, run_id: str, out: Out) -> ClientRun:
    from .clients import run_clients
    from .mix import render, same_workload
    from .report import stage_times
    from .settle import mta_nodes, wait_drained

    n = options.reference_messages or options.messages
    plan = same_workload(mix, n, run_id)
    data = [render(m) for m in plan]
    world.reset()
    with world.events.paced(options.log_pace):
        same = run_clients({nd.name: nd.ip for nd in world.nodes.values()}, plan, data, options.clients,
                           connect=world.access.connect, timeout=options.submit_timeout)
    wait_drained(mta_nodes(world), options.drain_timeout)
    out(f"  our client, same workload: {same.accepted} of {n} accepted in {same.seconds:.2f}s "
        f"({same.accepted_per_s:.1f}/s, harness CPU {same.cpu_ms_per_message:.2f} ms per message); "
        f"{stage_times(same.submissions)}")
    return same


def run_load(world: MailTopology, mix: Mix | None = None, options: LoadOptions | None = None,
             out: Out = print) -> LoadResult:
    """The whole run on a started topology made with `load_world()`; the faults it applies are removed after."""
    from .mix import Mix, render

    mix, options = mix or Mix(), options or LoadOptions()
    if options.messages < 1 or options.clients < 1:
        raise UsageError("a load run needs at least one message and one client")
    run_id = uuid.uuid4().hex[:8]
    plan = mix.plan(options.messages, run_id)
    _inside(world, plan)
    t0 = time.monotonic()
    data = [render(m) for m in plan]
    size = sum(len(d) for d in data) // len(data)
    out(f"mailharness load: {options.messages} messages ({sum(len(m.recipients) for m in plan)} recipients, "
        f"about {size} bytes each) from {options.clients} clients; run {run_id}, topology {world.id}; "
        f"messages written in {time.monotonic() - t0:.1f}s")
    ref, same, rounds = _reference(world, mix, options, size, run_id, out) if options.reference else (None, None, [])
    world.reset()
    undo = [world.apply(f) for f in mix.standing_faults(options.messages)]
    heal = world.apply(mix.tempfail_fault())
    undo.append(heal)
    try:
        result = _run(world, mix, options, plan, data, ref, heal, out)
    except BaseException:
        _remove(undo, out)
        raise
    result.same_workload, result.rounds = same, rounds
    result.cleanup_errors = _remove(undo, out)
    for line in result.summary():
        out(line)
    return result


def _remove(undo: list[Callable[[], None]], out: Out) -> list[str]:
    """Remove the run's faults, each one even when another could not be; what failed is said and returned (the
    accounting is done by then: a harness that cannot clean up must not take it away)."""
    from ..errors import MailharnessError

    errors = []
    for u in reversed(undo):
        try:
            u()
        except MailharnessError as exc:
            errors.append(str(exc).splitlines()[0])
            out(f"could not remove a fault of the run: {errors[-1]}")
    return errors


def _run(world: MailTopology, mix: Mix, options: LoadOptions, plan: list[PlannedMessage], data: list[bytes],
         ref: Reference | None, heal: Callable[[], None], out: Out) -> LoadResult:
    from .. import evidence
    from ..evidence.events import MailTimeout
    from .accounting import account
    from .clients import run_clients
    from .settle import (
        census_mismatches,
        log_gaps,
        logged_mailboxes,
        mailbox_census,
        mta_nodes,
        wait_drained,
    )

    slow = mix.tempfail_address.lower()

    def deferred(e: LogEvent) -> bool:
        return any(d.status == "deferred" and d.recipient.lower() == slow for d in evidence.deliveries([e]))

    since = world.events.mark()
    healed: list[float] = []
    start = time.monotonic()

    heal_mark = [0, 0.0]  # the log's position and the time once the heal was done

    def do_heal() -> None:
        heal()
        healed.append(time.monotonic() - start)
        heal_mark[:] = [world.events.mark(), time.time()]
        out(f"  healed the tempfail of {mix.tempfail_address} after {healed[0]:.1f}s")

    seen = [since, 0]  # where the scan for a deferral is in the log, deferrals found

    def tick(p: Progress) -> None:
        out(str(p))
        if healed:
            return
        new = world.events.since(seen[0])  # only the lines since the last tick: the scan stays cheap under load
        seen[0] += len(new)
        seen[1] += sum(1 for e in new if deferred(e))
        if seen[1] and p.submitted >= p.total / 2:
            do_heal()

    out(f"submitting ({mix.tempfail_address} tempfails until half the messages are in and it was deferred):")
    with world.events.paced(options.log_pace):  # the tick reads the log once a second: batches of lines will do
        run = run_clients({n.name: n.ip for n in world.nodes.values()}, plan, data, options.clients, on_tick=tick,
                          connect=world.access.connect, interval=options.interval, timeout=options.submit_timeout)
    if not healed:
        if any(s.accepted and any(r.kind == "tempfail" for r in s.message.recipients) for s in run.submissions):
            try:
                world.events.wait(deferred, timeout=options.heal_wait, since=since,
                                  what=f"a deferral of {mix.tempfail_address}")
            except MailTimeout as exc:
                out(f"  {str(exc).splitlines()[0]}: healing anyway")
        do_heal()
    out(f"waiting for every queue to drain (up to {options.drain_timeout:g}s)")
    drain = wait_drained(mta_nodes(world), options.drain_timeout)
    world.sync_logs()
    gaps = log_gaps(world)
    mine = [n for n in mta_nodes(world) if not n.spec.config_dir]  # your configuration keeps its own layout
    held = mailbox_census(mine)
    mismatches = census_mismatches(held, logged_mailboxes(world.log(), [n.name for n in mine]))
    acct = account(run.submissions, world.log(), queued=drain.left)
    stranded = []
    for q in drain.woken:
        why = next((e.line for e in world.log(q.node)
                    if e.queue_id == q.queue_id and evidence.is_still_being_delivered(e)), "no qmgr line says why")
        stranded.append(f"{q} ({why})")
    late = [(d, e.at) for e in world.events.since(int(heal_mark[0])) for d in evidence.deliveries([e])
            if d.status == "deferred" and d.recipient.lower() == slow]
    after = (len(late), sum(1 for d, _ in late if evidence.connection_use(d) > 1),
             max((at - heal_mark[1] for _, at in late), default=0.0))
    from .report import percentile

    lags = [e.at - t for e in world.log() if e.node in world.nodes and (t := evidence.logged_at(e)) is not None]
    return LoadResult(options, run, acct, drain, ref, gaps, mismatches, sum(held.values()), None,
                      healed[0] if healed else None, stranded, after, pipeline_lag=(percentile(lags, 50),
                                                                                     percentile(lags, 99)))


# -- the command line (harness.cli registers it) ------------------------------------------------------------------
def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-n", "--messages", type=int, default=LoadOptions.messages, help="messages to submit (2000)")
    p.add_argument("-c", "--clients", type=int, default=LoadOptions.clients, help="concurrent clients (20)")
    p.add_argument("--mta-config", metavar="DIR", default=None,
                   help="YOUR Postfix configuration in place of library.example (as `mailharness check DIR`)")
    p.add_argument("--recipient", default="", help="an address your configuration accepts, if its tables cannot "
                                                   "be listed")
    p.add_argument("--no-reference", dest="reference", action="store_false", help="do not run smtp-source first")
    p.add_argument("--reference-messages", type=int, default=0, help="messages for smtp-source (as many as ours)")
    p.add_argument("--reference-rounds", type=int, default=LoadOptions.reference_rounds,
                   help="smtp-source and our client on its workload take turns this many times (1); the ratio is "
                        "of the totals")
    p.add_argument("--drain-timeout", type=float, default=LoadOptions.drain_timeout,
                   help="seconds the queues may take to empty after the last submission (180)")
    p.add_argument("--keep", action="store_true", help="leave the topology running (`mailharness down` removes it)")


def command(args: argparse.Namespace, out: Out | None = None) -> int:
    import sys

    from ..mta.base import ConfigRefused
    from ..sut.byoc import ConfigError
    from ..world import MailTopology

    def say(line: str) -> None:
        print(line, flush=True)

    try:
        spec, mix = load_world(args.mta_config, args.recipient)
    except (ConfigError, OSError) as exc:
        print(f"mailharness load: {exc}", file=sys.stderr)
        return 4
    if args.messages < 1 or args.clients < 1:
        print("mailharness load: --messages and --clients must be at least 1", file=sys.stderr)
        return 2
    options = LoadOptions(messages=args.messages, clients=args.clients, reference=args.reference,
                          reference_messages=args.reference_messages, reference_rounds=args.reference_rounds,
                          drain_timeout=args.drain_timeout)
    world = MailTopology(spec)
    try:
        try:
            world.start()
        except ConfigRefused as exc:
            print(f"mailharness load: {exc}", file=sys.stderr)
            return 4
        result = run_load(world, mix, options, out or say)
    finally:
        if args.keep:
            world.keep()
        else:
            world.stop()
    return 0 if result.ok else 1
