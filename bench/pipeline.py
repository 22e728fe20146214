"""The privilege pipeline measured for real: events/s next to a bare loop, and latency at 1,000/s.

Throughput (``bench.pipeline_throughput``): the same raw records, fake Clever v3 events
published as pollers publish them, read by a bare aiokafka exactly-once loop and by the
real worker (``python -m streams worker``), each in a process of its own, timed alike from
their consumer groups' committed offsets.

Latency (``bench.pipeline_latency``): per commit interval, a fresh worker is preloaded with
the districts' students and contacts, then sent changes that each move a privilege, at a
steady rate; each is timed from its append to its change being committed.

Everything runs against one broker, on topics (and Faust app IDs) named after one tag,
deleted at the end.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bench.pipeline_config import PipelineBenchConfig, bounded
from bench.pipeline_kafka import GroupOffsets, TopicRecords, create_topics, publish, topic_records
from bench.pipeline_latency import Timings, percentile, time_changes
from bench.pipeline_processes import Child, worker
from bench.pipeline_throughput import POLL_S, ThroughputFigures, measure_throughput
from bench.pipeline_workload import (
    RawEvent,
    initial_events,
    latency_districts,
    privilege_moves,
)
from bench.runs import bench_run
from schemas.topics import PRIVILEGE_CHANGES, RAW_EVENTS

logger = logging.getLogger(__name__)
#: The p99 under which a rate counts as sustained: far above the commit interval's floor,
#: far below what a growing backlog reaches within the timed window.
SUSTAINED_P99_MS = 1000.0


@dataclass(frozen=True, kw_only=True)
class LatencyFigures:
    """Latency at one commit interval: from a raw record's append to its change committed."""

    commit_interval_s: float
    #: The rate the records were meant to be sent at.
    target_rate: float = 0.0
    send_rate: float
    #: Changes seen per second: the send rate if the worker kept pace, else its own rate.
    seen_rate: float
    missing: int
    #: Seconds the changes were waited for after the last send; unseen ones count as infinite.
    drain_s: float
    #: Milliseconds from the send (the record's CreateTime), sorted.
    from_send_ms: tuple[float, ...]
    #: Milliseconds from the producer's acknowledgement of the append, sorted.
    from_ack_ms: tuple[float, ...]
    #: The worker's CPU time over the run's wall time (1.0: one core, busy throughout).
    worker_cpu_share: float

    def p(self, q: float, *, from_ack: bool = False) -> float:
        """The ``q`` percentile in milliseconds, from the send (or the acknowledgement)."""
        return percentile(list(self.from_ack_ms if from_ack else self.from_send_ms), q)

    def sustained(self, *, p99_ms: float = SUSTAINED_P99_MS) -> bool:
        """Whether the worker kept pace: every change seen, at the rate sent, p99 within
        ``p99_ms`` (a backlog would grow the latency for as long as records come)."""
        return (
            self.missing == 0 and self.seen_rate >= 0.95 * self.send_rate and self.p(99) <= p99_ms
        )

    @property
    def sender_kept_pace(self) -> bool:
        """Whether the benchmark's own producer sent at the rate meant (a machine shared
        with the worker and the broker may not let it)."""
        return self.send_rate >= 0.95 * self.target_rate


@dataclass(frozen=True, kw_only=True)
class PipelineFigures:
    """Everything the pipeline benchmark measured."""

    throughput: ThroughputFigures
    latency: tuple[LatencyFigures, ...]


async def run_pipeline_bench(
    bootstrap_servers: str, config: PipelineBenchConfig
) -> PipelineFigures:
    """Throughput, then latency at each commit interval; the run's topics deleted at the end."""
    tag = f"bench-pipe-{uuid.uuid4().hex[:8]}"
    async with bench_run(bootstrap_servers, tag=tag, what="the pipeline benchmark") as run:
        folder, offsets = run
        throughput = await measure_throughput(
            bootstrap_servers, config, tag=tag, folder=folder, offsets=offsets
        )
        latency = tuple(
            [
                await measure_latency(
                    bootstrap_servers,
                    config,
                    interval=interval,
                    rate=config.latency_rate,
                    prefix=f"{tag}-l{n}",
                    folder=folder,
                    offsets=offsets,
                )
                for n, interval in enumerate(config.latency_commit_intervals)
            ]
        )
    return PipelineFigures(throughput=throughput, latency=latency)


