"""Read a topic back in tests: one partition, from the beginning to where it ends now."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from aiokafka import AIOKafkaConsumer, TopicPartition


async def read_partition(
    bootstrap_servers: str,
    topic: str,
    *,
    partition: int = 0,
    isolation_level: Literal["read_committed", "read_uncommitted"] = "read_committed",
    timeout_s: float = 30,
) -> list[Any]:
    """Every record of ``topic[partition]`` up to its end offset as of the call (bounded).

    For ``read_committed`` the end is the last stable offset: nothing of an open
    transaction, and nothing of an aborted one, is returned.
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        isolation_level=isolation_level,
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        assigned = TopicPartition(topic, partition)
        consumer.assign([assigned])
        await consumer.seek_to_beginning(assigned)
        end = (await consumer.end_offsets([assigned]))[assigned]
        records: list[Any] = []

        async def read_to_end() -> None:
            while await consumer.position(assigned) < end:
                batches = await consumer.getmany(assigned, timeout_ms=500)
                records.extend(batches.get(assigned, []))

        await asyncio.wait_for(read_to_end(), timeout_s)
        return records
    finally:
        await consumer.stop()
