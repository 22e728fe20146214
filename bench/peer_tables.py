"""``--only peers``' figures as tables, each goal of issue 18 among them with its verdict."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence

from rich import box
from rich.table import Table

from bench.end_to_end_figures import GOAL_MARGIN_S, EndToEndFigures
from bench.kafka_perf import CeilingFigures
from bench.peer_outputs import OutputCheck
from bench.peers import LATENCY_COMMIT_INTERVAL_S, PeersFigures
from bench.pipeline import SUSTAINED_P99_MS, LatencyFigures
from bench.pipeline_config import PipelineBenchConfig
from bench.pipeline_throughput import GroupRun, ThroughputFigures
from bench.replay_rate import ReplayFigures
from bench.scaling import ScalingRun
from bench.state_per_contact import ContactStateFigures

#: Issue 18's goals.
RAW_LOOP_GOAL = 0.75
P99_GOAL_MS = 150.0
P99_GOAL_RATE = 1000.0
REPLAY_GOAL = 50_000.0
SCALING_GOAL = 1.7
#: Cores busier than this in the one-worker run leave a second worker no core of its own.
FULL_CORES = 0.85


def contenders(figures: ThroughputFigures) -> list[tuple[str, tuple[GroupRun, ...]]]:
    """The throughput's groups that ran, labelled, in the order they are shown."""
    rows = [
        ("(a) bare aiokafka EOS loop, codec only", figures.baseline),
        ("(a') the same, the worker's writer", figures.writer_baseline),
        ("(a'') the same, the worker's processor", figures.processor_baseline),
        ("worker, native engine", figures.pipeline),
        ("worker, Faust engine", figures.faust),
        ("Quix Streams 3.28, same processor", figures.quix),
    ]
    return [(label, runs) for label, runs in rows if runs]


