"""Events/s through the worker next to bare exactly-once loops, over the same raw records.

Four consumer groups read the same topic in turn, each in a process of its own: the bare
aiokafka loops of ``bench.pipeline_raw`` ((a) one change per record written by the codec,
(a') the same written by the worker's own writer, (a'') the worker's own privilege processor
with its state in memory) and (b) ``python -m streams worker``; with peers asked for, also
the worker on its Faust engine and the Quix Streams peer (``bench.peer_quix``). All commit
every ``commit_interval_s`` and all are timed alike, from their group's committed offsets:
between the first commit and the last commit before the end of the topic, two moments at
which each was busy throughout (so start-up, assignment and table recovery are left out,
and so is the idle part of the interval in which the end was reached). The worker and
(a''), far slower, are timed for ``pipeline_seconds`` at most. Their order alternates
between repeats so drift weighs on all alike.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bench.exceptions import BenchError
from bench.pipeline_config import PipelineBenchConfig, bounded
from bench.pipeline_kafka import GroupOffsets, TopicRecords, create_topics, publish, topic_records
from bench.pipeline_processes import QUIX_PYTHON, baseline, quix_peer, worker
from bench.pipeline_workload import throughput_events
from schemas.topics import RAW_EVENTS

logger = logging.getLogger(__name__)
#: How often a group's committed offsets are read while it is timed.
POLL_S = 0.025


class Running(Protocol):
    """The processes of a group being timed: a ``Child``, or several together."""

    def check(self) -> None:
        """Raise if a process exited or crashed."""
        ...

    def cpu_seconds(self) -> float:
        """Their CPU time so far."""
        ...


@dataclass(frozen=True, kw_only=True)
class GroupRun:
    """One group's timed stretch of the raw topic, between two of its commits."""

    events: int
    seconds: float
    #: From the process's start to its first commit: start-up, assignment, first interval.
    startup_s: float
    #: CPU time of the process within the timed stretch.
    cpu_s: float

    @property
    def rate(self) -> float:
        """Raw records committed per second."""
        return self.events / self.seconds

    @property
    def cpu_ms_per_1000(self) -> float:
        """CPU milliseconds the process spent per 1,000 records: cost, whatever the contention."""
        return self.cpu_s * 1_000_000 / self.events


@dataclass(frozen=True, kw_only=True)
class ThroughputFigures:
    """The bare loops' and the worker's runs over the same records, repeat by repeat."""

    events: int
    record_bytes: float
    baseline: tuple[GroupRun, ...]
    #: The bare loop with the worker's own output writer.
    writer_baseline: tuple[GroupRun, ...]
    #: The bare loop doing the worker's job: its processor, state in memory.
    processor_baseline: tuple[GroupRun, ...]
    pipeline: tuple[GroupRun, ...]
    #: The worker on its Faust engine, if asked for.
    faust: tuple[GroupRun, ...] = ()
    #: The Quix Streams peer running the worker's processor, if asked for.
    quix: tuple[GroupRun, ...] = ()

    @property
    def ratios(self) -> tuple[float, ...]:
        """The worker's rate over the bare loop's, per repeat (they ran back to back)."""
        return _ratios(self.pipeline, self.baseline)

    @property
    def writer_ratios(self) -> tuple[float, ...]:
        """The worker's rate over (a')'s, per repeat."""
        return _ratios(self.pipeline, self.writer_baseline)

    @property
    def processor_ratios(self) -> tuple[float, ...]:
        """The worker's rate over the rate of the bare loop doing its job, per repeat."""
        return _ratios(self.pipeline, self.processor_baseline)

    @property
    def writer_gains(self) -> tuple[float, ...]:
        """(a')'s rate over (a)'s, per repeat."""
        return _ratios(self.writer_baseline, self.baseline)

    @property
    def processor_gains(self) -> tuple[float, ...]:
        """(a'')'s rate over (a)'s, per repeat."""
        return _ratios(self.processor_baseline, self.baseline)

    @property
    def processor_writer_ratios(self) -> tuple[float, ...]:
        """(a'')'s rate over (a')'s, per repeat: what the privilege logic costs."""
        return _ratios(self.processor_baseline, self.writer_baseline)


def _ratios(runs: tuple[GroupRun, ...], to: tuple[GroupRun, ...]) -> tuple[float, ...]:
    return tuple(run.rate / other.rate for run, other in zip(runs, to, strict=True))


