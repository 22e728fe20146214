"""``python -m bench``: run every benchmark against one broker and print the figures."""

from __future__ import annotations

import asyncio
import logging
import operator
import os
import platform
import statistics
import sys
import tempfile
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from enum import StrEnum
from importlib.metadata import version
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from bench.clever_sync import SyncBenchConfig, run_sync_bench
from bench.codec_libraries import CodecFigures, run_codec_bench
from bench.end_to_end import EndToEndConfig, run_end_to_end_bench
from bench.fleet import FleetConfig, run_fleet_bench
from bench.fleet_figures import fleet_section, fleet_table, replace_section, section_of
from bench.kafka_publish import IDEMPOTENT, PublishBenchConfig, VariantFigures, run_publish_bench
from bench.peer_tables import (
    ceiling_table,
    checks_table,
    end_to_end_table,
    goals_table,
    replay_table,
    scaling_table,
)
from bench.peer_tables import latency_table as peers_latency_table
from bench.peer_tables import state_table as contact_state_table
from bench.peer_tables import throughput_table as peers_throughput_table
from bench.peers import PeersConfig, PeersFigures, run_peers_bench
from bench.pipeline import run_pipeline_bench
from bench.pipeline_config import PipelineBenchConfig
from bench.pipeline_processes import QUIX_PYTHON
from bench.pipeline_tables import latency_table, state_table, throughput_table
from bench.pipeline_workload import throughput_events
from bench.plots import latency_plot, throughput_plot
from bench.poller_sizing import PollerSizing, run_poller_sizing
from bench.recovery import RecoveryFigures, run_recovery_bench
from bench.report import Report, picture_path, probe_machine, render
from bench.sizing import SizingFigures, run_sizing_bench
from bench.state_size import measure_state
from bench.sync_tables import steady_table, sync_table
from bench.worker_scale import run_worker_scale, worker_scale_table
from bench.writers import collect_samples, run_writer_bench, writer_table
from foundation.console import reporting_errors
from localkafka import LocalKafkaSettings, RunningBroker, local_kafka

console = Console()
if not console.is_terminal:
    # Piped to a file or a CI log: keep the tables' columns whole instead of 80 wide.
    console = Console(width=160)


class Benchmark(StrEnum):
    """The benchmarks ``--only`` can pick."""

    PUBLISH = "publish"
    CODEC = "codec"
    WRITERS = "writers"
    SYNC = "sync"
    PIPELINE = "pipeline"
    SIZING = "sizing"
    RECOVERY = "recovery"
    PEERS = "peers"
    #: One of the peers' steps alone: end to end from Clever's feed.
    END_TO_END = "end-to-end"
    #: Issue 19: one poller of thousands of districts (only when asked for: it takes long).
    FLEET = "fleet"


