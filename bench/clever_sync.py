"""The poller's initial sync of large districts, and its steady event rate, measured for real.

Both the fake Clever and the poller run as processes of their own (``python -m
bench.fake_server`` and ``python -m connectors run``), so the poller's resident memory is its
own. Progress is read the way a restarted poller reads it, from the committed cursor.

The event rate is shown next to a bare transactional producer publishing the very same
records (read back from the raw topic) in transactions of the same size, side by side: the
ratio says what the HTTP fetch, the mapping and the cursor cost on top of Kafka itself.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.exceptions import BenchError, StepTimeoutError
from bench.fake_server import FakeCleverProcess, fake_clever
from bench.producers import transactional_producer
from connectors.cursors import read_cursor
from connectors.publisher import PollerTopics
from connectors.settings import PollerSettings
from foundation.connection import KafkaConnection
from schemas.codec import default_codec
from schemas.provision import ensure_pipeline_topics
from schemas.records import PollerCursor
from schemas.values import CursorPhase

logger = logging.getLogger(__name__)
MIB = 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class SyncBenchConfig:
    """What to measure: district sizes, page sizes, and the steady-state backlog."""

    sizes: tuple[int, ...] = (100_000, 1_000_000)
    snapshot_page_size: int = 10_000
    events_page_size: int = 1000
    steady_changes: int = 20_000
    timeout_s: float = 900.0


@dataclass(frozen=True, kw_only=True)
class SyncFigures:
    """One district size: how long the sync took and the poller's memory along the way."""

    contacts: int
    records: int
    seconds: float
    peak_rss_mib: float
    #: (records synced so far, RSS MiB) samples over the sync.
    rss_samples: list[tuple[int, float]] = field(default_factory=list)

    @property
    def records_per_s(self) -> float:
        """Snapshot records committed per second."""
        return self.records / self.seconds


@dataclass(frozen=True, kw_only=True)
class SteadyFigures:
    """Events from fake Clever to committed transaction, next to a bare producer."""

    events: int
    poller_events_per_s: float
    bare_events_per_s: float

    @property
    def ratio(self) -> float:
        """The poller's rate over the bare producer's."""
        return self.poller_events_per_s / self.bare_events_per_s


async def run_sync_bench(
    bootstrap_servers: str, config: SyncBenchConfig
) -> tuple[list[SyncFigures], SteadyFigures | None]:
    """Sync each size in turn; measure the steady rate on the smallest."""
    syncs: list[SyncFigures] = []
    steady: SteadyFigures | None = None
    for index, contacts in enumerate(sorted(config.sizes)):
        async with fake_clever(contacts=contacts) as fake:
            prefix = f"bench-sync-{uuid.uuid4().hex[:8]}"
            settings = _settings(bootstrap_servers, prefix, fake.hello, config)
            await ensure_pipeline_topics(KafkaConnection(bootstrap_servers), settings, timeout_s=60)
            async with _poller(settings) as poller:
                syncs.append(await _measure_sync(settings, fake.hello, poller, contacts, config))
                if index == 0 and config.steady_changes:
                    steady = await _measure_steady(settings, fake, config)
    return syncs, steady


def _settings(
    bootstrap_servers: str, prefix: str, hello: dict[str, Any], config: SyncBenchConfig
) -> PollerSettings:
    return PollerSettings(
        KAFKA_BOOTSTRAP_SERVERS=bootstrap_servers,
        CLEVER_STREAM_TOPIC_PREFIX=prefix,
        base_url=hello["base_url"],
        districts=[{"token": hello["token"], "district_id": hello["district_id"]}],
        snapshot_page_size=config.snapshot_page_size,
        events_page_size=config.events_page_size,
        poll_interval_s=0.2,
        read_timeout_s=120.0,
    )


@asynccontextmanager
async def _poller(settings: PollerSettings) -> AsyncIterator[asyncio.subprocess.Process]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLEVER_")}
    env.update(
        KAFKA_BOOTSTRAP_SERVERS=settings.kafka_bootstrap_servers or "",
        CLEVER_STREAM_TOPIC_PREFIX=settings.topic_prefix,
        CLEVER_POLLER_BASE_URL=settings.base_url,
        CLEVER_POLLER_DISTRICTS=json.dumps(
            [
                {"token": d.token.get_secret_value(), "district_id": d.district_id}
                for d in settings.districts
            ]
        ),
        CLEVER_POLLER_SNAPSHOT_PAGE_SIZE=str(settings.snapshot_page_size),
        CLEVER_POLLER_EVENTS_PAGE_SIZE=str(settings.events_page_size),
        CLEVER_POLLER_POLL_INTERVAL_S=str(settings.poll_interval_s),
        CLEVER_POLLER_READ_TIMEOUT_S=str(settings.read_timeout_s),
    )
    with tempfile.TemporaryFile() as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "connectors", "run", env=env, stderr=log
        )
        try:
            yield process
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(process.wait(), 60)
                except TimeoutError:
                    process.kill()
                    await process.wait()


