"""The worker as a service: its topics ensured, then the configured engine until stopped.

``CLEVER_WORKER_ENGINE`` picks the engine (``streams.engines.load_engine``): ``native``
(default) or ``faust``.
"""

from __future__ import annotations

import asyncio

from aiokafka.admin import AIOKafkaAdminClient

from foundation.admin import default_replication_factor
from foundation.console import LogOptions
from foundation.exceptions import ConfigurationError
from foundation.kafka_errors import kafka_errors
from schemas.provision import ensure_pipeline_topics
from streams.engines import load_engine
from streams.settings import WorkerSettings


def _bootstrap_servers(settings: WorkerSettings) -> str:
    if not settings.kafka_bootstrap_servers:
        raise ConfigurationError(
            "the worker needs a Kafka cluster",
            hint="set KAFKA_BOOTSTRAP_SERVERS (local-kafka start prints one)",
        )
    return settings.kafka_bootstrap_servers


async def prepare(settings: WorkerSettings) -> tuple[int, int]:
    """Create missing topics; the raw topic's partition count and the replication factor."""
    bootstrap_servers = _bootstrap_servers(settings)
    await ensure_pipeline_topics(bootstrap_servers, settings, timeout_s=60)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    with kafka_errors("describe the raw topic", bootstrap_servers):
        await admin.start()
        try:
            [raw] = await admin.describe_topics([settings.topics.raw])
            replicas = settings.topic_replication_factor or await default_replication_factor(admin)
        finally:
            await admin.close()
    return len(raw["partitions"]), replicas


def run_worker(settings: WorkerSettings, *, log: LogOptions) -> None:
    """Run one worker of the group until SIGTERM or Ctrl-C, with the configured engine."""
    raw_partitions, replicas = asyncio.run(prepare(settings))
    engine = load_engine(settings, raw_partitions=raw_partitions, replicas=replicas)
    engine.serve(log=log)