def ceiling_table(figures: CeilingFigures) -> Table:
    """One row per perf tool: the broker's own rates with records of the raw size."""
    table = Table(
        title=f"Broker ceiling: Kafka's perf tools, records of {figures.record_bytes} B",
        caption="org.apache.kafka.tools.ProducerPerformance (acks=all, idempotent; then in a "
        "transaction every 0.5 s) and ConsumerPerformance (rate from its first fetch), run "
        "with java -cp from the provisioned jars against the same broker; MB: 2^20 bytes; "
        "p99: send to acknowledgement",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("tool")
    for heading in ("records/s", "min-max records/s", "MB/s", "p99 ms"):
        table.add_column(heading, justify="right")
    rows = (
        ("produce, idempotent", figures.produce),
        ("produce, a transaction per 0.5 s", figures.produce_transactional),
        ("consume", figures.consume),
    )
    for label, runs in rows:
        p99 = [run.p99_ms for run in runs if run.p99_ms is not None]
        table.add_row(
            label,
            f"{_median(run.records_per_s for run in runs):,.0f}",
            _range(run.records_per_s for run in runs),
            f"{_median(run.mb_per_s for run in runs):,.1f}",
            f"{_median(p99):,.0f}" if p99 else "",
        )
    return table


def throughput_table(
    figures: ThroughputFigures, ceiling: CeilingFigures | None, config: PipelineBenchConfig
) -> Table:
    """Every contender over the same raw records, against (a), the worker and the broker."""
    table = Table(
        title=f"Throughput beside peers: the same {figures.events:,} raw records of "
        f"{figures.record_bytes:.0f} B, median of {config.repeat}",
        caption=f"{config.districts} districts on {config.partitions} partitions, every group "
        f"committing a transaction every {config.commit_interval_s}s, each in a process of "
        "its own, timed between its first commit and its last before the end (the slow ones "
        f"for {config.pipeline_seconds:.0f}s at most); vs: median of the repeats' ratios; of "
        "ceiling: over the broker's transactional produce rate with records this size",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("consumer group")
    for heading in (
        "events/s", "min-max", "CPU ms / 1k", "start-up s", "vs (a)", "vs worker",
        "of ceiling",
    ):  # fmt: skip
        table.add_column(heading, justify="right")
    top = ceiling.median("produce_transactional") if ceiling else math.nan
    for label, runs in contenders(figures):
        table.add_row(
            label,
            f"{_median(run.rate for run in runs):,.0f}",
            _range(run.rate for run in runs),
            f"{_median(run.cpu_ms_per_1000 for run in runs):,.0f}",
            f"{_median(run.startup_s for run in runs):.1f}",
            _ratio(ratios(runs, figures.baseline)),
            _ratio(ratios(runs, figures.pipeline)),
            f"{_median(run.rate for run in runs) / top:.2f}" if ceiling else "",
        )
    return table


def latency_table(figures: PeersFigures, config: PipelineBenchConfig) -> Table:
    """One row per rate: the fixed ones, then the ladder's rungs."""
    table = Table(
        title="Latency: a raw record appended -> its privilege change committed, by rate",
        caption=f"a fresh native worker per row, commits every {LATENCY_COMMIT_INTERVAL_S}s "
        f"(its default), preloaded with {config.latency_districts} districts of "
        f"{config.latency_contacts} contacts, then {config.latency_seconds:.0f}s of records "
        "that each move a privilege (after a 3 s warm-up), timed from the send to a "
        "read_committed consumer seeing the change; unseen changes count as slowest; "
        f"sustained: all seen, at the rate sent, p99 under {SUSTAINED_P99_MS:,.0f} ms; "
        "then rates 1.5x apart: up from the highest fixed rate while each is sustained, or "
        "down from it, if it was not, until one is",
        box=box.SIMPLE_HEAD,
    )
    for heading in (
        "rate", "sent/s", "changed/s", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "unseen",
        "worker CPU", "sustained",
    ):  # fmt: skip
        table.add_column(heading, justify="right")
    for row in (*figures.latency, *figures.ladder):
        table.add_row(
            f"{row.target_rate:,.0f}",
            f"{row.send_rate:,.0f}",
            f"{row.seen_rate:,.0f}",
            *(_ms(row.p(q), row) for q in (50, 99, 99.9, 100)),
            f"{row.missing:,}",
            f"{row.worker_cpu_share:.0%}",
            _sustained(row),
        )
    return table


def checks_table(checks: list[OutputCheck]) -> Table:
    """Each contender's outputs over the check's raw records, against the native worker's."""
    table = Table(
        title="Output check: the same raw records through each contender, before any timing",
        caption="read back with read_committed; a contender whose outputs differ from the "
        "native worker's fails the run",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("contender")
    for heading in ("changes", "states", "tombstones", "dead letters", "duplicated", "same IDs"):
        table.add_column(heading, justify="right")
    for check in checks:
        table.add_row(
            check.contender, f"{check.changes:,}", f"{check.states:,}",
            f"{check.tombstones:,}", f"{check.dead_letters:,}", f"{check.duplicates:,}",
            "yes" if check.same_changes else "NO",
        )  # fmt: skip
    return table


def replay_table(figures: ReplayFigures) -> Table:
    """The replay's whole-command and steady rates."""
    table = Table(
        title=f"Replay rebuild: clever-stream replay over {figures.records:,} raw records",
        caption="whole command: from its start to its exit (start-up, topic checks, the "
        "group's join included); steady: between its group's first and last commit, as "
        f"every group is timed; goal: {REPLAY_GOAL:,.0f} records/s",
        box=box.SIMPLE_HEAD,
    )
    for heading in ("records", "seconds", "records/s", "steady records/s", "CPU ms / 1k"):
        table.add_column(heading, justify="right")
    table.add_row(
        f"{figures.records:,}",
        f"{figures.wall_s:,.1f}",
        f"{figures.rate:,.0f}",
        f"{figures.steady.rate:,.0f}",
        f"{figures.steady.cpu_ms_per_1000:,.0f}",
    )
    return table


def scaling_table(runs: list[ScalingRun]) -> Table:
    """One row per group size (medians of its repeats): its rate, per worker and per
    partition, and the cores."""
    table = Table(
        title="Scaling: one worker against two, in one group on the same partitions",
        caption="native workers, each its own process; medians of the repeats; cores busy: "
        "the workers' and the local broker's CPU over the stretch, over every core of the "
        "machine (100%: no core left); machine busy: every process's (/proc/stat), what "
        f"else ran included; goal: two at {SCALING_GOAL}x one where the cores allow",
        box=box.SIMPLE_HEAD,
    )
    for heading in (
        "workers", "events/s", "min-max", "per worker", "per partition", "CPU ms / 1k",
        "cores busy", "machine busy", "vs one",
    ):  # fmt: skip
        table.add_column(heading, justify="right")
    groups = by_workers(runs)
    one = _median(row.run.rate for row in groups[min(groups)])
    for workers, rows in groups.items():
        rate = _median(row.run.rate for row in rows)
        table.add_row(
            f"{workers}",
            f"{rate:,.0f}",
            _range(row.run.rate for row in rows),
            f"{rate / workers:,.0f}",
            f"{_median(row.per_partition for row in rows):,.0f}",
            f"{_median(row.run.cpu_ms_per_1000 for row in rows):,.0f}",
            _share(_median(row.cores_busy for row in rows)),
            _share(_median(row.machine_busy for row in rows)),
            f"{rate / one:.2f}",
        )
    return table


def by_workers(runs: list[ScalingRun]) -> dict[int, list[ScalingRun]]:
    """The runs by their group's size, smallest first."""
    found: dict[int, list[ScalingRun]] = {}
    for row in sorted(runs, key=lambda row: row.workers):
        found.setdefault(row.workers, []).append(row)
    return found


def state_table(figures: ContactStateFigures) -> Table:
    """A district's state, per contact, three ways."""
    table = Table(
        title=f"State per contact: one district of {figures.contacts:,} contacts "
        f"({figures.records:,} raw records, {figures.keys:,} table keys)",
        caption="encoded: the tables' keys and values as the changelog carries them; memory: "
        "the Python heap of the memory store holding them (tracemalloc); RocksDB: the native "
        "engine's RocksDB files holding them, flushed and compacted",
        box=box.SIMPLE_HEAD,
    )
    for heading in ("held as", "bytes", "bytes per contact"):
        table.add_column(heading, justify="left" if heading == "held as" else "right")
    for label, total in (
        ("encoded (changelog)", figures.encoded_bytes),
        ("in memory", figures.memory_bytes),
        ("in RocksDB", figures.rocksdb_bytes),
    ):
        table.add_row(label, f"{total:,}", f"{figures.per_contact(total):,.0f}")
    return table


def goals_table(figures: PeersFigures) -> Table:
    """Every goal of issue 18: the figure, met or missed, and what passing would take."""
    table = Table(title="Goals (issue 18)", box=box.SIMPLE_HEAD)
    for heading in ("goal", "figure", "verdict", "to pass"):
        table.add_column(heading)
    for row in goal_rows(figures):
        table.add_row(*row)
    return table


def goal_rows(figures: PeersFigures) -> list[tuple[str, str, str, str]]:
    """(goal, figure, verdict, what it would take) for each goal."""
    throughput = figures.throughput
    worker = _median(run.rate for run in throughput.pipeline)
    worker_cpu = _median(run.cpu_ms_per_1000 for run in throughput.pipeline)
    rows = []
    for name, runs in (("Faust", throughput.faust), ("Quix Streams", throughput.quix)):
        if not runs:
            continue
        ratio = _median(ratios(throughput.pipeline, runs))
        peer_cpu = _median(run.cpu_ms_per_1000 for run in runs)
        rows.append(
            (
                f"worker ahead of {name} on the same job",
                f"worker {worker:,.0f} events/s, {name} {_median(r.rate for r in runs):,.0f}: "
                f"{ratio:.2f}x",
                "met" if ratio > 1 else f"missed: {name} wins by {1 / ratio:.2f}x",
                ""
                if ratio > 1
                else f"{1 / ratio:.2f}x the worker's rate, or its CPU per "
                f"1,000 records from {worker_cpu:,.0f} to under {peer_cpu:,.0f} ms",
            )
        )
    vs_raw = _median(throughput.ratios)
    rows.append(
        (
            f"worker >= {RAW_LOOP_GOAL} of the codec-only raw loop (a)",
            f"{vs_raw:.2f}",
            "met" if vs_raw >= RAW_LOOP_GOAL else "missed",
            ""
            if vs_raw >= RAW_LOOP_GOAL
            else f"{RAW_LOOP_GOAL / vs_raw:.2f}x the worker's "
            f"rate (CPU per 1,000 records from {worker_cpu:,.0f} to about "
            f"{worker_cpu * vs_raw / RAW_LOOP_GOAL:,.0f} ms)",
        )
    )
    at_goal = next((row for row in figures.latency if row.target_rate == P99_GOAL_RATE), None)
    if at_goal is not None:
        p99 = at_goal.p(99)
        rows.append(
            (
                f"p99 <= {P99_GOAL_MS:.0f} ms raw -> committed at {P99_GOAL_RATE:,.0f} events/s",
                f"{_ms(p99, at_goal)} ms (p50 {_ms(at_goal.p(50), at_goal)}, p99.9 "
                f"{_ms(at_goal.p(99.9), at_goal)})",
                "met" if p99 <= P99_GOAL_MS else "missed",
                "" if p99 <= P99_GOAL_MS else f"{p99 - P99_GOAL_MS:,.0f} ms off the tail",
            )
        )
    rows += end_to_end_goal_rows(figures.end_to_end)
    replay = figures.replay.rate
    rows.append(
        (
            f"replay >= {REPLAY_GOAL:,.0f} records/s",
            f"{replay:,.0f} records/s (steady {figures.replay.steady.rate:,.0f})",
            "met" if replay >= REPLAY_GOAL else "missed",
            "" if replay >= REPLAY_GOAL else f"{REPLAY_GOAL / replay:.1f}x the replay's rate",
        )
    )
    groups = by_workers(figures.scaling)
    if len(groups) >= 2:
        (_, ones), (_, twos) = list(groups.items())[:2]
        one_rate = _median(row.run.rate for row in ones)
        ratio = _median(row.run.rate for row in twos) / one_rate
        one_cores = _median(row.cores_busy for row in ones)
        one_machine = _median(row.machine_busy for row in ones)
        per_partition = _median(row.per_partition for row in ones)
        # Cores taken by anything (the broker, the benchmark, other work) are not a second
        # worker's to have.
        known = [share for share in (one_cores, one_machine) if not math.isnan(share)]
        full = max(known, default=0.0) >= FULL_CORES
        verdict = "met" if ratio >= SCALING_GOAL else "missed"
        if full and ratio < SCALING_GOAL:
            verdict = "cores do not allow"
        rows.append(
            (
                f"2 workers >= {SCALING_GOAL}x 1 where cores allow",
                f"{ratio:.2f}x; with one worker the cores were {_share(one_machine)} busy "
                f"({_share(one_cores)} the worker's and the broker's); "
                f"{per_partition:,.0f} events/s per partition",
                verdict,
                "" if verdict == "met" else "a core per worker beside the broker's",
            )
        )
    return rows


def end_to_end_goal_rows(rows: Sequence[EndToEndFigures]) -> list[tuple[str, str, str, str]]:
    """The end-to-end goal at each poll interval measured (or a row saying it was not)."""
    goal = f"p99 <= poll interval + {GOAL_MARGIN_S} s end to end from Clever's feed"
    if not rows:
        return [(goal, "not measured by this run", "not measured",
                 "--end-to-end-poll-intervals with at least one interval")]  # fmt: skip
    return [
        (
            f"{goal}, at a {row.poll_interval_s:g} s poll interval",
            f"{_e2e_ms(row.p(99))} ms against {row.goal_ms:,.0f} ms (p50 "
            f"{_e2e_ms(row.p(50))}, p99.9 {_e2e_ms(row.p(99.9))}, max {_e2e_ms(row.p(100))}; "
            f"{len(row.timed):,} changes of {row.events:,} events)",
            "met" if row.met else "missed",
            row.to_pass(),
        )
        for row in rows
    ]


def end_to_end_table(rows: Sequence[EndToEndFigures]) -> Table:
    """One row per poll interval: an event's ``created`` in Clever's feed -> its changes
    readable, beside the goal, and where the time went."""
    setting = f"{rows[0].districts} districts trickling at a steady pace; " if rows else ""
    table = Table(
        title="End to end: an event in Clever's feed -> its privilege change committed",
        caption=f"{setting}the fake Clever, the poller (python -m connectors run, "
        "CLEVER_POLLER_POLL_INTERVAL_S) and a native worker (0.1 s commits), each its own "
        "process; events: created in the timed window (10 poll intervals at least), changed: "
        "those of them that caused a change; per change, from its cause event's created "
        "(stamped as the fake adds it to its feed) to a read_committed tail reading it; "
        "wait: created -> the poller had the page (fetched_at), poller: -> the raw record "
        "readable, worker: -> the change readable; goal: p99 <= poll interval + "
        f"{GOAL_MARGIN_S} s; events the poller never published count as slowest; CPU: share "
        "of one core over the window",
        box=box.SIMPLE_HEAD,
    )
    for heading in (
        "poll s", "events", "changed", "changes", "p50 ms", "p99 ms", "p99.9 ms", "max ms",
        "goal ms", "verdict", "wait p99", "poller p99", "worker p99", "CPU poller / worker",
    ):  # fmt: skip
        table.add_column(heading, justify="left" if heading == "verdict" else "right")
    for row in rows:
        events = f"{row.events:,} in {row.window_s:.0f} s"
        if row.unpublished:
            events += f" ({row.unpublished:,} unpublished)"
        changes = f"{len(row.timed):,}"
        if row.duplicates:
            changes += f" ({row.duplicates:,} duplicated)"
        table.add_row(
            f"{row.poll_interval_s:g}",
            events,
            f"{row.changed:,}",
            changes,
            *(_e2e_ms(row.p(q)) for q in (50, 99, 99.9, 100)),
            f"{row.goal_ms:,.0f}",
            "met" if row.met else "missed",
            *(_e2e_ms(row.stage_p(stage, 99)) for stage in ("wait", "poller", "worker")),
            f"{_share(row.poller_cpu_share)} / {_share(row.worker_cpu_share)}",
        )
    return table


def _e2e_ms(value: float) -> str:
    if math.isnan(value):
        return ""
    return "never" if math.isinf(value) else f"{value:,.0f}"


def ratios(runs: tuple[GroupRun, ...], to: tuple[GroupRun, ...]) -> tuple[float, ...]:
    """``runs``' rates over ``to``'s, repeat by repeat (they ran back to back)."""
    return tuple(run.rate / other.rate for run, other in zip(runs, to, strict=True))


def _share(value: float) -> str:
    return "?" if math.isnan(value) else f"{value:.0%}"


def _sustained(row: LatencyFigures) -> str:
    if not row.sender_kept_pace:
        return "sender fell short"
    return "yes" if row.sustained() else "no"


def _ms(value: float, row: LatencyFigures) -> str:
    if math.isinf(value):
        return f">{row.drain_s * 1000:,.0f}"
    return f"{value:,.0f}"


def _ratio(values: tuple[float, ...]) -> str:
    if not values:
        return ""
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{_median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def _range(values: Iterable[float]) -> str:
    found = list(values)
    return f"{min(found):,.0f}-{max(found):,.0f}"


def _median(values: Iterable[float]) -> float:
    found = list(values)
    return float(statistics.median(found)) if found else math.nan
