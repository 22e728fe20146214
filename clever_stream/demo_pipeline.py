"""The demo's pipeline: a fake Clever district with a trickle of changes, the poller, a tail.

Everything runs in the demo's own event loop, so Ctrl-C stops it all in order: the tail, the
poller (its open transaction aborted), the trickle, the fake Clever server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer
from rich.console import Console

from clever_stream.settings import CliSettings
from connectors.http import HttpOptions, new_http_client
from connectors.runner import PollerRunner
from connectors.settings import PollerSettings
from fakeclever import FakeClever, FakeDistrict
from schemas.codec import default_codec
from schemas.records import RawCleverRecord
from schemas.topics import RAW_EVENTS
from schemas.values import RawRecordKind

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class DemoDistrict:
    """The size and pace of the demo's fake district."""

    seed: int = 1
    contacts: int = 200
    trickle_interval_s: float = 2.0
    trickle_changes: int = 3


@dataclass(frozen=True)
class RunningPipeline:
    """What the demo prints about the pipeline it started."""

    clever_url: str
    district: FakeDistrict
    raw_topic: str


@contextlib.asynccontextmanager
async def demo_pipeline(
    bootstrap_servers: str, settings: CliSettings, *, console: Console, shape: DemoDistrict
) -> AsyncIterator[RunningPipeline]:
    """Start the fake Clever, its trickle, the poller and a tail of the raw topic."""
    fake = FakeClever()
    district = fake.add_district(seed=shape.seed, contacts=shape.contacts)
    async with fake.serve(host="127.0.0.1", port=0) as clever_url:
        poller_settings = PollerSettings(
            KAFKA_BOOTSTRAP_SERVERS=bootstrap_servers,
            CLEVER_STREAM_TOPIC_PREFIX=settings.topic_prefix,
            base_url=clever_url,
            districts=[{"token": district.token, "district_id": district.id}],
            poll_interval_s=1.0,
        )
        raw_topic = RAW_EVENTS.name(settings.topic_prefix)
        async with (
            new_http_client(HttpOptions(base_url=clever_url)) as http,
            asyncio.TaskGroup() as group,
        ):
            runner = PollerRunner(
                poller_settings,
                http=http,
                bootstrap_servers=bootstrap_servers,
                codec=default_codec(),
            )
            tasks = [
                group.create_task(runner.run(), name="poller"),
                group.create_task(_trickle(district, shape), name="trickle"),
                group.create_task(_tail(bootstrap_servers, raw_topic, console), name="tail"),
            ]
            try:
                yield RunningPipeline(clever_url=clever_url, district=district, raw_topic=raw_topic)
            finally:
                for task in tasks:
                    task.cancel()


async def _trickle(district: FakeDistrict, shape: DemoDistrict) -> None:
    """A steady trickle of Clever changes, as a district's nightly SIS sync would bring."""
    round_ = 0
    while True:
        await asyncio.sleep(shape.trickle_interval_s)
        round_ += 1
        district.random_changes(shape.trickle_changes, seed=shape.seed * 1_000_003 + round_)


async def _tail(bootstrap_servers: str, topic: str, console: Console) -> None:
    """Print what the poller commits, as a downstream read_committed consumer sees it."""
    codec = default_codec()
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap_servers,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    snapshot = 0
    try:
        async for message in consumer:
            record = codec.decode(message.value, RawCleverRecord)
            if record.kind == RawRecordKind.SNAPSHOT:
                snapshot += 1
                continue
            console.print(_describe(record, snapshot), highlight=False, soft_wrap=True)
            if record.kind == RawRecordKind.SYNC_COMPLETED:
                snapshot = 0
    finally:
        await consumer.stop()


def _describe(record: RawCleverRecord, snapshot: int) -> str:
    where = f"district {record.district_id}"
    if record.kind == RawRecordKind.SYNC_STARTED:
        return f"{where}: {record.source.lower()} {record.sync_id} started"
    if record.kind == RawRecordKind.SYNC_COMPLETED:
        return (
            f"{where}: sync {record.sync_id} completed, {snapshot} snapshot records "
            f"(students and contacts)"
        )
    return f"{where}: event {record.event_id} {record.event_type} {record.record_id}"
