"""The poller as a service: settings in, topics checked, every district polled until stopped."""

from __future__ import annotations

import asyncio
import logging
import signal

from connectors.endpoints import PollerEndpoints
from connectors.http import HttpOptions, new_http_client
from connectors.runner import PollerRunner
from connectors.settings import PollerSettings
from foundation.settings import read_settings
from schemas.codec import default_codec
from schemas.provision import ensure_pipeline_topics

logger = logging.getLogger(__name__)

#: The operator's "resync now" for every district of the process: ``kill -USR1 <pid>``.
RESYNC_SIGNAL = signal.SIGUSR1


def load_settings() -> PollerSettings:
    """The poller's settings from the environment, with errors that never echo a token
    (pydantic quotes the offending input: for CLEVER_POLLER_DISTRICTS, the tokens)."""
    settings = read_settings(PollerSettings, what="the poller")
    settings.all_districts()
    return settings


async def serve(settings: PollerSettings) -> None:
    """Poll every configured district until cancelled (SIGTERM, Ctrl-C) or all are fenced;
    settings that name no cluster, or security that does not fit, fail before anything runs."""
    kafka = settings.kafka_connection(
        hint="set KAFKA_BOOTSTRAP_SERVERS (local-kafka start prints one)"
    )
    await ensure_pipeline_topics(kafka, settings, timeout_s=settings.kafka_timeout_s)
    options = HttpOptions(
        base_url=settings.base_url,
        connect_timeout_s=settings.connect_timeout_s,
        read_timeout_s=settings.read_timeout_s,
        max_connections=settings.max_connections,
        instance_id=settings.instance_id,
    )
    async with new_http_client(options) as http:
        runner = PollerRunner(settings, http=http, kafka=kafka, codec=default_codec())
        endpoints = PollerEndpoints(runner)
        if settings.http_port:
            await endpoints.start(settings.http_host, settings.http_port)
            logger.info(
                "metrics, health and readiness on http://%s:%d",
                settings.http_host,
                settings.http_port,
            )
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(
            RESYNC_SIGNAL, lambda: _resync_requested(runner.request_resync("operator request"))
        )
        try:
            await runner.run()
        finally:
            loop.remove_signal_handler(RESYNC_SIGNAL)
            await endpoints.stop()


def _resync_requested(districts: int) -> None:
    logger.warning("operator request: %d districts resync now", districts)
