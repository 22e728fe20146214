"""The workers at fleet scale (issue 19, goal 5): thousands of small districts' state across
the raw topic's partitions, with each table store.

Per store (``CLEVER_WORKER_STORE``, the native engine) and district count, on topics of their
own: each district's initial sync (a few contacts and their students, ``users.created`` raw
records as pollers file them) spread over the raw topic's partitions by its key; one worker
process (``python -m streams worker``) takes every partition and is read once it has
committed every record. Then it is started again twice, read once ``/ready``:

- **restarted**, on its own local state: the steady cost of a worker holding the districts
  (RocksDB reopens its files; memory has none, and rebuilds every partition's tables);
- **rebuilt**, without any (a fresh data folder): every partition restored from the
  changelog, the restart timed until ``/ready`` (for memory, the restart above).

Memory is resident memory (VmRSS), per district beyond a *baseline* worker of the store that
holds no district; disk is the RocksDB table files. One partition's restore is partition 0's
changelog read into a fresh backing of the store by the worker's own ``ChangelogRestorer``
(in steps of the engine's 100 ms poll), alone, the median of a few: what a district on a
partition that moves to another worker waits for its state.

Right after processing, both stores hold about as much: each partition's transaction keeps
the values it read or wrote decoded, up to ``DEFAULT_KEEP`` per table
(``streams.state.transaction``), whatever the store; the restarted figure is what a worker
holding the districts keeps at rest.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import statistics
import tempfile
import time
import uuid
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from aiokafka import AIOKafkaConsumer
from rich import box
from rich.console import Console
from rich.table import Table

from bench.pipeline import caught_up
from bench.pipeline_config import bounded
from bench.pipeline_kafka import GroupOffsets, create_topics, publish, topic_records
from bench.pipeline_processes import Child, free_port, ready, worker
from bench.pipeline_workload import RawEvent, initial_events, latency_districts
from bench.runs import bench_run
from schemas.topics import RAW_EVENTS
from streams.engines.native.changelog import ChangelogRestorer, changelog_topic
from streams.engines.native.rocksdb import RocksDBBacking
from streams.settings import STORES
from streams.state.backing import MemoryBacking, TableBacking

logger = logging.getLogger(__name__)

#: Contacts of each district (the fake Clever gives 5 contacts 2 students: 7 records).
CONTACTS_PER_DISTRICT = 5
_PAGE_SIZE = 1000
#: Pollers publishing side by side: a district's page is one transaction, as a poller's.
_PUBLISHERS = 4
_COMMIT_INTERVAL_S = 0.5
#: One partition's restore is timed this many times; the median is kept.
_RESTORES = 3
_KIB = 1024


@dataclass(frozen=True, kw_only=True)
class WorkerScaleFigures:
    """One store at one district count: a worker's memory, disk and restore."""

    store: str
    districts: int
    records: int
    partitions: int
    #: KiB resident in a ready worker of the store holding no district.
    baseline_kib: int
    #: KiB resident once the worker committed every record (peak: VmHWM).
    processed_kib: int
    peak_kib: int
    #: KiB resident in the worker restarted on its own local state, once ready.
    restarted_kib: int
    #: KiB resident in the worker restarted without local state, once ready (rebuilt).
    rebuilt_kib: int
    #: Bytes of the table files (RocksDB), 0 in memory.
    disk_bytes: int
    #: Seconds from the worker's start until it committed every record.
    process_s: float
    #: Seconds from the rebuilt worker's start until ``/ready``: every partition restored.
    rebuild_s: float
    #: Changelog records of partition 0, and seconds to restore it alone (a median).
    partition_records: int
    partition_restore_s: float

    @property
    def processed_per_district_kib(self) -> float:
        """Resident KiB per district once processed, beyond the baseline."""
        return per_district_kib(self.processed_kib, self.baseline_kib, self.districts)

    @property
    def restarted_per_district_kib(self) -> float:
        """Resident KiB per district a worker holding them keeps, beyond the baseline."""
        return per_district_kib(self.restarted_kib, self.baseline_kib, self.districts)


