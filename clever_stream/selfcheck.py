"""Prove a cluster serves what the pipeline relies on: a transactional write read back.

The pipeline's exactly-once guarantees rest on transactions and ``read_committed`` consumers,
so the check writes one record in an aborted transaction and one in a committed one, and
passes only if a ``read_committed`` reader sees the committed record and not the aborted one.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from foundation.connection import KafkaConnection
from foundation.exceptions import SelfCheckError
from foundation.kafka_errors import kafka_errors

logger = logging.getLogger(__name__)

ABORTED_VALUE = b"aborted"
COMMITTED_VALUE = b"committed"


@dataclass(frozen=True)
class RoundTrip:
    """Where the committed record landed and how long it took to read back."""

    topic: str
    partition: int
    offset: int
    latency_ms: float


async def transactional_round_trip(
    kafka: KafkaConnection, *, topic: str, timeout_s: float
) -> RoundTrip:
    """Abort one write, commit another, and read back with ``read_committed``."""
    token = uuid.uuid4().hex
    producer = AIOKafkaProducer(
        **kafka.client_options(),
        transactional_id=f"clever-stream-selfcheck-{token}",
        enable_idempotence=True,
        acks="all",
        request_timeout_ms=int(timeout_s * 1000),
    )
    consumer = AIOKafkaConsumer(
        **kafka.client_options(),
        isolation_level="read_committed",
        enable_auto_commit=False,
        request_timeout_ms=int(timeout_s * 1000),
    )
    key = token.encode()
    try:
        with kafka_errors("run the self-check", kafka):
            async with asyncio.timeout(timeout_s):
                await producer.start()
                await producer.begin_transaction()
                aborted = await producer.send_and_wait(topic, key=key, value=ABORTED_VALUE)
                await producer.abort_transaction()
                started = time.perf_counter()
                async with producer.transaction():
                    committed = await producer.send_and_wait(topic, key=key, value=COMMITTED_VALUE)
                await consumer.start()
                partition = TopicPartition(topic, aborted.partition)
                consumer.assign([partition])
                consumer.seek(partition, aborted.offset)
                record = await consumer.getone()
                latency_ms = (time.perf_counter() - started) * 1000
    except TimeoutError as error:
        raise SelfCheckError(
            f"the transactional round trip through {topic} took over {timeout_s:.0f}s",
            hint="check that the cluster allows transactions (transaction.state.log.* settings "
            "fit its size) and that this client can reach every broker",
        ) from error
    finally:
        await consumer.stop()
        await producer.stop()
    if record.key != key or record.value != COMMITTED_VALUE or record.offset != committed.offset:
        raise SelfCheckError(
            f"read_committed returned offset {record.offset} with value {record.value!r} "
            f"where offset {committed.offset} with the committed record was expected",
            hint="the cluster does not honour transactions: exactly-once cannot work on it",
        )
    logger.info(
        "round trip through %s[%d]@%d in %.1f ms",
        topic,
        committed.partition,
        committed.offset,
        latency_ms,
    )
    return RoundTrip(
        topic=topic, partition=committed.partition, offset=committed.offset, latency_ms=latency_ms
    )
