"""The worker as a service: its topics ensured, then the configured engine until stopped.

``CLEVER_WORKER_ENGINE`` picks the engine (``streams.engines.load_engine``): ``native``
(default) or ``faust``.
"""

from __future__ import annotations

import asyncio

from aiokafka.admin import AIOKafkaAdminClient

from foundation.admin import default_replication_factor
from foundation.connection import KafkaConnection
from foundation.console import LogOptions
from foundation.kafka_errors import kafka_errors, retrying
from schemas.provision import ensure_pipeline_topics
from streams.engines import load_engine
from streams.settings import WorkerSettings


def worker_connection(settings: WorkerSettings) -> KafkaConnection:
    """The worker's cluster and its security, checked now; without KAFKA_BOOTSTRAP_SERVERS,
    a ``ConfigurationError`` saying what to set."""
    return settings.kafka_connection(
        hint="set KAFKA_BOOTSTRAP_SERVERS (local-kafka start prints one)"
    )


async def prepare(settings: WorkerSettings, kafka: KafkaConnection) -> tuple[int, int]:
    """Create missing topics; the raw topic's partition count and the replication factor."""
    await ensure_pipeline_topics(kafka, settings, timeout_s=60)
    admin = AIOKafkaAdminClient(**kafka.client_options())

    async def describe() -> tuple[int, int]:
        [raw] = await admin.describe_topics([settings.topics.raw])
        replicas = settings.topic_replication_factor or await default_replication_factor(admin)
        return len(raw["partitions"]), replicas

    with kafka_errors("describe the raw topic", kafka):
        await admin.start()
        try:
            # A broker that just died stays in the metadata for seconds: try another.
            return await retrying(describe, timeout_s=60)
        finally:
            await admin.close()


def run_worker(settings: WorkerSettings, *, log: LogOptions) -> None:
    """Run one worker of the group until SIGTERM or Ctrl-C, with the configured engine."""
    kafka = worker_connection(settings)
    raw_partitions, replicas = asyncio.run(prepare(settings, kafka))
    engine = load_engine(settings, kafka=kafka, raw_partitions=raw_partitions, replicas=replicas)
    engine.serve(log=log)
