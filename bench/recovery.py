"""How long a worker's districts wait after it is SIGKILLed and started again: with dynamic
group membership (the default) and with a static member ID (``CLEVER_WORKER_INSTANCE_ID``).

A worker processes a district's sync, is killed while records keep arriving, and is started
again at once with the same settings. The figure is the time from the kill until the group
has committed every record sent before and during the outage: what the outputs' consumers
wait. Both variants run back to back on the same broker and records.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import uuid
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path

from bench.pipeline import caught_up
from bench.pipeline_config import bounded
from bench.pipeline_kafka import GroupOffsets, create_topics, publish, topic_records
from bench.pipeline_processes import Child, worker
from bench.pipeline_workload import RawEvent, initial_events, latency_districts, privilege_moves
from bench.runs import bench_run
from schemas.topics import RAW_EVENTS

logger = logging.getLogger(__name__)

_PAGE_SIZE = 500
#: The session timeout of both variants: the worker's default.
_SESSION_TIMEOUT_S = 30.0


@dataclass(frozen=True, kw_only=True)
class RecoveryFigures:
    """One variant's recoveries: seconds from each kill until the outputs caught up."""

    engine: str
    membership: str
    seconds: tuple[float, ...]


async def run_recovery_bench(
    bootstrap_servers: str, *, engines: tuple[str, ...], repeat: int, timeout_s: float
) -> list[RecoveryFigures]:
    """Each engine with dynamic, then static membership, ``repeat`` kills each."""
    [district] = latency_districts(1, contacts=2_000, seed=21)
    preload = initial_events(district)
    moves = privilege_moves([district], 400 * repeat, seed=22)
    tag = f"bench-recovery-{uuid.uuid4().hex[:8]}"
    found = []
    async with bench_run(bootstrap_servers, tag=tag, what="the recovery benchmark") as run:
        folder, offsets = run
        for engine in engines:
            for membership in ("dynamic", "static"):
                prefix = f"{tag}-{engine}-{membership}"
                seconds = await _recoveries(
                    bootstrap_servers, engine=engine, static=membership == "static",
                    prefix=prefix, preload=preload, moves=moves, repeat=repeat,
                    folder=folder, offsets=offsets, timeout_s=timeout_s,
                )  # fmt: skip
                found.append(RecoveryFigures(engine=engine, membership=membership,
                                             seconds=tuple(seconds)))  # fmt: skip
    return found


async def _recoveries(
    bootstrap_servers: str,
    *,
    engine: str,
    static: bool,
    prefix: str,
    preload: list[RawEvent],
    moves: list[RawEvent],
    repeat: int,
    folder: Path,
    offsets: GroupOffsets,
    timeout_s: float,
) -> list[float]:
    raw_topic, app_id = RAW_EVENTS.name(prefix), f"{prefix}-w"
    settings = {"CLEVER_WORKER_SESSION_TIMEOUT_S": str(_SESSION_TIMEOUT_S)}
    if static:
        settings["CLEVER_WORKER_INSTANCE_ID"] = f"{app_id}-0"

    def running_worker() -> AbstractAsyncContextManager[Child]:
        return worker(
            bootstrap_servers, prefix=prefix, partitions=1, app_id=app_id,
            commit_interval_s=0.1, folder=folder, engine=engine, settings=settings,
        )  # fmt: skip

    what = f"the {engine} worker ({prefix})"
    loop = asyncio.get_running_loop()
    seconds = []
    async with bounded(what, timeout_s * (repeat + 1)):
        await create_topics(bootstrap_servers, prefix=prefix, partitions=1)
        await publish(bootstrap_servers, raw_topic, preload, page_size=_PAGE_SIZE)
        records = await topic_records(
            bootstrap_servers, raw_topic, partitions=1, timeout_s=timeout_s
        )
        for n in range(repeat):
            batch = moves[n * 400 : (n + 1) * 400]
            async with running_worker() as running:
                # Killed once it has processed records of its own: a member of the group.
                await publish(bootstrap_servers, raw_topic, batch[:200], page_size=_PAGE_SIZE)
                records = await topic_records(
                    bootstrap_servers, raw_topic, partitions=1, timeout_s=timeout_s
                )
                await caught_up(offsets, app_id, raw_topic, records, running)
                running.process.send_signal(signal.SIGKILL)
                await running.process.wait()
                killed = loop.time()
            # Records keep coming while the worker is down; it is started again at once.
            await publish(bootstrap_servers, raw_topic, batch[200:], page_size=_PAGE_SIZE)
            records = await topic_records(
                bootstrap_servers, raw_topic, partitions=1, timeout_s=timeout_s
            )
            async with running_worker() as running:
                await caught_up(offsets, app_id, raw_topic, records, running)
                seconds.append(loop.time() - killed)
        logger.info("%s: recovered in %s s", what, [f"{s:.1f}" for s in seconds])
    return seconds