def _rss_mib(pid: int, field_name: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field_name}:"):
            return int(line.split()[1]) * 1024 / MIB
    return 0.0


async def _cursor(settings: PollerSettings, district_id: str) -> PollerCursor | None:
    return await read_cursor(
        KafkaConnection(settings.kafka_bootstrap_servers or ""),
        topic=PollerTopics.for_prefix(settings.topic_prefix).cursors,
        district_id=district_id,
        codec=default_codec(),
        timeout_s=60,
    )


async def _measure_sync(
    settings: PollerSettings,
    hello: dict[str, Any],
    poller: asyncio.subprocess.Process,
    contacts: int,
    config: SyncBenchConfig,
) -> SyncFigures:
    started = time.perf_counter()
    samples: list[tuple[int, float]] = []
    deadline = started + config.timeout_s
    while time.perf_counter() < deadline:
        if poller.returncode is not None:
            raise BenchError(
                f"the poller exited ({poller.returncode}) during the sync",
                hint="run it by hand with --verbose to see why",
            )
        cursor = await _cursor(settings, hello["district_id"])
        rss = _rss_mib(poller.pid)
        if cursor is not None and cursor.phase == CursorPhase.POLLING:
            seconds = time.perf_counter() - started
            figures = SyncFigures(
                contacts=contacts,
                records=cursor.sync_records or 0,
                seconds=seconds,
                peak_rss_mib=_rss_mib(poller.pid, "VmHWM"),
                rss_samples=samples,
            )
            logger.info("synced %d contacts in %.1fs", contacts, seconds)
            return figures
        samples.append((cursor.sync_records or 0 if cursor else 0, rss))
        await asyncio.sleep(1.0)
    raise StepTimeoutError(f"the sync of {contacts:,} contacts", config.timeout_s)


async def _measure_steady(
    settings: PollerSettings, fake: FakeCleverProcess, config: SyncBenchConfig
) -> SteadyFigures:
    answer = await fake.ask(f"changes {config.steady_changes}")
    started = time.perf_counter()
    events, newest = int(answer["events"]), answer["newest"]
    deadline = started + config.timeout_s
    while time.perf_counter() < deadline:
        cursor = await _cursor(settings, fake.hello["district_id"])
        if cursor is not None and cursor.last_event_id == newest:
            break
        await asyncio.sleep(0.1)
    else:
        raise StepTimeoutError(f"polling {events:,} events", config.timeout_s)
    poller_rate = events / (time.perf_counter() - started)
    bare_rate = await _bare_publish_rate(settings, events, config.events_page_size)
    return SteadyFigures(
        events=events, poller_events_per_s=poller_rate, bare_events_per_s=bare_rate
    )


async def _bare_publish_rate(settings: PollerSettings, events: int, page: int) -> float:
    """Republish the last ``events`` raw records with a bare transactional producer."""
    bootstrap_servers = settings.kafka_bootstrap_servers or ""
    topics = PollerTopics.for_prefix(settings.topic_prefix)
    messages = await _last_messages(
        bootstrap_servers, topics.raw, events, partitions=settings.topic_partitions
    )
    target = topics.dead_letters  # an existing topic of the run, otherwise unused here
    async with transactional_producer(bootstrap_servers, name="bare") as producer:
        started = time.perf_counter()
        for first in range(0, len(messages), page):
            async with producer.transaction():
                for key, value in messages[first : first + page]:
                    await producer.send(target, key=key, value=value)
        return len(messages) / (time.perf_counter() - started)


async def _last_messages(
    bootstrap_servers: str, topic: str, count: int, *, partitions: int
) -> list[tuple[bytes, bytes]]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers, isolation_level="read_committed"
    )
    await consumer.start()
    try:
        assigned = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(assigned)
        ends = await consumer.end_offsets(assigned)
        found: list[tuple[bytes, bytes]] = []
        for partition in assigned:
            # Transaction markers take offsets too: a tenth more covers one per page.
            consumer.seek(partition, max(0, ends[partition] - count - count // 10))
        while len(found) < count and await _behind(consumer, ends):
            batches = await consumer.getmany(timeout_ms=1000)
            for batch in batches.values():
                found.extend((m.key, m.value) for m in batch if m.key and m.value)
        return found[-count:]
    finally:
        await consumer.stop()


async def _behind(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
    for partition, end in ends.items():
        if await consumer.position(partition) < end:
            return True
    return False
