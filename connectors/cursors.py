"""Read the districts' cursors back from Kafka: the last ones committed transactions wrote.

The cursor topic is compacted and keyed by district; its partitions are the poller's shards.
Reading a shard's partition whole with ``read_committed`` up to its last stable offset gives,
for every district of the shard, the cursor of its last committed transaction, and nothing of
an aborted or still open one.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaConsumer, TopicPartition

from foundation.connection import KafkaConnection
from foundation.exceptions import KafkaUnavailableError
from foundation.reading import partition_counts, read_latest
from schemas.codec import Codec
from schemas.exceptions import DecodeError
from schemas.keys import district_key
from schemas.partitioning import partition_for
from schemas.records import PollerCursor

logger = logging.getLogger(__name__)


async def read_shard_cursors(
    kafka: KafkaConnection,
    *,
    topic: str,
    shard: int,
    codec: Codec,
    timeout_s: float,
) -> dict[str, PollerCursor]:
    """The last committed cursor of every district of shard ``shard`` (the cursor topic's
    partition of that number); a district reset by a tombstone, or whose cursor cannot be
    read, is left out: it starts over with a sync.

    Call it only after the shard's transactional producer has started: starting fences any
    older producer and settles its open transaction, so what is read here is final.
    """
    consumer = AIOKafkaConsumer(
        **kafka.client_options(),
        isolation_level="read_committed",
        enable_auto_commit=False,
        request_timeout_ms=int(timeout_s * 1000),
    )
    partition = TopicPartition(topic, shard)
    latest: dict[bytes, bytes | None] = {}
    try:
        async with asyncio.timeout(timeout_s):
            await consumer.start()
            consumer.assign([partition])
            await consumer.seek_to_beginning(partition)
            end = (await consumer.end_offsets([partition]))[partition]
            while await consumer.position(partition) < end:
                batches = await consumer.getmany(partition, timeout_ms=500)
                for message in batches.get(partition, []):
                    if message.key is not None:
                        # A tombstone (None) resets the district: it starts over with a sync.
                        latest[message.key] = message.value
    except TimeoutError as error:
        raise KafkaUnavailableError(
            f"reading shard {shard}'s cursors from {topic} took over {timeout_s:.0f}s",
            hint="check that Kafka is up and that the cursor topic exists "
            "(clever-stream topics create)",
        ) from error
    finally:
        await consumer.stop()
    cursors: dict[str, PollerCursor] = {}
    for key, value in latest.items():
        cursor = _decoded(codec, key, value, topic)
        if cursor is not None:
            cursors[cursor.district_id] = cursor
    return cursors


async def read_cursor(
    kafka: KafkaConnection,
    *,
    topic: str,
    district_id: str,
    codec: Codec,
    timeout_s: float,
) -> PollerCursor | None:
    """The district's last committed cursor, or None if it never had one (or was reset).

    Call it only when no poller is mid-transaction for the district's shard, or after its
    producer started (see :func:`read_shard_cursors`).
    """
    shards = (await partition_counts(kafka, [topic])).get(topic)
    if shards is None:
        return None  # no cursor topic yet: no district has a cursor
    shard = partition_for(district_key(district_id), shards)
    cursors = await read_shard_cursors(
        kafka, topic=topic, shard=shard, codec=codec, timeout_s=timeout_s
    )
    cursor = cursors.get(district_id)
    if cursor is not None:
        logger.info(
            "district %s: cursor %s, last event %s, sync %s",
            district_id,
            cursor.phase,
            cursor.last_event_id,
            cursor.sync_id,
        )
    return cursor


def _decoded(codec: Codec, key: bytes, value: bytes | None, topic: str) -> PollerCursor | None:
    if value is None:
        return None
    try:
        return codec.decode(value, PollerCursor)
    except DecodeError as error:
        # Never guess a position: a resync from the Data API is always correct.
        logger.warning(
            "district %s: its cursor on %s cannot be read (%s); it resyncs",
            key.decode("utf-8", errors="replace"),
            topic,
            error,
        )
        return None


async def read_all_cursors(
    kafka: KafkaConnection, *, topic: str, codec: Codec
) -> dict[str, PollerCursor]:
    """Every district's last committed cursor, by district ID (an unreadable one is left out
    with a warning: its poller resyncs the district anyway)."""
    cursors: dict[str, PollerCursor] = {}
    for value in (await read_latest(kafka, topic)).values():
        try:
            cursor = codec.decode(value, PollerCursor)
        except DecodeError as error:
            logger.warning("a cursor on %s cannot be read (%s); left out", topic, error)
            continue
        cursors[cursor.district_id] = cursor
    return cursors