def latency_workload(
    config: PipelineBenchConfig, rate: float
) -> tuple[list[RawEvent], list[RawEvent]]:
    """The records to preload a worker with, and the changes to time at ``rate`` (warm-up
    first)."""
    warmup = round(rate * config.latency_warmup_s)
    count = warmup + round(rate * config.latency_seconds)
    districts = latency_districts(config.latency_districts, contacts=config.latency_contacts)
    preload = [event for district in districts for event in initial_events(district)]
    return preload, privilege_moves(districts, count)


async def measure_latency(
    bootstrap_servers: str,
    config: PipelineBenchConfig,
    *,
    interval: float,
    rate: float,
    prefix: str,
    folder: Path,
    offsets: GroupOffsets,
    settings: Mapping[str, str] | None = None,
) -> LatencyFigures:
    """A fresh worker committing every ``interval`` s, on topics under ``prefix``: preloaded,
    caught up, then sent privilege changes at ``rate`` per second and timed.

    Every call with the same rate gets the same records.
    """
    preload, moves = latency_workload(config, rate)
    warmup = round(rate * config.latency_warmup_s)
    raw_topic = RAW_EVENTS.name(prefix)
    what = f"latency at {rate:,.0f} events/s, a commit every {interval}s"
    async with bounded(f"{what}: preloading", config.timeout_s):
        await create_topics(bootstrap_servers, prefix=prefix, partitions=config.partitions)
        await publish(bootstrap_servers, raw_topic, preload, page_size=config.page_size)
        records = await topic_records(
            bootstrap_servers, raw_topic, partitions=config.partitions, timeout_s=config.timeout_s
        )
    app_id = f"{prefix}-w"
    process = worker(
        bootstrap_servers,
        prefix=prefix,
        partitions=config.partitions,
        app_id=app_id,
        commit_interval_s=interval,
        folder=folder,
        settings=settings,
    )
    timeout_s = config.timeout_s + config.latency_seconds + config.latency_warmup_s
    async with bounded(what, timeout_s), process as running:
        await caught_up(offsets, app_id, raw_topic, records, running)
        cpu_before, started = running.cpu_seconds(), time.perf_counter()
        timings = await time_changes(
            bootstrap_servers,
            raw_topic=raw_topic,
            changes_topic=PRIVILEGE_CHANGES.name(prefix),
            partitions=config.partitions,
            events=moves,
            rate=rate,
            warmup=warmup,
            drain_timeout_s=10 + 10 * interval,
        )
        running.check()
        share = (running.cpu_seconds() - cpu_before) / (time.perf_counter() - started)
    figures = _figures(interval, rate, timings, share)
    logger.info(
        "%s: p99 %.0f ms, p99.9 %.0f ms, max %.0f ms",
        what,
        figures.p(99),
        figures.p(99.9),
        figures.p(100),
    )
    return figures


async def caught_up(
    offsets: GroupOffsets, group: str, topic: str, records: TopicRecords, running: Child
) -> None:
    """Wait until ``group`` has committed past every one of ``records``."""
    while not records.all_below(await offsets.committed(group, topic)):
        running.check()
        await asyncio.sleep(POLL_S)


def _figures(
    interval: float, rate: float, timings: Timings, worker_cpu_share: float
) -> LatencyFigures:
    return LatencyFigures(
        commit_interval_s=interval,
        target_rate=rate,
        send_rate=timings.send_rate,
        seen_rate=timings.seen_rate,
        missing=timings.missing,
        drain_s=timings.drain_s,
        from_send_ms=tuple(timings.latencies_ms(since=lambda t: t.sent)),
        from_ack_ms=tuple(timings.latencies_ms(since=lambda t: t.acked)),
        worker_cpu_share=worker_cpu_share,
    )