async def measure_throughput(
    bootstrap_servers: str,
    config: PipelineBenchConfig,
    *,
    tag: str,
    folder: Path,
    offsets: GroupOffsets,
) -> ThroughputFigures:
    """Publish the raw records once, then time each group ``config.repeat`` times."""
    events = throughput_events(config.events, districts=config.districts)
    prefix, output_prefix = f"{tag}-t", f"{tag}-b"
    raw_topic = RAW_EVENTS.name(prefix)
    async with bounded("publishing the raw records", config.timeout_s):
        for name in (prefix, output_prefix):
            await create_topics(bootstrap_servers, prefix=name, partitions=config.partitions)
        await publish(bootstrap_servers, raw_topic, events, page_size=config.page_size)
        records = await topic_records(
            bootstrap_servers, raw_topic, partitions=config.partitions, timeout_s=config.timeout_s
        )
    if records.total != len(events):
        raise BenchError(
            f"{records.total:,} raw records on the topic, {len(events):,} sent",
            hint="a bug in the benchmark, or a broker losing committed records",
        )
    #: Each bare loop's job (``bench.pipeline_raw``), by its figures' name.
    jobs = {"baseline": "codec", "writer_baseline": "writer", "processor_baseline": "processor"}
    runs: dict[str, list[GroupRun]] = {name: [] for name in (*jobs, "pipeline", *config.peers)}
    order = tuple(runs)
    for n in range(config.repeat):
        for which in order if n % 2 == 0 else reversed(order):
            what = f"repeat {n + 1}/{config.repeat}: {which}"
            if which in jobs:
                job = jobs[which]
                # (a'') is as slow as the worker: timed as long at most.
                most_s = config.pipeline_seconds if job == "processor" else None
                group = f"{tag}-raw-{job}{n}"
                process = baseline(
                    bootstrap_servers,
                    topic=raw_topic,
                    output_prefix=output_prefix,
                    group_id=group,
                    commit_interval_s=config.commit_interval_s,
                    folder=folder,
                    job=job,
                )
            elif which == "quix":
                group, most_s = f"{tag}-quix{n}", config.pipeline_seconds
                process = quix_peer(
                    bootstrap_servers,
                    topic=raw_topic,
                    output_prefix=output_prefix,
                    group_id=group,
                    commit_interval_s=config.commit_interval_s,
                    folder=folder,
                    python=config.quix_python or QUIX_PYTHON,
                )
            else:
                engine = "faust" if which == "faust" else "native"
                group, most_s = f"{tag}-{engine}{n}", config.pipeline_seconds
                process = worker(
                    bootstrap_servers,
                    prefix=prefix,
                    partitions=config.partitions,
                    app_id=group,
                    commit_interval_s=config.commit_interval_s,
                    folder=folder,
                    engine=engine,
                )
            async with bounded(what, config.timeout_s), process as running:
                run = await time_group(offsets, group, raw_topic, records, running, most_s=most_s)
            logger.info(
                "%s: %.0f events/s over %d records (%.1fs to its first commit)",
                what,
                run.rate,
                run.events,
                run.startup_s,
            )
            runs[which].append(run)
    size = sum(len(event.key) + len(event.value) for event in events) / len(events)
    return ThroughputFigures(
        events=len(events),
        record_bytes=size,
        baseline=tuple(runs["baseline"]),
        writer_baseline=tuple(runs["writer_baseline"]),
        processor_baseline=tuple(runs["processor_baseline"]),
        pipeline=tuple(runs["pipeline"]),
        faust=tuple(runs.get("faust", ())),
        quix=tuple(runs.get("quix", ())),
    )


async def time_group(
    offsets: GroupOffsets,
    group: str,
    topic: str,
    records: TopicRecords,
    running: Running,
    *,
    most_s: float | None = None,
    spawned: float | None = None,
) -> GroupRun:
    """Watch ``group`` commit its way through ``records`` (for ``most_s`` at most).

    Each distinct committed position is noted when first seen; the run is timed between the
    first and the last one short of the end, moments at which the group had records to do.
    Its start-up is counted from ``spawned`` (a ``perf_counter``; by default, now), and a
    group whose processes were started earlier is timed from its first commit from now on.
    """
    # Committed before a late call, at a moment unknown: only a later commit starts the clock.
    floor = records.below(await offsets.committed(group, topic)) if spawned is not None else 0
    spawned = time.perf_counter() if spawned is None else spawned
    seen: list[tuple[float, int, float]] = []  # (when, records committed, CPU seconds)
    while True:
        running.check()
        committed = await offsets.committed(group, topic)
        now, cpu = time.perf_counter(), running.cpu_seconds()
        done = records.below(committed)
        if done > floor and (not seen or done > seen[-1][1]):
            seen.append((now, done, cpu))
        if records.all_below(committed):
            break
        if most_s is not None and seen and now - seen[0][0] >= most_s:
            break
        await asyncio.sleep(POLL_S)
    busy = [moment for moment in seen if moment[1] < records.total]
    if len(busy) < 2:
        raise BenchError(
            f"{group} made fewer than two commits before the end of {records.total:,} records: "
            "too few to time",
            hint="raise --pipeline-events",
        )
    (started, before, cpu_before), (ended, after, cpu_after) = busy[0], busy[-1]
    return GroupRun(
        events=after - before,
        seconds=ended - started,
        startup_s=started - spawned,
        cpu_s=cpu_after - cpu_before,
    )
