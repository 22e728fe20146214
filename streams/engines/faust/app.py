"""Build the Faust app from settings; nothing connects until the app starts."""

from __future__ import annotations

import faust

from foundation.exceptions import ConfigurationError
from streams.engines.faust.fixes import apply_faust_fixes
from streams.settings import WorkerSettings


def create_app(settings: WorkerSettings, *, replication_factor: int) -> faust.App:
    """A Faust app on the aiokafka driver, configured from ``settings``.

    ``replication_factor`` is passed in rather than read from settings because its default
    depends on the cluster (see ``foundation.admin.default_replication_factor``).
    """
    if not settings.kafka_bootstrap_servers:
        raise ConfigurationError(
            "a worker needs Kafka, and KAFKA_BOOTSTRAP_SERVERS is not set",
            hint="export KAFKA_BOOTSTRAP_SERVERS=host:port",
        )
    apply_faust_fixes()
    brokers = [
        f"kafka://{server.strip()}" for server in settings.kafka_bootstrap_servers.split(",")
    ]
    return faust.App(
        settings.group_id,
        broker=brokers,
        store=settings.store,
        processing_guarantee=settings.processing_guarantee,
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=replication_factor,
        datadir=str(settings.data_dir),
        web_enabled=settings.web_enabled,
        web_host=settings.web_host,
        web_port=settings.web_port,
        broker_request_timeout=settings.broker_request_timeout_s,
        broker_commit_interval=settings.commit_interval_s,
        producer_linger=settings.producer_linger_s,
        broker_session_timeout=settings.session_timeout_s,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        # Agents and tables are registered explicitly by the wiring, never by import scanning.
        autodiscover=False,
    )
