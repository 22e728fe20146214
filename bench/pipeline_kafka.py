"""Kafka for the pipeline benchmark: topics, raw records published as pollers do, group progress.

Progress is read the way an operator reads it, from a consumer group's committed offsets,
so the worker and the baseline loop are timed alike, each in a process of its own.
"""

from __future__ import annotations

import asyncio
import logging
from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import CoordinatorLoadInProgressError, GroupCoordinatorNotAvailableError

from bench.pipeline_workload import RawEvent, pages
from bench.producers import transactional_producer
from foundation.connection import KafkaConnection
from foundation.settings import KafkaSettings
from schemas.provision import ensure_pipeline_topics

T = TypeVar("T")

logger = logging.getLogger(__name__)


async def create_topics(bootstrap_servers: str, *, prefix: str, partitions: int) -> None:
    """The pipeline's topics under ``prefix``, as ``clever-stream topics create`` makes them."""
    settings = KafkaSettings(
        KAFKA_BOOTSTRAP_SERVERS=bootstrap_servers,
        CLEVER_STREAM_TOPIC_PREFIX=prefix,
        CLEVER_STREAM_TOPIC_PARTITIONS=partitions,
    )
    await ensure_pipeline_topics(KafkaConnection(bootstrap_servers), settings, timeout_s=60)


async def publish(
    bootstrap_servers: str, topic: str, events: list[RawEvent], *, page_size: int
) -> None:
    """``events`` on ``topic`` keyed by district, one transaction per page, as pollers write."""
    async with transactional_producer(bootstrap_servers, name="pipeline") as producer:
        for page in pages(events, page_size):
            async with producer.transaction():
                for event in page:
                    await producer.send(topic, key=event.key, value=event.value)


@dataclass(frozen=True)
class TopicRecords:
    """Where a topic's records sit: offsets of data records per partition, markers excluded.

    Transaction markers take offsets too, so offsets alone would over-count the records a
    group has committed past; these count them exactly.
    """

    offsets: dict[int, list[int]]

    @property
    def total(self) -> int:
        """Records on the topic."""
        return sum(len(found) for found in self.offsets.values())

    def below(self, committed: dict[int, int]) -> int:
        """Records before the ``committed`` offsets (partition -> next offset to read)."""
        return sum(
            bisect_left(found, committed.get(partition, 0))
            for partition, found in self.offsets.items()
        )

    def all_below(self, committed: dict[int, int]) -> bool:
        """Whether ``committed`` is past the last record of every partition."""
        return all(
            not found or committed.get(partition, 0) > found[-1]
            for partition, found in self.offsets.items()
        )


async def topic_records(
    bootstrap_servers: str, topic: str, *, partitions: int, timeout_s: float
) -> TopicRecords:
    """The offsets of every committed record of ``topic``, read with ``read_committed``."""
    return TopicRecords(
        await read_committed(
            bootstrap_servers,
            topic,
            partitions=partitions,
            timeout_s=timeout_s,
            keep=lambda message: message.offset,
        )
    )


async def read_committed(
    bootstrap_servers: str,
    topic: str,
    *,
    partitions: int,
    timeout_s: float,
    keep: Callable[[ConsumerRecord[bytes, bytes]], T],
) -> dict[int, list[T]]:
    """``keep`` of every committed record of ``topic``, by partition in offset order, read
    with ``read_committed`` up to where the topic ends now."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        isolation_level="read_committed",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        assigned = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        ends = await consumer.end_offsets(assigned)
        found: dict[int, list[T]] = {tp.partition: [] for tp in assigned}
        async with asyncio.timeout(timeout_s):
            while await _behind(consumer, ends):
                for tp, messages in (await consumer.getmany(timeout_ms=500)).items():
                    found[tp.partition] += [keep(message) for message in messages]
        return found
    finally:
        await consumer.stop()


async def _behind(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
    for partition, end in ends.items():
        if await consumer.position(partition) < end:
            return True
    return False


class GroupOffsets:
    """Reads consumer groups' committed offsets (start it with ``async with``)."""

    def __init__(self, bootstrap_servers: str) -> None:
        self._admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)

    async def __aenter__(self) -> GroupOffsets:
        await self._admin.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._admin.close()

    async def committed(self, group_id: str, topic: str) -> dict[int, int]:
        """Partition -> the group's committed offset on ``topic`` (none yet: absent).

        A broker creates its offsets topic on the first group's first request, so its
        coordinator may be a moment away: no coordinator yet means no commits yet.
        """
        try:
            offsets = await self._admin.list_consumer_group_offsets(group_id)
        except (GroupCoordinatorNotAvailableError, CoordinatorLoadInProgressError):
            return {}
        return {
            tp.partition: meta.offset
            for tp, meta in offsets.items()
            if tp.topic == topic and meta.offset >= 0
        }

    async def delete_topics(self, prefixes: Iterable[str]) -> None:
        """Delete every topic whose name starts with one of ``prefixes`` (best effort)."""
        starts = tuple(prefixes)
        try:
            names = [name for name in await self._admin.list_topics() if name.startswith(starts)]
            if names:
                await self._admin.delete_topics(names, timeout_ms=30_000)
        except Exception as error:  # cleanup must not hide the figures or the real error
            logger.warning("could not delete the benchmark's topics: %r", error)
