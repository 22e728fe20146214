"""Read a whole topic as it stands now, as a ``read_committed`` consumer finds it.

The commands that inspect a deployment (status, dead letters, partitions grow) read small or
compacted topics from their first record to their last stable offset: every committed record,
nothing of an aborted or still open transaction. No group is joined and nothing is committed.
"""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from foundation.connection import KafkaConnection
from foundation.kafka_errors import retrying

#: How long one fetch waits for records before the reader asks again.
_FETCH_WAIT_MS = 500


async def partition_counts(kafka: KafkaConnection, topics: list[str]) -> dict[str, int]:
    """How many partitions each of ``topics`` that exists has (a missing one is left out)."""
    admin = AIOKafkaAdminClient(**kafka.client_options())
    await admin.start()
    try:
        present = sorted(set(topics) & set(await admin.list_topics()))
        described = await admin.describe_topics(present) if present else []
    finally:
        await admin.close()
    return {topic["topic"]: len(topic["partitions"]) for topic in described}


async def read_committed(
    kafka: KafkaConnection, topic: str, partitions: int
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every committed record of ``topic``'s first ``partitions`` partitions now, partition by
    partition in offset order (none if ``partitions`` is 0)."""
    tps = [TopicPartition(topic, partition) for partition in range(partitions)]
    if not tps:
        return []
    consumer = AIOKafkaConsumer(
        **kafka.client_options(),
        isolation_level="read_committed",
        enable_auto_commit=False,
    )
    try:
        await consumer.start()
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        found: list[ConsumerRecord[bytes, bytes]] = []
        for tp in tps:
            while await consumer.position(tp) < ends[tp]:
                batches = await consumer.getmany(tp, timeout_ms=_FETCH_WAIT_MS)
                found.extend(batches.get(tp, []))
        return found
    finally:
        await consumer.stop()


async def read_latest(kafka: KafkaConnection, topic: str) -> dict[bytes, bytes]:
    """A compacted topic as it stands: each key's last committed value, tombstoned keys left
    out (an empty dict if the topic does not exist)."""
    counts = await partition_counts(kafka, [topic])
    latest: dict[bytes, bytes | None] = {}
    for record in await read_committed(kafka, topic, counts.get(topic, 0)):
        if record.key is not None:
            latest[record.key] = record.value
    return {key: value for key, value in latest.items() if value is not None}


async def group_offsets(kafka: KafkaConnection, group_id: str) -> dict[TopicPartition, int]:
    """The offsets ``group_id`` has committed, by partition (empty for a group that never
    committed), without joining the group; a coordinator still being elected is waited for."""
    admin = AIOKafkaAdminClient(**kafka.client_options())
    await admin.start()
    try:
        committed = await retrying(lambda: admin.list_consumer_group_offsets(group_id))
    finally:
        await admin.close()
    return {tp: found.offset for tp, found in committed.items()}
