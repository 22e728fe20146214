"""The broker the suite runs is a real Kafka: plain and transactional round trips with aiokafka."""

from __future__ import annotations

from typing import Literal

import pytest
from aiokafka import AIOKafkaProducer

from tests.conftest import TopicFactory
from tests.kafka_reading import read_partition

pytestmark = pytest.mark.integration


async def keys_and_values(
    bootstrap_servers: str,
    topic: str,
    isolation_level: Literal["read_committed", "read_uncommitted"],
) -> list[tuple[bytes | None, bytes | None]]:
    records = await read_partition(bootstrap_servers, topic, isolation_level=isolation_level)
    return [(record.key, record.value) for record in records]


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

    records = await keys_and_values(bootstrap_servers, topic, "read_uncommitted")

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

    committed = await keys_and_values(bootstrap_servers, topic, "read_committed")
    uncommitted = await keys_and_values(bootstrap_servers, topic, "read_uncommitted")

    assert committed == [(b"k", b"committed-1"), (b"k", b"committed-2")]
    # The aborted record really reached the log: read_committed filtered it out.
    assert uncommitted == [(b"k", b"committed-1"), (b"k", b"aborted"), (b"k", b"committed-2")]
