"""Create the pipeline's topics (``ALL_TOPICS``) where they are missing."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient

from foundation.admin import TopicOutcome, default_replication_factor, ensure_topics
from foundation.connection import KafkaConnection
from foundation.kafka_errors import kafka_errors, retrying
from foundation.settings import KafkaSettings
from schemas.topics import ALL_TOPICS, TopicSpec


async def ensure_pipeline_topics(
    kafka: KafkaConnection, settings: KafkaSettings, *, timeout_s: float
) -> list[TopicOutcome[TopicSpec]]:
    """Create every topic of the pipeline (``schemas.topics.ALL_TOPICS``) that is missing.

    Retriable errors are tried again for up to ``timeout_s``: a broker that just died is
    still in the metadata for a few seconds, and a request sent to it fails.
    """
    admin = AIOKafkaAdminClient(**kafka.client_options(), request_timeout_ms=int(timeout_s * 1000))

    async def ensure() -> list[TopicOutcome[TopicSpec]]:
        replicas = settings.topic_replication_factor or await default_replication_factor(admin)
        return await ensure_topics(
            admin,
            ALL_TOPICS,
            prefix=settings.topic_prefix,
            partitions=settings.topic_partitions,
            replication_factor=replicas,
            timeout_ms=int(timeout_s * 1000),
        )

    with kafka_errors("create the pipeline's topics", kafka):
        try:
            await admin.start()
            return await retrying(ensure, timeout_s=timeout_s)
        finally:
            await admin.close()
