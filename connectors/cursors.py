"""Read the districts' cursors back from Kafka: the last ones committed transactions wrote.

The cursor topic is compacted and has one partition, so reading it whole with
``read_committed`` up to its last stable offset gives, for every district, the cursor of its
last committed transaction, and nothing of an aborted or still open one.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaConsumer, TopicPartition

from foundation.connection import KafkaConnection
from foundation.exceptions import KafkaUnavailableError
from foundation.reading import read_latest
from schemas.codec import Codec
from schemas.exceptions import DecodeError
from schemas.keys import district_key
from schemas.records import PollerCursor

logger = logging.getLogger(__name__)

CURSOR_PARTITION = 0


async def read_cursor(
    kafka: KafkaConnection,
    *,
    topic: str,
    district_id: str,
    codec: Codec,
    timeout_s: float,
) -> PollerCursor | None:
    """The district's last committed cursor, or None if it never had one.

    Call it only after the district's transactional producer has started: starting fences
    any older producer and settles its open transaction, so what is read here is final.
    """
    key = district_key(district_id)
    consumer = AIOKafkaConsumer(
        **kafka.client_options(),
        isolation_level="read_committed",
        enable_auto_commit=False,
        request_timeout_ms=int(timeout_s * 1000),
    )
    partition = TopicPartition(topic, CURSOR_PARTITION)
    latest: bytes | None = None
    try:
        async with asyncio.timeout(timeout_s):
            await consumer.start()
            consumer.assign([partition])
            await consumer.seek_to_beginning(partition)
            end = (await consumer.end_offsets([partition]))[partition]
            while await consumer.position(partition) < end:
                batches = await consumer.getmany(partition, timeout_ms=500)
                for message in batches.get(partition, []):
                    if message.key == key:
                        # A tombstone (None) resets the district: it starts over with a sync.
                        latest = message.value
    except TimeoutError as error:
        raise KafkaUnavailableError(
            f"reading the cursor of district {district_id} from {topic} took over {timeout_s:.0f}s",
            hint="check that Kafka is up and that the cursor topic exists "
            "(clever-stream topics create)",
        ) from error
    finally:
        await consumer.stop()
    if latest is None:
        return None
    try:
        cursor = codec.decode(latest, PollerCursor)
    except DecodeError as error:
        # Never guess a position: a resync from the Data API is always correct.
        logger.warning(
            "district %s: its cursor on %s cannot be read (%s); it resyncs",
            district_id,
            topic,
            error,
        )
        return None
    logger.info(
        "district %s: cursor %s, last event %s, sync %s",
        district_id,
        cursor.phase,
        cursor.last_event_id,
        cursor.sync_id,
    )
    return cursor


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