def per_district_kib(rss_kib: int, baseline_kib: int, districts: int) -> float:
    """``rss_kib`` beyond ``baseline_kib``, over ``districts`` (none: 0)."""
    return (rss_kib - baseline_kib) / districts if districts else 0.0


def growth_per_district_kib(
    figures: Sequence[WorkerScaleFigures],
) -> dict[tuple[str, int], float]:
    """(store, districts) -> restarted KiB per district added since the store's previous,
    smaller count: the marginal cost, about 0 where memory stays flat. The smallest count of
    each store has none."""
    found: dict[tuple[str, int], float] = {}
    by_store: dict[str, list[WorkerScaleFigures]] = {}
    for row in figures:
        by_store.setdefault(row.store, []).append(row)
    for rows in by_store.values():
        ordered = sorted(rows, key=lambda row: row.districts)
        for before, after in itertools.pairwise(ordered):
            added = after.districts - before.districts
            if added > 0:
                growth = (after.restarted_kib - before.restarted_kib) / added
                found[after.store, after.districts] = growth
    return found


def worker_scale_table(figures: Sequence[WorkerScaleFigures]) -> Table:
    """One row per store and district count: memory per district, disk and restores."""
    first = figures[0] if figures else None
    partitions = f" on {first.partitions} partitions" if first else ""
    table = Table(
        title=f"Workers at fleet scale: one native worker{partitions}, districts of "
        f"{CONTACTS_PER_DISTRICT} contacts",
        caption="resident memory (VmRSS): processed, once every record is committed (peak: "
        "VmHWM); restarted, the worker started again on its own local state, once ready; "
        "KiB/district beyond base, a ready worker of the store holding no district; "
        "+KiB/added: restarted KiB per district added since the row above; rebuilt: started "
        "again without local state, every partition restored from the changelog (rebuild s: "
        "its start to /ready); one partition: partition 0's changelog alone into a fresh "
        f"backing of the store, median of {_RESTORES}",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("store")
    headings = (
        "districts", "records", "base MiB", "processed MiB", "peak MiB", "KiB/district",
        "restarted MiB", "KiB/district", "+KiB/added", "rebuilt MiB", "disk MiB",
        "rebuild s", "one partition s", "its records",
    )  # fmt: skip
    for heading in headings:
        table.add_column(heading, justify="right")
    growth = growth_per_district_kib(figures)
    for row in figures:
        added = growth.get((row.store, row.districts))
        table.add_row(
            row.store,
            f"{row.districts:,}",
            f"{row.records:,}",
            _mib(row.baseline_kib),
            _mib(row.processed_kib),
            _mib(row.peak_kib),
            f"{row.processed_per_district_kib:,.1f}",
            _mib(row.restarted_kib),
            f"{row.restarted_per_district_kib:,.1f}",
            "" if added is None else f"{added:,.1f}",
            _mib(row.rebuilt_kib),
            f"{row.disk_bytes / _KIB / _KIB:,.1f}",
            f"{row.rebuild_s:,.1f}",
            f"{row.partition_restore_s:,.2f}",
            f"{row.partition_records:,}",
        )
    return table


def _mib(kib: int) -> str:
    return f"{kib / _KIB:,.0f}"


async def run_worker_scale(
    bootstrap_servers: str,
    *,
    districts: tuple[int, ...] = (1_000, 10_000),
    stores: tuple[str, ...] = STORES,
    partitions: int = 6,
    timeout_s: float = 900.0,
) -> list[WorkerScaleFigures]:
    """Each store at each district count, on topics of their own, deleted at the end."""
    everyone = latency_districts(max(districts), contacts=CONTACTS_PER_DISTRICT, seed=51)
    tag = f"bench-fleet-{uuid.uuid4().hex[:8]}"
    found = []
    async with bench_run(bootstrap_servers, tag=tag, what="the fleet-scale benchmark") as run:
        folder, offsets = run
        for s, store in enumerate(stores):
            scale = _Scale(
                bootstrap_servers, store=store, partitions=partitions, folder=folder,
                offsets=offsets, timeout_s=timeout_s,
            )  # fmt: skip
            baseline = await scale.baseline(f"{tag}-{s}-base")
            for count in districts:
                events = [event for district in everyone[:count]
                          for event in initial_events(district)]  # fmt: skip
                figures = await scale.measure(
                    f"{tag}-{s}-{count}", events, districts=count, baseline_kib=baseline
                )
                logger.info("%s, %d districts: %.1f KiB per district restarted, %.2f s for "
                            "one partition", store, count, figures.restarted_per_district_kib,
                            figures.partition_restore_s)  # fmt: skip
                found.append(figures)
    return found


class _Scale:
    """One store's measurements, on one broker."""

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        store: str,
        partitions: int,
        folder: Path,
        offsets: GroupOffsets,
        timeout_s: float,
    ) -> None:
        self._servers = bootstrap_servers
        self._store = store
        self._partitions = partitions
        self._folder = folder
        self._offsets = offsets
        self._timeout_s = timeout_s

    def _worker(self, prefix: str, **settings: str) -> AbstractAsyncContextManager[Child]:
        return worker(
            self._servers, prefix=prefix, partitions=self._partitions, app_id=f"{prefix}-w",
            commit_interval_s=_COMMIT_INTERVAL_S, folder=self._folder, store=self._store,
            settings=settings,
        )  # fmt: skip

    async def baseline(self, prefix: str) -> int:
        """KiB resident in a ready worker of the store on empty topics."""
        async with bounded(f"a {self._store} worker with no district", self._timeout_s):
            await create_topics(self._servers, prefix=prefix, partitions=self._partitions)
            port = free_port()
            async with self._worker(prefix, **_web(port)) as running:
                await ready(port, running)
                return running.status("VmRSS")

    async def measure(
        self, prefix: str, events: list[RawEvent], *, districts: int, baseline_kib: int
    ) -> WorkerScaleFigures:
        servers, raw_topic, app_id = self._servers, RAW_EVENTS.name(prefix), f"{prefix}-w"
        loop = asyncio.get_running_loop()
        async with bounded(f"a {self._store} worker with {districts:,} districts", self._timeout_s):
            await create_topics(servers, prefix=prefix, partitions=self._partitions)
            await asyncio.gather(*(
                publish(servers, raw_topic, events[n::_PUBLISHERS], page_size=_PAGE_SIZE)
                for n in range(_PUBLISHERS)
            ))  # fmt: skip
            records = await topic_records(
                servers, raw_topic, partitions=self._partitions, timeout_s=self._timeout_s
            )
            started = loop.time()
            async with self._worker(prefix) as running:
                await caught_up(self._offsets, app_id, raw_topic, records, running)
                process_s = loop.time() - started
                processed, peak = running.status("VmRSS"), running.status("VmHWM")
            disk = folder_bytes(self._folder / app_id)
            restarted_s, restarted = await self._restarted(prefix)
            rebuild_s, rebuilt = restarted_s, restarted
            if self._store != "memory://":  # memory has no local state to keep: rebuilt above
                fresh = self._folder / f"{app_id}-rebuilt"
                rebuild_s, rebuilt = await self._restarted(prefix, data_dir=fresh)
            applied, partition_s = await self._partition_restore(app_id)
        return WorkerScaleFigures(
            store=self._store, districts=districts, records=records.total,
            partitions=self._partitions, baseline_kib=baseline_kib, processed_kib=processed,
            peak_kib=peak, restarted_kib=restarted, rebuilt_kib=rebuilt, disk_bytes=disk,
            process_s=process_s, rebuild_s=rebuild_s, partition_records=applied,
            partition_restore_s=partition_s,
        )  # fmt: skip

    async def _partition_restore(self, app_id: str) -> tuple[int, float]:
        """Partition 0's changelog records, and the median seconds of its restore alone."""
        topic, seconds, records = changelog_topic(app_id), [], 0
        for n in range(_RESTORES):
            folder = self._folder / f"{app_id}-partition-{n}"
            records, took = await restore_partition(
                self._servers, topic, partition=0, store=self._store, folder=folder,
                timeout_s=self._timeout_s,
            )  # fmt: skip
            seconds.append(took)
        return records, statistics.median(seconds)

    async def _restarted(self, prefix: str, *, data_dir: Path | None = None) -> tuple[float, int]:
        """The worker started again (on ``data_dir``, if given, instead of its own folder):
        seconds from its start until ``/ready``, and KiB resident then."""
        port, loop = free_port(), asyncio.get_running_loop()
        settings = _web(port)
        if data_dir is not None:
            settings["CLEVER_WORKER_DATA_DIR"] = str(data_dir)
        started = loop.time()
        async with self._worker(prefix, **settings) as running:
            await ready(port, running)
            return loop.time() - started, running.status("VmRSS")


