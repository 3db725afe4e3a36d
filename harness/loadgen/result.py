"""The load run's options and result: its figures, its summary as text, and whether it was clean."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .accounting import Accounting
    from .clients import ClientRun
    from .reference import Reference
    from .settle import Drain


@dataclass(frozen=True)
class LoadOptions:
    messages: int = 2000
    clients: int = 20
    reference: bool = True  # run smtp-source first, for the reference throughput
    reference_messages: int = 0  # 0: as many as `messages`
    # smtp-source and the client on its workload take turns this many times (each round both, in alternating
    # order): on a shared machine, what else runs meanwhile weighs on both alike; the ratio is of the totals
    reference_rounds: int = 1
    drain_timeout: float = 180.0  # how long the queues may take to empty after the last submission
    submit_timeout: float = 30.0  # per SMTP command of the client
    heal_wait: float = 30.0  # how long to wait for the tempfail to show before it is healed anyway
    interval: float = 1.0  # progress every so many seconds
    # While smtp-source and the clients submit, the log followers read what piled up at most every so many seconds
    # instead of waking for every line (harness.evidence.events.EventLog.paced): no line is lost, each arrives up
    # to this late
    log_pace: float = 0.05


@dataclass
class LoadResult:
    options: LoadOptions
    run: ClientRun
    accounting: Accounting
    drain: Drain
    reference: Reference | None = None
    log_gaps: dict[str, tuple[int, int]] = field(default_factory=dict)  # node -> (Docker's lines, followed)
    mailbox_mismatches: list[str] = field(default_factory=list)
    mailbox_messages: int = 0
    same_workload: ClientRun | None = None  # the harness's client on smtp-source's workload
    healed_after: float | None = None  # seconds into the submissions
    stranded: list[str] = field(default_factory=list)  # evidence for each message Drain.woken names
    # deferrals of the tempfail recipient logged after the heal: (count, of them over cached connections, seconds
    # from the heal to the last one)
    after_heal: tuple[int, int, float] = (0, 0, 0.0)
    cleanup_errors: list[str] = field(default_factory=list)  # faults of the run that could not be removed
    pipeline_lag: tuple[float | None, float | None] = (None, None)  # p50, p99 of a log line's way to the harness
    rounds: list[tuple[float, float]] = field(default_factory=list)  # per round: smtp-source's and our messages/s

    @property
    def ratio(self) -> float | None:
        """The mix's accepted messages per second over smtp-source's."""
        if self.reference is None or not self.reference.accepted_per_s:
            return None
        return self.run.accepted_per_s / self.reference.accepted_per_s

    @property
    def same_workload_ratio(self) -> float | None:
        """The harness's client over smtp-source, on smtp-source's workload (one delivered recipient)."""
        if self.reference is None or self.same_workload is None or not self.reference.accepted_per_s:
            return None
        return self.same_workload.accepted_per_s / self.reference.accepted_per_s

    @property
    def latency_p50(self) -> float | None:
        from .report import percentile

        return percentile(self.accounting.latencies(), 50)

    @property
    def latency_p99(self) -> float | None:
        from .report import percentile

        return percentile(self.accounting.latencies(), 99)

    @property
    def log_lines_lost(self) -> int:
        return sum(max(0, held - followed) for held, followed in self.log_gaps.values())

    @property
    def ok(self) -> bool:
        return (self.accounting.ok and not self.accounting.pending and not self.log_gaps
                and not self.mailbox_mismatches and not self.drain.left and not self.cleanup_errors)

    def figures(self) -> dict[str, float | int | None]:
        a = self.accounting
        return {"messages": self.options.messages, "clients": self.options.clients, "accepted": self.run.accepted,
                "accepted_per_s": round(self.run.accepted_per_s, 1),
                "smtp_source_per_s": round(self.reference.accepted_per_s, 1) if self.reference else None,
                "ratio": round(self.ratio, 2) if self.ratio is not None else None,
                "same_workload_per_s": round(self.same_workload.accepted_per_s, 1) if self.same_workload else None,
                "same_workload_ratio": _round(self.same_workload_ratio, 2),
                "reference_rounds": len(self.rounds) if self.reference else None,
                "same_workload_ratio_min": round(min(o / r if r else 0.0 for r, o in self.rounds), 2) if self.rounds
                else None,
                "harness_cpu_ms_per_msg": round(self.run.cpu_ms_per_message, 2),
                "latency_p50_s": _round(self.latency_p50, 3), "latency_p99_s": _round(self.latency_p99, 3),
                "recipients": len(a.results), "unaccounted": a.unaccounted, "duplicates": a.duplicates,
                "misdirected": a.misdirected, "unexpected": len(a.unexpected), "still_queued": len(a.pending),
                "log_lines_lost": self.log_lines_lost, "mailbox_mismatches": len(self.mailbox_mismatches),
                "stranded_after_reload": len(self.drain.woken), "refused_after_heal": self.after_heal[0],
                "refused_after_heal_s": round(self.after_heal[2], 1),
                "pipeline_lag_p50_s": _round(self.pipeline_lag[0], 2),
                "pipeline_lag_p99_s": _round(self.pipeline_lag[1], 2), "drain_s": round(self.drain.seconds, 1)}

    def summary(self) -> list[str]:
        from .report import findings, seconds, stage_times, table

        a, run, ref, same = self.accounting, self.run, self.reference, self.same_workload
        lines = [f"accepted: {run.accepted} of {len(run.submissions)} messages in {run.seconds:.2f}s: "
                 f"{run.accepted_per_s:.1f} messages/s", f"  {stage_times(run.submissions)}",
                 f"  harness CPU meanwhile (client threads and log followers, one process): "
                 f"{run.cpu_ms_per_message:.2f} ms per message"]
        if ref is not None:
            lines.append(f"reference: smtp-source accepted {ref.accepted} of {ref.messages} in {ref.seconds:.2f}s: "
                         f"{ref.accepted_per_s:.1f} messages/s; the mix / smtp-source = {_goal(self.ratio or 0.0)}")
            if same is not None:
                lines.append(f"  our client on smtp-source's workload (same messages count, size and sessions, one "
                             f"recipient, delivered): {same.accepted_per_s:.1f} messages/s; / smtp-source = "
                             f"{_goal(self.same_workload_ratio or 0.0)}")
            if len(self.rounds) > 1:
                lines.append(f"  in {len(self.rounds)} rounds (smtp-source, ours, ratio): " + "; ".join(
                    f"{r:.1f}, {o:.1f}, {o / r if r else 0.0:.2f}" for r, o in self.rounds))
        lines.append(f"verdict latency (acceptance -> the recipient's final log event): p50 "
                     f"{seconds(self.latency_p50)}, p99 {seconds(self.latency_p99)} over {len(a.latencies())} "
                     "recipients")
        drained = f"queues drained {self.drain.seconds:.1f}s after the last submission" if not self.drain.left \
            else f"queues NOT drained after {self.drain.seconds:.1f}s: {len(self.drain.left)} message(s) left"
        healed = f"; the tempfail healed {self.healed_after:.1f}s into the run" if self.healed_after is not None \
            else ""
        lines.append(drained + healed)
        n, cached, last = self.after_heal
        if n:
            lines.append(f"the healed tempfail was still refused {n} time(s) after the heal, until {last:.1f}s after "
                         f"it, {cached} of them over cached SMTP connections (conn_use > 1); the refusals are a "
                         "table smtpd reads at every lookup, so these were answered before the heal, or the "
                         "heal did not reach edu (docs/load.md, findings)")
        if self.drain.woken:
            lines.append(f"STRANDED: {len(self.drain.woken)} message(s) sat in the incoming queue for 5s+: the "
                         "queue manager found them still locked by a delivery agent (after a reload: an agent of the "
                         "old one), parked them with their time stamp 60s ahead, and nothing woke it; woken (the "
                         "node's queue flushed):")
            lines += [f"  {x}" for x in self.stranded[:5]]
        lag50, lag99 = self.pipeline_lag
        if lag50 is not None:
            lines.append(f"event pipeline lag (a line's arrival at the harness minus its own time stamp, within "
                         f"0.5s): p50 {seconds(lag50)}, p99 {seconds(lag99)}; the latencies above include it")
        if self.log_gaps:
            lines.append("EVENT PIPELINE LOST LINES: " + ", ".join(
                f"{n}: Docker holds {h} lines, the harness followed {f}" for n, (h, f) in self.log_gaps.items()))
        else:
            lines.append("event pipeline: every line Docker holds for every node reached the harness")
        if self.mailbox_mismatches:
            lines.append(f"MAILBOXES DISAGREE WITH THE LOGS ({len(self.mailbox_mismatches)}):")
            lines += [f"  {x}" for x in self.mailbox_mismatches[:10]]
        else:
            lines.append(f"mailboxes: the {self.mailbox_messages} messages in the harness's mailboxes are exactly "
                         "the deliveries the logs report")
        lines += ["", *table(a), *findings(a), ""]
        if self.cleanup_errors:
            lines.append(f"THE RUN'S FAULTS COULD NOT ALL BE REMOVED ({len(self.cleanup_errors)}): "
                         + "; ".join(self.cleanup_errors))
        if self.ok:
            lines.append(f"verdict: every one of {len(a.results)} recipients accounted for: no loss, no duplicate, "
                         "no backscatter")
        else:
            lines.append(f"verdict: FAILED: {a.unaccounted} unaccounted, {a.duplicates} duplicated, {a.misdirected} "
                         f"misdirected, {len(a.unexpected)} unexpected, {len(a.pending)} still queued, "
                         f"{self.log_lines_lost} log lines lost, {len(self.mailbox_mismatches)} mailbox mismatches"
                         + (", faults left applied" if self.cleanup_errors else ""))
        return lines


def _round(value: float | None, digits: int) -> float | None:
    return round(value, digits) if value is not None else None


def _goal(ratio: float) -> str:
    return f"{ratio:.2f} (goal >= 0.50: {'met' if ratio >= 0.5 else 'NOT met'})"
