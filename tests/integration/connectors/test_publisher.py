"""The shard publisher and the cursor read-back on the real broker."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaProducer

from clever_stream.settings import CliSettings
from connectors.cursors import read_cursor
from connectors.exceptions import PollerFencedError
from connectors.publisher import PollerTopics, ShardPublisher
from foundation.connection import KafkaConnection
from schemas.codec import default_codec
from schemas.keys import district_key
from schemas.partitioning import partition_for
from schemas.provision import ensure_pipeline_topics
from schemas.records import PollerCursor, RawCleverRecord
from schemas.values import CursorPhase, RawRecordKind, RecordSource
from tests.raw_stream import read_raw

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def event(district_id: str, n: int) -> RawCleverRecord:
    return RawCleverRecord(
        district_id=district_id,
        api_version="v3.0",
        kind=RawRecordKind.EVENT,
        source=RecordSource.EVENTS,
        event_id=f"e{n:04d}",
        event_type="users.updated",
        record_type="users",
        record_id=f"u{n:04d}",
        fetched_at=NOW,
        clever_json="{}",
    )


def cursor_after(district_id: str, n: int) -> PollerCursor:
    return PollerCursor(
        district_id=district_id,
        api_version="v3.0",
        phase=CursorPhase.POLLING,
        last_event_id=f"e{n:04d}",
        updated_at=NOW,
    )


async def topics_for(kafka: KafkaConnection, prefix: str) -> PollerTopics:
    settings = CliSettings(CLEVER_STREAM_TOPIC_PREFIX=prefix)
    await ensure_pipeline_topics(kafka, settings, timeout_s=30)
    return PollerTopics.for_prefix(prefix)


SHARDS = 12


def shard_of(district_id: str) -> int:
    return partition_for(district_key(district_id), SHARDS)


def publisher(kafka: KafkaConnection, topics: PollerTopics, district_id: str) -> ShardPublisher:
    """The publisher of ``district_id``'s shard."""
    shard = shard_of(district_id)
    return ShardPublisher(
        kafka,
        shard=shard,
        shards=SHARDS,
        topics=topics,
        transactional_id=f"test-{topics.raw}-shard-{shard}",
        codec=default_codec(),
        timeout_s=30,
    )


def same_shard_as(district_id: str) -> str:
    """Another district ID of ``district_id``'s shard."""
    shard = shard_of(district_id)
    return next(f"d{n}" for n in range(2, 1000) if shard_of(f"d{n}") == shard)


async def test_records_and_cursor_commit_together_and_the_cursor_reads_back(
    bootstrap_servers: str,
    kafka_connection: KafkaConnection,
    unique_name: Callable[[str], str],
) -> None:
    topics = await topics_for(kafka_connection, unique_name("p"))
    async with publisher(kafka_connection, topics, "d1") as district:
        await district.commit([event("d1", 1), event("d1", 2)], cursor_after("d1", 2))
        await district.commit([event("d1", 3)], cursor_after("d1", 3))

    cursor = await read_cursor(
        kafka_connection,
        topic=topics.cursors,
        district_id="d1",
        codec=default_codec(),
        timeout_s=30,
    )
    assert cursor is not None
    assert cursor.last_event_id == "e0003"
    raw = await read_raw(bootstrap_servers, topics.raw)
    # The partition is the one Kafka's default partitioner gives the key, as for any producer.
    plain = AIOKafkaProducer(bootstrap_servers=bootstrap_servers)
    await plain.start()
    try:
        probe = await plain.send_and_wait(topics.raw, key=b"d1", value=b"probe")
    finally:
        await plain.stop()
    assert {partition for partition, _, _ in raw} == {probe.partition}
    assert [(key, record.event_id) for _, key, record in raw] == [
        ("d1", "e0001"),
        ("d1", "e0002"),
        ("d1", "e0003"),
    ]
    assert (
        await read_cursor(
            kafka_connection,
            topic=topics.cursors,
            district_id="d2",
            codec=default_codec(),
            timeout_s=30,
        )
        is None
    )


