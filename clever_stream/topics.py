"""What ``clever-stream topics`` shows: the pipeline's topics as defined, and on the cluster."""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from foundation.connection import KafkaConnection
from foundation.kafka_errors import kafka_errors
from schemas.topics import ALL_TOPICS, TopicSpec


@dataclass(frozen=True, kw_only=True)
class TopicOnCluster:
    """One topic of the pipeline as the cluster has it (``partitions`` 0: missing)."""

    name: str
    spec: TopicSpec
    partitions: int
    replicas: int
    records: int


def definition_lines(spec: TopicSpec, *, partitions: int) -> tuple[str, str]:
    """One topic's definition, after its name: its key; its value, partitions, cleanup and
    retention."""
    retention = (
        "kept forever" if spec.retention_ms < 0 else f"kept {spec.retention_ms / 3_600_000:g} h"
    )
    value = spec.value.__name__ if spec.value else "bytes"
    count = spec.partitions or partitions
    return f"key: {spec.key}", f"{value}, {count} partitions, {spec.cleanup_policy}, {retention}"


async def describe_topics(kafka: KafkaConnection, *, prefix: str) -> list[TopicOnCluster]:
    """Each topic of the pipeline under ``prefix`` as the cluster has it: partitions, replicas
    of its first partition, and the records a read_committed reader finds in it."""
    names = {spec.name(prefix): spec for spec in ALL_TOPICS}
    admin = AIOKafkaAdminClient(**kafka.client_options())
    consumer = AIOKafkaConsumer(**kafka.client_options(), isolation_level="read_committed")
    with kafka_errors("describe the pipeline's topics", kafka):
        try:
            await admin.start()
            await consumer.start()
            present = sorted(set(names) & set(await admin.list_topics()))
            described = await admin.describe_topics(present) if present else []
            found: dict[str, tuple[int, int, int]] = {}
            for topic in described:
                partitions = topic["partitions"]
                tps = [TopicPartition(topic["topic"], p["partition"]) for p in partitions]
                begins = await consumer.beginning_offsets(tps)
                ends = await consumer.end_offsets(tps)
                replicas = len(partitions[0]["replicas"]) if partitions else 0
                records = sum(ends[tp] - begins[tp] for tp in tps)
                found[topic["topic"]] = (len(partitions), replicas, records)
        finally:
            await consumer.stop()
            await admin.close()
    return [
        TopicOnCluster(
            name=name,
            spec=spec,
            partitions=found.get(name, (0, 0, 0))[0],
            replicas=found.get(name, (0, 0, 0))[1],
            records=found.get(name, (0, 0, 0))[2],
        )
        for name, spec in names.items()
    ]
