"""What a worker's memory grows by per 100,000 contacts, for each engine and table store.

One worker process per engine and store (``python -m streams worker``, as operators run it)
first takes a small district, and its resident memory is read from ``/proc`` once it has
committed it; then a large district's initial sync (its students, then its contacts, as
``users.created`` raw records), and its memory is read again. Then a second worker of the
same group takes over the state (restored from the changelog, or found in its RocksDB files)
and its memory is read once it is ready: a worker's steady cost, without what processing the
sync left behind. The difference to the first figure, per 100,000 contacts, is what sizing
needs; the first figure is a worker's fixed cost.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path

from bench.pipeline import caught_up
from bench.pipeline_config import bounded
from bench.pipeline_kafka import GroupOffsets, create_topics, publish, topic_records
from bench.pipeline_processes import Child, free_port, ready, worker
from bench.pipeline_workload import RawEvent, initial_events, latency_districts
from bench.runs import bench_run
from schemas.topics import RAW_EVENTS

logger = logging.getLogger(__name__)

#: The engines and stores measured, as ``CLEVER_WORKER_ENGINE`` and ``CLEVER_WORKER_STORE``.
VARIANTS = (
    ("native", "memory://"),
    ("native", "rocksdb://"),
    ("faust", "memory://"),
    ("faust", "rocksdb://"),
)
_SMALL_CONTACTS = 100
_PAGE_SIZE = 1000
_KIB = 1024


@dataclass(frozen=True, kw_only=True)
class SizingFigures:
    """One worker's resident memory before and after a large district."""

    engine: str
    store: str
    contacts: int
    records: int
    #: MiB resident once the small district is committed: the worker's fixed cost.
    base_mib: float
    #: MiB resident once the large district is committed too.
    loaded_mib: float
    #: The most the process held at once (VmHWM), MiB.
    peak_mib: float
    #: MiB resident in a new worker once it has taken the state over and is ready.
    restored_mib: float
    #: Seconds the new worker took to be ready.
    restore_s: float
    #: The table files on disk (RocksDB), MiB; 0 for memory.
    disk_mib: float

    @property
    def per_100k_mib(self) -> float:
        """Resident MiB a worker holding the state needs per 100,000 contacts (with their
        students) beyond its fixed cost."""
        return (self.restored_mib - self.base_mib) * 100_000 / self.contacts


async def run_sizing_bench(
    bootstrap_servers: str, *, contacts: int, partitions: int, timeout_s: float
) -> list[SizingFigures]:
    """Each variant's figures, on topics of its own, deleted at the end."""
    [small] = latency_districts(1, contacts=_SMALL_CONTACTS, seed=11)
    [large] = latency_districts(1, contacts=contacts, seed=12)
    workload = (initial_events(small), initial_events(large))
    tag = f"bench-size-{uuid.uuid4().hex[:8]}"
    found = []
    async with bench_run(bootstrap_servers, tag=tag, what="the sizing benchmark") as run:
        folder, offsets = run
        for n, (engine, store) in enumerate(VARIANTS):
            found.append(
                await _measure(
                    bootstrap_servers,
                    engine=engine,
                    store=store,
                    workload=workload,
                    contacts=contacts,
                    prefix=f"{tag}-{n}",
                    partitions=partitions,
                    folder=folder,
                    offsets=offsets,
                    timeout_s=timeout_s,
                )
            )
    return found


async def _measure(
    bootstrap_servers: str,
    *,
    engine: str,
    store: str,
    workload: tuple[list[RawEvent], list[RawEvent]],
    contacts: int,
    prefix: str,
    partitions: int,
    folder: Path,
    offsets: GroupOffsets,
    timeout_s: float,
) -> SizingFigures:
    small, large = workload
    raw_topic = RAW_EVENTS.name(prefix)
    app_id = f"{prefix}-w"
    what = f"the {engine} worker's memory with {store}"

    def running_worker(**settings: str) -> AbstractAsyncContextManager[Child]:
        return worker(
            bootstrap_servers, prefix=prefix, partitions=partitions, app_id=app_id,
            commit_interval_s=0.5, folder=folder, engine=engine, store=store, settings=settings,
        )  # fmt: skip

    async with bounded(what, timeout_s):
        await create_topics(bootstrap_servers, prefix=prefix, partitions=partitions)
        await publish(bootstrap_servers, raw_topic, small, page_size=_PAGE_SIZE)
        async with running_worker() as running:
            records = await topic_records(
                bootstrap_servers, raw_topic, partitions=partitions, timeout_s=timeout_s
            )
            await caught_up(offsets, app_id, raw_topic, records, running)
            base = running.status("VmRSS")
            await publish(bootstrap_servers, raw_topic, large, page_size=_PAGE_SIZE)
            records = await topic_records(
                bootstrap_servers, raw_topic, partitions=partitions, timeout_s=timeout_s
            )
            await caught_up(offsets, app_id, raw_topic, records, running)
            loaded, peak = running.status("VmRSS"), running.status("VmHWM")
            disk = _folder_bytes(folder / app_id)
        port = free_port()
        started = loop_time()
        web = {"CLEVER_WORKER_WEB_ENABLED": "true", "CLEVER_WORKER_WEB_PORT": str(port)}
        async with running_worker(**web) as running:
            await ready(port, running)
            restore_s = loop_time() - started
            restored = running.status("VmRSS")
    figures = SizingFigures(
        engine=engine,
        store=store,
        contacts=contacts,
        records=len(large),
        base_mib=base / _KIB,
        loaded_mib=loaded / _KIB,
        peak_mib=peak / _KIB,
        restored_mib=restored / _KIB,
        restore_s=restore_s,
        disk_mib=disk / _KIB / _KIB,
    )
    logger.info("%s: %.0f MiB per 100k contacts", what, figures.per_100k_mib)
    return figures


def loop_time() -> float:
    return asyncio.get_running_loop().time()


def _folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
