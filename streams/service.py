"""The worker as a service: settings checked, topics ensured, then the engine's loop.

``CLEVER_WORKER_ENGINE`` picks the loop: ``native`` (default, ``streams.engines.native``) or
``faust`` (Faust's own worker, ``streams.engines.faust.worker``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from typing import NoReturn

import faust
from aiokafka.admin import AIOKafkaAdminClient

from foundation.admin import default_replication_factor
from foundation.console import configure_logging
from foundation.exceptions import ConfigurationError
from foundation.kafka_errors import kafka_errors
from schemas.provision import ensure_pipeline_topics
from schemas.topics import RAW_EVENTS
from streams.engines.faust.changelogs import ensure_changelog_topics
from streams.engines.faust.worker import build_worker
from streams.engines.native.service import serve_engine
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
            [raw] = await admin.describe_topics([RAW_EVENTS.name(settings.topic_prefix)])
            replicas = settings.topic_replication_factor or await default_replication_factor(admin)
        finally:
            await admin.close()
    return len(raw["partitions"]), replicas


def run_worker(settings: WorkerSettings, *, verbose: bool) -> None:
    """Run one worker of the group until SIGTERM or Ctrl-C, with the configured engine."""
    raw_partitions, replicas = asyncio.run(prepare(settings))
    if settings.engine == "faust":
        run_faust_worker(
            settings, verbose=verbose, raw_partitions=raw_partitions, replicas=replicas
        )
    configure_logging(verbose=verbose)
    asyncio.run(serve_engine(settings, raw_partitions=raw_partitions, replicas=replicas))


def run_faust_worker(
    settings: WorkerSettings, *, verbose: bool, raw_partitions: int, replicas: int
) -> NoReturn:
    """Run Faust's worker until SIGTERM or Ctrl-C (Faust handles both), then exit.

    Faust stops its services and closes its event loop, but the aiokafka consumer thread it
    leaves behind is not a daemon, so the interpreter would wait for it forever. Once Faust
    is done (transactions ended, producers stopped), the process exits on its own terms.
    """
    worker = build_worker(settings, raw_partitions=raw_partitions, replication_factor=replicas)
    asyncio.run(
        ensure_changelog_topics(
            _bootstrap_servers(settings),
            worker.app.tables.values(),
            replication_factor=replicas,
            timeout_s=60,
        )
    )
    code: int | str | None = 0
    try:
        runner = faust.Worker(
            worker.app,
            loglevel=logging.INFO if verbose else logging.WARNING,
            quiet=True,
            console_port=0,
        )
        # Faust's terminal spinner, kept at WARNING and above, turns the root logger to DEBUG
        # so that it spins on every record: every debug call of Faust and aiokafka then builds
        # a log record, about a fifth of the worker's CPU (bench/pipeline.py measured it).
        runner.spinner = None
        runner.execute_from_commandline()
    except SystemExit as exit_:
        code = exit_.code
    finally:
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code if isinstance(code, int) else 1)
