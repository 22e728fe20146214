"""The benchmarks' transactional producer: the settings every bare-Kafka baseline shares."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiokafka import AIOKafkaProducer


@asynccontextmanager
async def transactional_producer(
    bootstrap_servers: str, *, name: str
) -> AsyncIterator[AIOKafkaProducer]:
    """A started transactional producer (acks=all, 5 ms linger, as the poller's), stopped after.

    Its transactional ID is ``bench-<name>-<random>``: each run fences nothing of another's.
    """
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        transactional_id=f"bench-{name}-{uuid.uuid4().hex[:8]}",
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
    )
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()
