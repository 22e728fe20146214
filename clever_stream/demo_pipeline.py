"""The demo's pipeline: a fake Clever district with a trickle of changes, the poller, a
privilege worker, and what a downstream consumer sees of it, counted on the demo's screen.

Everything runs in the demo's own event loop, so Ctrl-C stops it all in order: the tails and
the lag watch, the poller (its open transaction aborted), the trickle, the worker, the fake
Clever server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError

from clever_stream.demo_screen import DemoScreen
from clever_stream.settings import CliSettings
from clever_stream.status import read_raw_partitions
from connectors.http import HttpOptions, new_http_client
from connectors.runner import PollerRunner
from connectors.settings import PollerSettings
from fakeclever import FakeClever, FakeDistrict
from foundation.connection import KafkaConnection
from schemas.codec import default_codec
from schemas.records import PrivilegeChange, RawCleverRecord
from schemas.topics import PRIVILEGE_CHANGES, RAW_EVENTS
from streams.engines import WorkerEngine, load_engine
from streams.service import prepare
from streams.settings import WorkerSettings

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
    changes_topic: str
    views_url: str


@contextlib.asynccontextmanager
async def demo_pipeline(
    kafka: KafkaConnection,
    settings: CliSettings,
    *,
    screen: DemoScreen,
    echo: Callable[[str], None] | None,
    shape: DemoDistrict,
    data_dir: Path,
) -> AsyncIterator[RunningPipeline]:
    """Start the fake Clever and its trickle, the poller, a worker, and the tails that count
    on ``screen`` what reaches the raw and changes topics (``echo`` prints each change's line
    too, when the screen is not drawn live)."""
    fake = FakeClever()
    district = fake.add_district(seed=shape.seed, contacts=shape.contacts)
    async with fake.serve(host="127.0.0.1", port=0) as clever_url:
        poller_settings = PollerSettings(
            CLEVER_STREAM_TOPIC_PREFIX=settings.topic_prefix,
            CLEVER_STREAM_TOPIC_PARTITIONS=settings.topic_partitions,
            base_url=clever_url,
            districts=[{"token": district.token, "district_id": district.id}],
            poll_interval_s=1.0,
        )
        web_port = _free_port()
        worker_settings = WorkerSettings(
            CLEVER_STREAM_TOPIC_PREFIX=settings.topic_prefix,
            CLEVER_STREAM_TOPIC_PARTITIONS=settings.topic_partitions,
            data_dir=data_dir,
            web_port=web_port,
        )
        raw_partitions, replicas = await prepare(worker_settings, kafka)
        changes_topic = PRIVILEGE_CHANGES.name(settings.topic_prefix)
        engine = load_engine(
            worker_settings, kafka=kafka, raw_partitions=raw_partitions, replicas=replicas
        )
        async with (
            _started(engine) as worker,
            new_http_client(HttpOptions(base_url=clever_url)) as http,
            asyncio.TaskGroup() as group,
        ):
            runner = PollerRunner(
                poller_settings,
                http=http,
                kafka=kafka,
                codec=default_codec(),
            )
            raw_topic = RAW_EVENTS.name(settings.topic_prefix)
            tasks = [
                group.create_task(_until_failed(worker), name="worker"),
                group.create_task(runner.run(), name="poller"),
                group.create_task(_trickle(district, shape), name="trickle"),
                group.create_task(_tail_changes(kafka, changes_topic, screen, echo), name="tail"),
                group.create_task(_tail_raw(kafka, raw_topic, screen), name="raw"),
                group.create_task(
                    _watch_lag(
                        kafka,
                        {raw_topic: raw_partitions},
                        group_id=worker_settings.group_id,
                        screen=screen,
                    ),
                    name="lag",
                ),
            ]
            try:
                yield RunningPipeline(
                    clever_url=clever_url,
                    district=district,
                    changes_topic=changes_topic,
                    views_url=f"http://127.0.0.1:{web_port}/districts/{district.id}",
                )
            finally:
                for task in tasks:
                    task.cancel()


@contextlib.asynccontextmanager
async def _started(engine: WorkerEngine) -> AsyncIterator[WorkerEngine]:
    """``engine`` started, stopped on exit."""
    await engine.start()
    try:
        yield engine
    finally:
        await engine.stop()


async def _until_failed(worker: WorkerEngine) -> None:
    """Wait on the worker: its failure ends the demo with its error."""
    await worker.wait()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _trickle(district: FakeDistrict, shape: DemoDistrict) -> None:
    """A steady trickle of Clever changes, as a district's nightly SIS sync would bring, with
    Clever's and SIS data's quirks: events re-sent under their own IDs, students deleted
    while their contacts still list them and brought back, cosmetic rewrites."""
    round_ = 0
    while True:
        await asyncio.sleep(shape.trickle_interval_s)
        round_ += 1
        seed = shape.seed * 1_000_003 + round_
        district.random_changes(shape.trickle_changes, seed=seed, quirks=True)


def _consumer(kafka: KafkaConnection, topic: str) -> AIOKafkaConsumer:
    """A downstream consumer's view of ``topic``: committed records, from the start."""
    return AIOKafkaConsumer(
        topic,
        **kafka.client_options(),
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )


async def _tail_changes(
    kafka: KafkaConnection, topic: str, screen: DemoScreen, echo: Callable[[str], None] | None
) -> None:
    """Each privilege change as a downstream read_committed consumer sees it."""
    codec = default_codec()
    consumer = _consumer(kafka, topic)
    await consumer.start()
    try:
        async for message in consumer:
            if message.value is None:  # the changes topic has no tombstones: nothing to show
                continue
            line = screen.change(codec.decode(message.value, PrivilegeChange))
            if echo is not None:
                echo(line)
    finally:
        await consumer.stop()


async def _tail_raw(kafka: KafkaConnection, topic: str, screen: DemoScreen) -> None:
    """Count what the poller commits to the raw topic: snapshot records and events."""
    codec = default_codec()
    consumer = _consumer(kafka, topic)
    await consumer.start()
    try:
        async for message in consumer:
            if message.value is not None:
                record = codec.decode(message.value, RawCleverRecord)
                screen.raw_record(record.district_id, record.kind)
    finally:
        await consumer.stop()


#: How often the demo asks Kafka for the workers' lag.
_LAG_INTERVAL_S = 2.0


async def _watch_lag(
    kafka: KafkaConnection, raw: dict[str, int], *, group_id: str, screen: DemoScreen
) -> None:
    """Keep ``screen.lag`` at the raw records the worker group has not committed yet (``raw``:
    the raw topic and its partition count)."""
    [raw_topic] = raw
    while True:
        with contextlib.suppress(KafkaError):
            found, _ = await read_raw_partitions(kafka, raw_topic, group_id, raw)
            screen.lag = sum(partition.lag for partition in found)
        await asyncio.sleep(_LAG_INTERVAL_S)