async def restore_partition(
    bootstrap_servers: str,
    topic: str,
    *,
    partition: int,
    store: str,
    folder: Path,
    timeout_s: float,
) -> tuple[int, float]:
    """Changelog records of ``partition`` and the seconds the worker's restorer takes to read
    them into a fresh backing of ``store`` (RocksDB's in ``folder``), alone."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        isolation_level="read_committed",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        backing: TableBacking = (
            RocksDBBacking.open(folder) if store == "rocksdb://" else MemoryBacking()
        )
        try:
            restorer = ChangelogRestorer(consumer, topic, timeout_s=timeout_s)
            started, applied = time.perf_counter(), 0
            if await restorer.begin(partition, backing):
                while restorer.busy:
                    applied += sum(n for _, n in await restorer.step(max_wait_ms=100))
            return applied, time.perf_counter() - started
        finally:
            backing.close()
    finally:
        await consumer.stop()


def folder_bytes(folder: Path) -> int:
    """Bytes of every file under ``folder`` (none: 0)."""
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def _web(port: int) -> dict[str, str]:
    return {"CLEVER_WORKER_WEB_ENABLED": "true", "CLEVER_WORKER_WEB_PORT": str(port)}


def main(
    districts: Annotated[
        str, typer.Option(help="District counts, comma-separated (small ones on a shared box).")
    ] = "1000,10000",
    stores: Annotated[str, typer.Option(help="Table stores, comma-separated.")] = ",".join(STORES),
    partitions: Annotated[int, typer.Option(min=1, help="Partitions of the raw topic.")] = 6,
    timeout: Annotated[float, typer.Option(help="Bound on each measurement, seconds.")] = 900.0,
) -> None:
    """Measure the workers at fleet scale on a local broker (or KAFKA_BOOTSTRAP_SERVERS)."""
    from foundation.console import reporting_errors
    from localkafka import LocalKafkaSettings, local_kafka

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    for progress in ("bench", __name__):  # __main__ when run as python -m bench.worker_scale
        logging.getLogger(progress).setLevel(logging.INFO)
    console = Console(width=None if Console().is_terminal else 250)
    counts = tuple(int(count) for count in districts.split(",") if count.strip())
    chosen = tuple(store.strip() for store in stores.split(",") if store.strip())
    with (
        reporting_errors(console),
        tempfile.TemporaryDirectory(prefix="clever-stream-bench-") as state_dir,
        local_kafka(LocalKafkaSettings(state_dir=Path(state_dir))) as broker,
    ):
        figures = asyncio.run(
            run_worker_scale(
                broker.bootstrap_servers, districts=counts, stores=chosen,
                partitions=partitions, timeout_s=timeout,
            )
        )  # fmt: skip
        console.print(worker_scale_table(figures))


if __name__ == "__main__":
    typer.run(main)
