"""One worker against two on the same partitions: the group's events/s, and what the cores did.

For each count, a fresh group of that many workers (``python -m streams worker``, each a
process with its own web port) is started on the throughput topic and waited for until
every one of them is ready (the group has settled, each worker holds its partitions) and a
few commit intervals more (commits a rebalance held back have landed), then timed from its
next commit, as the throughput benchmark times every group. Beside the
rate: the workers' CPU per 1,000 records, and how busy the machine's cores were (the
workers' CPU and, for a local broker, the broker's, over the cores there are): a ratio
under 2 where the cores were full says the machine, not the design, set the limit.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

from bench.pipeline_config import PipelineBenchConfig, bounded
from bench.pipeline_kafka import GroupOffsets, TopicRecords
from bench.pipeline_processes import Child, free_port, ready, worker
from bench.pipeline_throughput import GroupRun, time_group
from schemas.topics import RAW_EVENTS

logger = logging.getLogger(__name__)
#: Commit intervals waited for once every worker is ready, before the clock starts.
_SETTLE_INTERVALS = 4


@dataclass(frozen=True, kw_only=True)
class ScalingRun:
    """One group of ``workers`` workers, timed over a stretch of the topic."""

    workers: int
    partitions: int
    run: GroupRun
    #: CPU seconds of the workers and the broker (NaN: not ours to read) over the stretch,
    #: over its seconds times the machine's cores: 1.0 is every core busy throughout.
    cores_busy: float
    #: The same for every process of the machine (``/proc/stat``; NaN where there is none):
    #: what else ran counts too.
    machine_busy: float = float("nan")

    @property
    def per_partition(self) -> float:
        """Events/s per partition of the topic."""
        return self.run.rate / self.partitions


class Group:
    """Several children timed together: checked together, their CPU summed; and, each time
    it is read, the broker's CPU and the machine's noted beside it, so that both can be
    taken over the very stretch the group is timed over."""

    def __init__(self, children: list[Child], broker_pid: int | None) -> None:
        self.children = children
        self._broker_pid = broker_pid
        #: (perf_counter, the broker's CPU s, the machine's busy and total ticks) per read.
        self.samples: list[tuple[float, float, tuple[float, float]]] = []

    def check(self) -> None:
        for running in self.children:
            running.check()

    def cpu_seconds(self) -> float:
        self.samples.append((time.perf_counter(), self.broker_cpu_seconds(), machine_cpu()))
        return sum(running.cpu_seconds() for running in self.children)

    def around(self, start: float, end: float) -> tuple[float, float]:
        """The broker's CPU seconds and the machine's busy share between the reads nearest
        to ``start`` and ``end`` (perf_counter)."""
        first = min(self.samples, key=lambda sample: abs(sample[0] - start))
        last = min(self.samples, key=lambda sample: abs(sample[0] - end))
        return last[1] - first[1], _busy_share(first[2], last[2])

    def broker_cpu_seconds(self) -> float:
        """The local broker's CPU so far (NaN for a cluster of KAFKA_BOOTSTRAP_SERVERS)."""
        if self._broker_pid is None:
            return float("nan")
        try:
            stat = Path(f"/proc/{self._broker_pid}/stat").read_text()
        except OSError:
            return float("nan")
        fields = stat.rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure_scaling(
    bootstrap_servers: str,
    config: PipelineBenchConfig,
    *,
    raw_prefix: str,
    records: TopicRecords,
    counts: tuple[int, ...],
    tag: str,
    folder: Path,
    offsets: GroupOffsets,
    broker_pid: int | None,
) -> list[ScalingRun]:
    """A fresh group per count of workers and repeat, each timed for ``config.pipeline_seconds``
    at most; the counts' order reverses between repeats so drift weighs on all alike."""
    found = []
    order = [
        (n, count)
        for n in range(config.repeat)
        for count in (counts if n % 2 == 0 else tuple(reversed(counts)))
    ]
    for n, count in order:
        group = f"{tag}-x{count}-{n}"
        what = f"{count} worker(s) on {config.partitions} partitions"
        async with bounded(what, config.timeout_s), AsyncExitStack() as stack:
            started = time.perf_counter()
            children, ports = [], []
            for member in range(count):
                port = free_port()
                settings = {
                    "CLEVER_WORKER_RAW_TOPIC_PREFIX": raw_prefix,
                    "CLEVER_WORKER_DATA_DIR": str(folder / f"{group}-{member}"),
                    "CLEVER_WORKER_WEB_ENABLED": "true",
                    "CLEVER_WORKER_WEB_PORT": str(port),
                }
                process = worker(
                    bootstrap_servers, prefix=f"{tag}-xo", partitions=config.partitions,
                    app_id=group, commit_interval_s=config.commit_interval_s,
                    folder=folder, settings=settings,
                )  # fmt: skip
                children.append(await stack.enter_async_context(process))
                ports.append(port)
            for port, running in zip(ports, children, strict=True):
                await ready(port, running)
            # Commits held back by the group's rebalance land over the next intervals: work
            # done before the clock starts would count within it.
            await asyncio.sleep(_SETTLE_INTERVALS * config.commit_interval_s)
            together = Group(children, broker_pid)
            run = await time_group(
                offsets, group, RAW_EVENTS.name(raw_prefix), records, together,
                most_s=config.pipeline_seconds, spawned=started,
            )  # fmt: skip
            stretch_start = started + run.startup_s
            broker_s, machine = together.around(stretch_start, stretch_start + run.seconds)
        cores = os.cpu_count() or 1
        busy = (run.cpu_s + broker_s) / (run.seconds * cores)
        found.append(
            ScalingRun(
                workers=count,
                partitions=config.partitions,
                run=run,
                cores_busy=busy,
                machine_busy=machine,
            )
        )
        logger.info(
            "%s: %.0f events/s, cores %.0f%% busy (%.0f%% with everything else)",
            what, run.rate, busy * 100, machine * 100,
        )  # fmt: skip
    return found


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU time of every core so far, in clock ticks, from ``/proc/stat``;
    NaNs where there is none."""
    try:
        first = Path("/proc/stat").read_text().splitlines()[0]
    except (OSError, IndexError):
        return float("nan"), float("nan")
    return cpu_ticks(first)


def cpu_ticks(line: str) -> tuple[float, float]:
    """(busy, total) ticks of ``/proc/stat``'s ``cpu`` line: idle and iowait are not busy;
    guest time is already in user time."""
    ticks = [float(field) for field in line.split()[1:]]
    total = sum(ticks[:8])  # user nice system idle iowait irq softirq steal
    return total - ticks[3] - ticks[4], total


def _busy_share(before: tuple[float, float], after: tuple[float, float]) -> float:
    total = after[1] - before[1]
    return (after[0] - before[0]) / total if total > 0 else float("nan")
