"""A replay rebuild's records/s: ``clever-stream replay`` over the throughput topic.

The command as operators run it (``python -m clever_stream replay --to-prefix P``, the
default engine, tables in memory), in a process of its own, reading the raw topic from its
first record into fresh outputs and stopping at its end. Two figures: the whole command's
rate (its records over the time from its start to its exit: start-up, topic checks, the
group's join and the last commit included), and its steady rate, timed from its group's
commits as the throughput benchmark times every group.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from bench.exceptions import BenchError
from bench.pipeline_config import PipelineBenchConfig, bounded
from bench.pipeline_kafka import GroupOffsets, TopicRecords
from bench.pipeline_processes import child, worker_env
from bench.pipeline_throughput import GroupRun, time_group
from schemas.topics import RAW_EVENTS

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class ReplayFigures:
    """One replay of ``records`` raw records."""

    records: int
    #: From the command's start to its exit.
    wall_s: float
    #: Its group's steady stretch, between two of its commits.
    steady: GroupRun

    @property
    def rate(self) -> float:
        """Records per second over the whole command."""
        return self.records / self.wall_s


async def measure_replay(
    bootstrap_servers: str,
    config: PipelineBenchConfig,
    *,
    raw_prefix: str,
    records: TopicRecords,
    to_prefix: str,
    folder: Path,
    offsets: GroupOffsets,
) -> ReplayFigures:
    """Replay the raw topic under ``raw_prefix`` (``records`` on it) into ``to_prefix``."""
    group = f"{to_prefix}-privileges"
    env = worker_env(
        bootstrap_servers,
        prefix=raw_prefix,
        partitions=config.partitions,
        app_id=group,
        data_dir=folder / group,
        commit_interval_s=config.commit_interval_s,
    )
    # The replay names its group after --to-prefix, as operators leave it.
    env.pop("CLEVER_WORKER_APP_ID")
    log = folder / f"{group}.log"
    what = f"the replay into {to_prefix}"
    timeout_s = config.timeout_s
    args = ("replay", f"--to-prefix={to_prefix}", f"--timeout={timeout_s:.0f}")
    async with bounded(what, timeout_s + 60):
        started = time.perf_counter()
        async with child("clever_stream", *args, env=env, log=log, what=what) as running:
            steady = await time_group(
                offsets, group, RAW_EVENTS.name(raw_prefix), records, running, spawned=started
            )
            code = await running.process.wait()
        wall_s = time.perf_counter() - started
    if code != 0:
        raise BenchError(
            f"{what} exited with {code}", hint=f"read its log, {log}; its figures are not kept"
        )
    figures = ReplayFigures(records=records.total, wall_s=wall_s, steady=steady)
    logger.info(
        "%s: %d records in %.1f s, %.0f records/s (steady %.0f)",
        what,
        figures.records,
        wall_s,
        figures.rate,
        steady.rate,
    )
    return figures