def main(
    messages: Annotated[
        int, typer.Option(min=1, help="Messages per variant and repeat (about 1 KiB each).")
    ] = 50_000,
    repeat: Annotated[
        int, typer.Option(min=1, help="Measured repeats; their median and range are shown.")
    ] = 3,
    partitions: Annotated[int, typer.Option(min=1, help="Partitions of each topic.")] = 6,
    timeout: Annotated[
        float, typer.Option(min=1, help="Seconds any one step may take before the run fails.")
    ] = 300.0,
    codec_iterations: Annotated[
        int, typer.Option(min=1, help="Encodes and decodes per record type and repeat.")
    ] = 20_000,
    sync_sizes: Annotated[
        str,
        typer.Option(help="Contacts of each district to sync, comma-separated."),
    ] = "100000,1000000",
    steady_changes: Annotated[
        int, typer.Option(min=0, help="Random Clever changes for the steady event rate (0: skip).")
    ] = 20_000,
    pipeline_events: Annotated[
        int, typer.Option(min=100, help="Raw records the pipeline's throughput is measured on.")
    ] = 30_000,
    pipeline_districts: Annotated[
        int, typer.Option(min=1, help="Fake Clever districts those records come from.")
    ] = 50,
    pipeline_seconds: Annotated[
        float, typer.Option(min=1, help="Seconds the worker's throughput is timed for at most.")
    ] = 20.0,
    latency_rate: Annotated[
        float, typer.Option(min=1, help="Raw records per second while latency is measured.")
    ] = 1000.0,
    latency_seconds: Annotated[
        float, typer.Option(min=1, help="Seconds of timed records per commit interval.")
    ] = 30.0,
    latency_commit_intervals: Annotated[
        str,
        typer.Option(help="Worker commit intervals (s) to measure latency at, comma-separated."),
    ] = "0.5,0.1",
    writer_events: Annotated[
        int,
        typer.Option(
            min=100,
            help="Raw records whose outputs and table values the writers' benchmark writes.",
        ),
    ] = 3_000,
    writer_repeat: Annotated[
        int, typer.Option(min=1, help="Alternating repeats of the writers' benchmark.")
    ] = 7,
    sizing_contacts: Annotated[
        int,
        typer.Option(min=1000, help="Contacts of the district the sizing benchmark loads."),
    ] = 100_000,
    sizing_districts: Annotated[
        str,
        typer.Option(help="Districts of one poller the sizing measures, comma-separated."),
    ] = "10,100,300",
    ceiling_records: Annotated[
        int, typer.Option(min=1000, help="Records each of Kafka's perf tools sends or reads.")
    ] = 200_000,
    latency_rates: Annotated[
        str,
        typer.Option(
            help="peers: rates (events/s) latency is measured at, comma-separated, "
            "before the ladder climbs to the highest sustained."
        ),
    ] = "100,1000",
    ladder_rungs: Annotated[
        int, typer.Option(min=0, help="peers: the most rates the latency ladder tries.")
    ] = 6,
    scaling_events: Annotated[
        int, typer.Option(min=1000, help="peers: raw records of the 1-against-2-workers topic.")
    ] = 90_000,
    state_contacts: Annotated[
        int, typer.Option(min=10, help="peers: contacts of the district whose state is weighed.")
    ] = 10_000,
    end_to_end_events: Annotated[
        int,
        typer.Option(
            min=10,
            help="peers, end-to-end: events trickled through the fake Clever and timed per "
            "poll interval, at least (the window spans 10 poll intervals too).",
        ),
    ] = 600,
    end_to_end_poll_intervals: Annotated[
        str,
        typer.Option(
            help="peers, end-to-end: the poller's poll intervals (s) to run end to end at, "
            "comma-separated (5 is the poller's default)."
        ),
    ] = "1,5",
    end_to_end_districts: Annotated[
        int, typer.Option(min=1, help="peers, end-to-end: fake Clever districts trickling.")
    ] = 5,
    quix_python: Annotated[
        Path, typer.Option(help="peers: the Python of Quix Streams' virtualenv.")
    ] = QUIX_PYTHON,
    fleet_districts: Annotated[
        str,
        typer.Option(help="fleet: districts of one poller in each case, comma-separated."),
    ] = "1000,10000",
    fleet_big_contacts: Annotated[
        int, typer.Option(min=1, help="fleet: contacts of the big district synced in phase 2.")
    ] = 1_000_000,
    fleet_idle_seconds: Annotated[
        float, typer.Option(min=1, help="fleet: seconds of the idle stretch (phase 1).")
    ] = 120.0,
    fleet_workers: Annotated[
        bool,
        typer.Option(
            "--fleet-workers/--no-fleet-workers",
            help="fleet: the workers at the same district counts too (bench.worker_scale).",
        ),
    ] = True,
    fleet_busy_seconds: Annotated[
        float, typer.Option(min=1, help="fleet: seconds of phase 2 at least (busy events timed).")
    ] = 60.0,
    report: Annotated[
        Path | None,
        typer.Option(
            help="Also write the figures as a Markdown page here (with the machine, "
            "the command and pictures beside it), e.g. docs/performance.md."
        ),
    ] = None,
    only: Annotated[Benchmark | None, typer.Option(help="Run one benchmark only.")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log more.")] = False,
) -> None:
    """Measure the poller's and the worker's rates, side by side on one broker.

    A local broker in a fresh folder is started and stopped here, unless
    KAFKA_BOOTSTRAP_SERVERS names a cluster. Compare the ratios, not the absolute rates.
    """
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Progress of each measurement goes to stderr; the figures alone go to stdout.
    logging.getLogger("bench").setLevel(logging.INFO)
    config = PublishBenchConfig(
        messages=messages, repeat=repeat, partitions=partitions, timeout_s=timeout
    )
    page = Report()

    def show(table: Table) -> None:
        console.print(table)
        page.add(table)

    if only in (None, Benchmark.CODEC):
        show(_codec_table(run_codec_bench(iterations=codec_iterations, repeat=repeat)))
    if only in (None, Benchmark.WRITERS):
        samples = collect_samples(writer_events, districts=max(1, writer_events // 600))
        comparisons = run_writer_bench(samples, repeat=writer_repeat, rounds=3)
        show(writer_table(comparisons, events=writer_events, repeat=writer_repeat))
    if only in (Benchmark.CODEC, Benchmark.WRITERS):
        if report is not None:
            _write_report(report, page, kafka="not used", quix_python=quix_python)
        return
    sync_config = SyncBenchConfig(
        sizes=tuple(int(size) for size in sync_sizes.split(",") if size.strip()),
        steady_changes=steady_changes,
        timeout_s=timeout * 3,
    )
    pipeline_config = PipelineBenchConfig(
        events=pipeline_events,
        districts=pipeline_districts,
        pipeline_seconds=pipeline_seconds,
        partitions=partitions,
        repeat=repeat,
        latency_rate=latency_rate,
        latency_seconds=latency_seconds,
        latency_commit_intervals=tuple(
            float(interval) for interval in latency_commit_intervals.split(",") if interval.strip()
        ),
        timeout_s=timeout,
    )
    peers_config = PeersConfig(
        pipeline=replace(pipeline_config, peers=("faust", "quix"), quix_python=quix_python),
        ceiling_records=ceiling_records,
        scaling_events=scaling_events,
        state_contacts=state_contacts,
        latency_rates=tuple(float(rate) for rate in latency_rates.split(",") if rate.strip()),
        ladder_rungs=ladder_rungs,
        end_to_end=EndToEndConfig(
            poll_intervals=tuple(
                float(interval)
                for interval in end_to_end_poll_intervals.split(",")
                if interval.strip()
            ),
            events=end_to_end_events,
            districts=end_to_end_districts,
            partitions=partitions,
            timeout_s=timeout,
        ),
    )
    with (
        reporting_errors(console),
        tempfile.TemporaryDirectory(prefix="clever-stream-bench-") as state_dir,
        # Entered here, in the main thread and outside the event loop, as the broker requires.
        local_kafka(LocalKafkaSettings(state_dir=Path(state_dir))) as broker,
    ):
        if only in (None, Benchmark.PUBLISH):
            figures = asyncio.run(run_publish_bench(broker.bootstrap_servers, config))
            show(_table(figures, config))
        if only in (None, Benchmark.SYNC):
            syncs, steady = asyncio.run(run_sync_bench(broker.bootstrap_servers, sync_config))
            show(sync_table(syncs))
            if steady is not None:
                show(steady_table(steady, sync_config))
        if only in (None, Benchmark.PIPELINE):
            pipeline = asyncio.run(run_pipeline_bench(broker.bootstrap_servers, pipeline_config))
            show(throughput_table(pipeline.throughput, pipeline_config))
            show(latency_table(pipeline.latency, pipeline_config))
            records = throughput_events(pipeline_events, districts=pipeline_districts)
            show(state_table(measure_state(records)))
        if only in (None, Benchmark.SIZING):
            sizes = asyncio.run(
                run_sizing_bench(
                    broker.bootstrap_servers,
                    contacts=sizing_contacts,
                    partitions=partitions,
                    timeout_s=timeout * 3,
                )
            )
            show(_sizing_table(sizes))
            pollers = asyncio.run(
                run_poller_sizing(
                    broker.bootstrap_servers,
                    counts=tuple(int(n) for n in sizing_districts.split(",") if n.strip()),
                    idle_s=30.0,
                    timeout_s=timeout * 3,
                )
            )
            show(_poller_sizing_table(pollers))
        if only in (None, Benchmark.RECOVERY):
            recoveries = asyncio.run(
                run_recovery_bench(
                    broker.bootstrap_servers,
                    engines=("native", "faust"),
                    repeat=repeat,
                    timeout_s=timeout,
                )
            )
            show(_recovery_table(recoveries))
        if only in (None, Benchmark.PEERS):
            peers = asyncio.run(
                run_peers_bench(
                    broker.bootstrap_servers,
                    replace(
                        peers_config,
                        broker_pid=broker.pid if broker.started_here else None,
                        kafka_version=broker.kafka_version or peers_config.kafka_version,
                    ),
                )
            )
            _show_peers(peers, peers_config, show, page, report)
        if only is Benchmark.FLEET:
            fleet_config = FleetConfig(
                districts=tuple(int(n) for n in fleet_districts.split(",") if n.strip()),
                big_contacts=fleet_big_contacts,
                idle_s=fleet_idle_seconds,
                busy_s=fleet_busy_seconds,
                partitions=partitions,
                timeout_s=timeout * 6,
            )
            fleets = asyncio.run(run_fleet_bench(broker.bootstrap_servers, fleet_config))
            fleet_tables = [fleet_table(figures) for figures in fleets]
            if fleet_workers:
                fleet_tables += _worker_scale_step(broker.bootstrap_servers, fleet_config)
            for table in fleet_tables:
                console.print(table)
            if report is not None:
                _write_fleet_section(report, fleet_tables)
                console.print(f"wrote the Fleet section of {report}", highlight=False)
                report = None  # the rest of the page stays as it was
        if only is Benchmark.END_TO_END:
            end_to_end = asyncio.run(
                run_end_to_end_bench(broker.bootstrap_servers, peers_config.end_to_end)
            )
            show(end_to_end_table(end_to_end))
    console.print(_machine(broker), highlight=False, soft_wrap=True)
    if report is not None:
        kafka = f"{broker.kafka_version} (local single-node KRaft broker on the same machine)"
        if not broker.kafka_version:
            kafka = "the cluster of KAFKA_BOOTSTRAP_SERVERS (version not probed)"
        _write_report(report, page, kafka=kafka, quix_python=quix_python)
        console.print(f"wrote {report}", highlight=False)


def _show_peers(
    figures: PeersFigures,
    config: PeersConfig,
    show: Callable[[Table], None],
    page: Report,
    report: Path | None,
) -> None:
    """``--only peers``' tables (and, for a report, its pictures) in the order they read."""
    show(goals_table(figures))
    show(ceiling_table(figures.ceiling))
    show(checks_table(figures.checks))
    show(peers_throughput_table(figures.throughput, figures.ceiling, config.pipeline))
    if report is not None:
        picture = picture_path(report, "throughput")
        throughput_plot(picture, figures.throughput, figures.ceiling)
        page.add(picture)
    show(peers_latency_table(figures, config.pipeline))
    if report is not None:
        picture = picture_path(report, "latency")
        latency_plot(picture, [*figures.latency, *figures.ladder])
        page.add(picture)
    show(end_to_end_table(figures.end_to_end))
    show(replay_table(figures.replay))
    show(scaling_table(figures.scaling))
    show(contact_state_table(figures.state))


def _write_report(path: Path, page: Report, *, kafka: str, quix_python: Path) -> None:
    """The page of the run, with what it ran on and how it was started; the Fleet section
    of the page it replaces is kept (``--only fleet`` writes that one)."""
    machine = probe_machine(kafka=kafka, quix_python=quix_python)
    command = " ".join(["python -m bench", *sys.argv[1:]])
    text = render(page, machine=machine, command=command, when=datetime.now(UTC), page=path)
    kept = section_of(path.read_text(encoding="utf-8")) if path.exists() else None
    if kept is not None:
        text = f"{text.rstrip()}\n\n{kept}\n"
    path.write_text(text, encoding="utf-8")


def _write_fleet_section(path: Path, tables: list[Table]) -> None:
    """The Fleet section of the page at ``path`` (made if missing), the rest left alone."""
    command = " ".join(["python -m bench", *sys.argv[1:]])
    when = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    page = path.read_text(encoding="utf-8") if path.exists() else "# Performance\n"
    path.write_text(replace_section(page, fleet_section(tables, command=command, when=when)),
                    encoding="utf-8")  # fmt: skip


def _worker_scale_step(bootstrap_servers: str, config: FleetConfig) -> list[Table]:
    """The workers' side of the fleet (``bench.worker_scale``), at the same district counts."""
    figures = asyncio.run(
        run_worker_scale(
            bootstrap_servers,
            districts=config.districts,
            partitions=config.partitions,
            timeout_s=config.timeout_s,
        )
    )
    return [worker_scale_table(figures)]


def _table(figures: list[VariantFigures], config: PublishBenchConfig) -> Table:
    """One row per variant: median rate, its range over the repeats, and the ratio to (a).

    The ratio is the median of each repeat's ratio: variants of one repeat ran back to back,
    so drift between repeats cancels out of it.
    """
    baseline = next(row for row in figures if row.variant is IDEMPOTENT).rates
    size = figures[0].message_bytes
    table = Table(
        title=f"Kafka publish: {config.messages:,} messages of {size:.0f} B, median of "
        f"{config.repeat}",
        caption=f"{config.districts} district keys, {config.partitions} partitions. txn/N: a "
        "transaction per N messages (a Clever page); (c) reads txn/1000's topic; "
        "vs (a): median of per-repeat ratios",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("variant")
    for heading in ("msg/s", "min-max msg/s", "MiB/s", "vs (a)"):
        table.add_column(heading, justify="right")
    for row in figures:
        table.add_row(
            row.variant.label,
            f"{row.median:,.0f}",
            f"{min(row.rates):,.0f}-{max(row.rates):,.0f}",
            f"{row.mib_per_s:.1f}",
            f"{statistics.median(map(operator.truediv, row.rates, baseline)):.2f}",
        )
    return table


def _sizing_table(figures: list[SizingFigures]) -> Table:
    """One row per engine and store: the worker's fixed memory and what a district adds."""
    first = figures[0]
    table = Table(
        title=f"Worker memory: one district of {first.contacts:,} contacts "
        f"({first.records:,} raw records)",
        caption="resident memory (VmRSS): base, after a 100-contact district; loaded, after "
        "the large one too (peak: VmHWM); restored, a new worker once it took the state over "
        "and is ready (in restore s); per 100k: restored - base, scaled; disk: table files",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("engine")
    table.add_column("store")
    headings = (
        "base MiB", "loaded MiB", "peak MiB", "restored MiB", "restore s",
        "MiB / 100k contacts", "disk MiB",
    )  # fmt: skip
    for heading in headings:
        table.add_column(heading, justify="right")
    for row in figures:
        table.add_row(
            row.engine,
            row.store,
            f"{row.base_mib:,.0f}",
            f"{row.loaded_mib:,.0f}",
            f"{row.peak_mib:,.0f}",
            f"{row.restored_mib:,.0f}",
            f"{row.restore_s:,.1f}",
            f"{row.per_100k_mib:,.0f}",
            f"{row.disk_mib:,.0f}",
        )
    return table


def _recovery_table(figures: list[RecoveryFigures]) -> Table:
    """One row per engine and membership: seconds from a SIGKILL until caught up again."""
    table = Table(
        title="Recovery: a worker SIGKILLed and started again at once",
        caption="seconds from the kill until the group committed every record sent before "
        "and during the outage; session timeout 30 s; static: CLEVER_WORKER_INSTANCE_ID set",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("engine")
    table.add_column("membership")
    for heading in ("median s", "min-max s", "vs dynamic"):
        table.add_column(heading, justify="right")
    dynamic = {row.engine: statistics.median(row.seconds) for row in figures
               if row.membership == "dynamic"}  # fmt: skip
    for row in figures:
        median = statistics.median(row.seconds)
        table.add_row(
            row.engine,
            row.membership,
            f"{median:.1f}",
            f"{min(row.seconds):.1f}-{max(row.seconds):.1f}",
            f"{median / dynamic[row.engine]:.2f}",
        )
    return table


def _poller_sizing_table(figures: list[PollerSizing]) -> Table:
    """One row per number of districts one poller serves."""
    table = Table(
        title="Poller: one process, idle districts at the 5 s poll interval",
        caption="once /ready said every district polls (ready s); memory, threads, sockets and "
        "file descriptors from /proc; CPU over 30 s idle, as a share of one core",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("districts", justify="right")
    headings = (
        "ready s", "RSS MiB", "MiB / district", "threads", "sockets", "fds",
        "idle CPU %", "CPU % / district",
    )  # fmt: skip
    for heading in headings:
        table.add_column(heading, justify="right")
    first = figures[0]
    for row in figures:
        per_district = (
            (row.rss_mib - first.rss_mib) / (row.districts - first.districts)
            if row.districts > first.districts
            else float("nan")
        )
        table.add_row(
            f"{row.districts:,}",
            f"{row.ready_s:,.1f}",
            f"{row.rss_mib:,.0f}",
            f"{per_district:,.2f}",
            f"{row.threads:,}",
            f"{row.sockets:,}",
            f"{row.descriptors:,}",
            f"{row.idle_cpu_share * 100:,.1f}",
            f"{row.idle_cpu_per_district * 100:,.2f}",
        )
    return table


def _codec_table(figures: list[CodecFigures]) -> Table:
    """One row per record type and direction: both libraries side by side, and their ratio."""
    rates = {(row.record, row.direction, row.library): row for row in figures}
    table = Table(
        title="Avro codec: records/s, median of the repeats (one process, side by side)",
        caption="the codec writes and reads bodies with the faster library; the wire bytes "
        "are the same Avro binary either way",
        box=box.SIMPLE_HEAD,
    )
    for heading in ("record", "direction", "avro", "fastavro", "fastavro / avro"):
        table.add_column(heading, justify="left" if heading in ("record", "direction") else "right")
    for record, direction in dict.fromkeys((row.record, row.direction) for row in figures):
        slow = rates[(record, direction, "avro")]
        fast = rates[(record, direction, "fastavro")]
        table.add_row(
            record,
            direction,
            f"{slow.median:,.0f}",
            f"{fast.median:,.0f}",
            f"{statistics.median(map(operator.truediv, fast.rates, slow.rates)):.1f}",
        )
    return table


def _machine(broker: RunningBroker) -> str:
    """What the figures were measured on, since they mean little without it."""
    kafka = (
        f"Kafka {broker.kafka_version} (local broker, sharing the CPUs)"
        if broker.kafka_version
        else "Kafka of KAFKA_BOOTSTRAP_SERVERS (version not probed)"
    )
    return (
        f"machine: {platform.platform()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, aiokafka {version('aiokafka')}, {kafka}"
    )


if __name__ == "__main__":
    typer.run(main)
