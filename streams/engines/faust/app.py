"""Build the Faust app from settings; nothing connects until the app starts."""

from __future__ import annotations

import faust
from faust.types.auth import CredentialsT

from foundation.connection import TLS_PROTOCOLS, KafkaConnection
from streams.engines.faust.fixes import apply_faust_fixes
from streams.settings import WorkerSettings


def create_app(
    settings: WorkerSettings, *, kafka: KafkaConnection, replication_factor: int
) -> faust.App:
    """A Faust app on the aiokafka driver, configured from ``settings``, reaching the
    cluster as ``kafka`` says (its servers, TLS and SASL user for every client Faust opens).

    ``replication_factor`` is passed in rather than read from settings because its default
    depends on the cluster (see ``foundation.admin.default_replication_factor``).
    """
    apply_faust_fixes()
    brokers = [f"kafka://{server.strip()}" for server in kafka.bootstrap_servers.split(",")]
    return faust.App(
        settings.group_id,
        broker=brokers,
        broker_credentials=broker_credentials(kafka),
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
        consumer_group_instance_id=settings.instance_id,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        # Agents and tables are registered explicitly by the wiring, never by import scanning.
        autodiscover=False,
    )


def broker_credentials(kafka: KafkaConnection) -> CredentialsT | None:
    """``kafka``'s security as Faust's credentials (None for plaintext): Faust's aiokafka
    driver turns them into the same client options (``credentials_to_aiokafka_auth``) for
    every consumer and producer it opens, and so for its topic creation too."""
    tls = kafka.ssl_context if kafka.security_protocol in TLS_PROTOCOLS else None
    if kafka.sasl is not None:
        # Faust's SASL credentials are SASL_SSL with an SSL context, SASL_PLAINTEXT without.
        return faust.SASLCredentials(
            username=kafka.sasl.username,
            password=kafka.sasl.password,
            ssl_context=tls,
            mechanism=kafka.sasl.mechanism,
        )
    if tls is not None:
        return faust.SSLCredentials(tls)
    return None
