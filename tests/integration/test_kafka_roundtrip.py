"""The broker the suite runs is a real Kafka: plain and transactional round trips with aiokafka."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from tests.conftest import TopicFactory

pytestmark = pytest.mark.integration


async def read_all(
    bootstrap_servers: str, topic: str, *, isolation_level: str, expected: int
) -> list[tuple[bytes | None, bytes | None]]:
    """Every record of partition 0 of ``topic``, until ``expected`` arrived (bounded)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        isolation_level=isolation_level,
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        await consumer.seek_to_beginning(partition)
        records: list[tuple[bytes | None, bytes | None]] = []

        async def collect() -> None:
            while len(records) < expected:
                batches = await consumer.getmany(partition, timeout_ms=500)
                records.extend((r.key, r.value) for r in batches.get(partition, []))

        await asyncio.wait_for(collect(), timeout=30)
        # Anything past what was expected would be a duplicate or a leaked abort.
        extra = await consumer.getmany(partition, timeout_ms=500)
        records.extend((r.key, r.value) for r in extra.get(partition, []))
        return records
    finally:
        await consumer.stop()


async def test_produced_records_come_back_in_order(
    bootstrap_servers: str, topic_factory: TopicFactory
) -> None:
    topic = await topic_factory()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all")
    await producer.start()
    try:
        for number in range(20):
            await producer.send(topic, key=b"district-1", value=str(number).encode())
        await producer.flush()
    finally:
        await producer.stop()

    records = await read_all(
        bootstrap_servers, topic, isolation_level="read_uncommitted", expected=20
    )

    assert records == [(b"district-1", str(n).encode()) for n in range(20)]


async def test_read_committed_sees_committed_transactions_and_never_aborted_ones(
    bootstrap_servers: str, topic_factory: TopicFactory, unique_name
) -> None:
    topic = await topic_factory()
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers, transactional_id=unique_name("tx")
    )
    await producer.start()  # init_transactions happens here
    try:
        async with producer.transaction():
            await producer.send(topic, key=b"k", value=b"committed-1")
        await producer.begin_transaction()
        await producer.send(topic, key=b"k", value=b"aborted")
        await producer.abort_transaction()
        async with producer.transaction():
            await producer.send(topic, key=b"k", value=b"committed-2")
    finally:
        await producer.stop()

    committed = await read_all(
        bootstrap_servers, topic, isolation_level="read_committed", expected=2
    )
    uncommitted = await read_all(
        bootstrap_servers, topic, isolation_level="read_uncommitted", expected=3
    )

    assert committed == [(b"k", b"committed-1"), (b"k", b"committed-2")]
    # The aborted record really reached the log: read_committed filtered it out.
    assert (b"k", b"aborted") in uncommitted