async def test_a_transaction_left_open_by_a_dead_poller_is_aborted_by_its_successor(
    bootstrap_servers: str,
    kafka_connection: KafkaConnection,
    unique_name: Callable[[str], str],
) -> None:
    topics = await topics_for(kafka_connection, unique_name("p"))
    async with publisher(kafka_connection, topics, "d1") as first:
        await first.commit([event("d1", 1)], cursor_after("d1", 1))
    # The poller's next incarnation dies with a page half sent: begun, sent, never committed.
    dead = AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        transactional_id=f"test-{topics.raw}-shard-{shard_of('d1')}",
        enable_idempotence=True,
    )
    await dead.start()
    await dead.begin_transaction()
    codec = default_codec()
    await dead.send_and_wait(topics.raw, key=b"d1", value=codec.encode(event("d1", 2)))
    await dead.send_and_wait(topics.cursors, key=b"d1", value=codec.encode(cursor_after("d1", 2)))
    try:
        async with publisher(kafka_connection, topics, "d1") as successor:
            cursor = await read_cursor(
                kafka_connection, topic=topics.cursors, district_id="d1", codec=codec, timeout_s=30
            )
            assert cursor is not None
            assert cursor.last_event_id == "e0001"
            await successor.commit([event("d1", 2)], cursor_after("d1", 2))
    finally:
        await dead.stop()

    raw = await read_raw(bootstrap_servers, topics.raw)
    assert [record.event_id for _, _, record in raw] == ["e0001", "e0002"]


async def test_pages_of_a_shards_districts_committed_at_once_each_carry_their_cursor(
    bootstrap_servers: str,
    kafka_connection: KafkaConnection,
    unique_name: Callable[[str], str],
) -> None:
    topics = await topics_for(kafka_connection, unique_name("p"))
    other = same_shard_as("d1")
    async with publisher(kafka_connection, topics, "d1") as shard:
        assert await shard.cursor_of("d1") is None
        await asyncio.gather(
            *(shard.commit([event("d1", n)], cursor_after("d1", n)) for n in range(1, 6)),
            *(shard.commit([event(other, n)], cursor_after(other, n)) for n in range(1, 6)),
        )
        assert (await shard.cursor_of("d1")) == cursor_after("d1", 5)
        with pytest.raises(ValueError, match="is not of shard"):
            await shard.commit(
                [],
                cursor_after(
                    next(f"x{n}" for n in range(99) if shard_of(f"x{n}") != shard.shard), 1
                ),
            )
    for district_id in ("d1", other):
        cursor = await read_cursor(
            kafka_connection,
            topic=topics.cursors,
            district_id=district_id,
            codec=default_codec(),
            timeout_s=30,
        )
        assert cursor == cursor_after(district_id, 5)
    raw = await read_raw(bootstrap_servers, topics.raw)
    for district_id in ("d1", other):
        events = [record.event_id for _, key, record in raw if key == district_id]
        assert events == [f"e{n:04d}" for n in range(1, 6)]


async def test_a_second_publisher_for_a_shard_fences_the_first(
    bootstrap_servers: str,
    kafka_connection: KafkaConnection,
    unique_name: Callable[[str], str],
) -> None:
    topics = await topics_for(kafka_connection, unique_name("p"))
    async with publisher(kafka_connection, topics, "d1") as first:
        await first.commit([event("d1", 1)], cursor_after("d1", 1))
        async with publisher(kafka_connection, topics, "d1") as second:
            with pytest.raises(PollerFencedError):
                await first.commit([event("d1", 2)], cursor_after("d1", 2))
            await second.commit([event("d1", 2)], cursor_after("d1", 2))

    raw = await read_raw(bootstrap_servers, topics.raw)
    assert [record.event_id for _, _, record in raw] == ["e0001", "e0002"]
