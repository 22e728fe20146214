"""Run the engine as a worker: its changelog ensured, its web views served, signals heeded.

SIGTERM or Ctrl-C stop it in order: the open transactions commit, the producers stop, the
consumer leaves the group (so the others take its partitions at once), and the process
exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import AsyncIterator, Callable

from foundation.connection import KafkaConnection
from foundation.console import LogOptions, configure_logging
from foundation.kafka_errors import kafka_errors
from schemas.codec import default_codec
from streams.engines.native.assignor import RoutingAssignor
from streams.engines.native.changelog import ensure_changelog_topic
from streams.engines.native.engine import PrivilegeEngine
from streams.engines.native.web import ViewsServer
from streams.metrics import WorkerMetrics
from streams.processor.handler import RecordHandler
from streams.settings import WorkerSettings
from streams.state.backing import MemoryBacking, TableBacking
from streams.views import CommittedState

logger = logging.getLogger(__name__)

_WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})  # noqa: S104 - compared, never bound


def backing_factory(settings: WorkerSettings) -> Callable[[int], TableBacking]:
    """How each partition's committed tables are kept, by ``settings.store``."""
    if settings.store == "rocksdb://":
        from streams.engines.native.rocksdb import RocksDBBacking

        folder = settings.data_dir / settings.group_id
        return lambda partition: RocksDBBacking.open(folder / f"raw-{partition}")
    return lambda partition: MemoryBacking()


def advertised_url(settings: WorkerSettings) -> str:
    """The URL other workers forward view requests to: a wildcard address (a container's
    0.0.0.0) is no address to send to, so the host's name stands in for it."""
    host = settings.web_host
    if host in _WILDCARD_HOSTS:
        host = socket.getfqdn()
    return f"http://{host}:{settings.web_port}"


@contextlib.asynccontextmanager
async def running_engine(
    settings: WorkerSettings,
    *,
    kafka: KafkaConnection,
    raw_partitions: int,
    replicas: int,
    stop: asyncio.Event,
) -> AsyncIterator[tuple[PrivilegeEngine, asyncio.Task[None]]]:
    """A started engine on ``kafka`` and the task running it; on exit ``stop`` is set and
    awaited."""
    await ensure_changelog_topic(
        kafka,
        app_id=settings.group_id,
        partitions=raw_partitions,
        replication_factor=replicas,
        timeout_s=60,
    )
    assignor = RoutingAssignor(advertised_url(settings) if settings.web_enabled else "")
    engine = PrivilegeEngine(
        settings,
        kafka=kafka,
        codec=default_codec(),
        backing_factory=backing_factory(settings),
        assignor=assignor,
    )
    views = None
    if settings.web_enabled:
        views = ViewsServer(
            engine, assignor, raw_partitions=raw_partitions, token=settings.views_bearer_token()
        )
        await views.start(settings.web_host, settings.web_port)
    try:
        task = asyncio.create_task(engine.run(stop), name="privilege-engine")
        try:
            yield engine, task
        finally:
            stop.set()
            await task
    finally:
        if views is not None:
            await views.stop()


async def serve_engine(
    settings: WorkerSettings, *, kafka: KafkaConnection, raw_partitions: int, replicas: int
) -> None:
    """Run one engine worker on ``kafka`` until SIGTERM or SIGINT (or until it fails)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        # A Kafka error the clients did not retry through (a broker gone for longer than the
        # request timeout, a fenced producer) stops the worker with what to do; nothing
        # uncommitted survives it, and a restart resumes from the committed state.
        with kafka_errors("process the raw stream (the worker stopped; start it again)", kafka):
            async with running_engine(
                settings, kafka=kafka, raw_partitions=raw_partitions, replicas=replicas, stop=stop
            ) as (_, task):
                await asyncio.wait((task,))
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)


class NativeEngine:
    """The native engine behind ``streams.engines.WorkerEngine``."""

    def __init__(
        self,
        settings: WorkerSettings,
        *,
        kafka: KafkaConnection,
        raw_partitions: int,
        replicas: int,
    ) -> None:
        self._settings = settings
        self._kafka = kafka
        self._raw_partitions = raw_partitions
        self._replicas = replicas
        self._stop = asyncio.Event()
        self._running: contextlib.AsyncExitStack | None = None
        self._engine: PrivilegeEngine | None = None
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    @property
    def ready(self) -> asyncio.Event:
        return self._engine.ready if self._engine is not None else self._ready

    @property
    def engine(self) -> PrivilegeEngine:
        """The running loop (tests read its counts)."""
        if self._engine is None:
            raise RuntimeError("the engine is not started")
        return self._engine

    async def start(self) -> None:
        stack = contextlib.AsyncExitStack()
        self._engine, self._task = await stack.enter_async_context(
            running_engine(
                self._settings,
                kafka=self._kafka,
                raw_partitions=self._raw_partitions,
                replicas=self._replicas,
                stop=self._stop,
            )
        )
        self._running = stack

    async def stop(self) -> None:
        running, self._running = self._running, None
        if running is not None:
            await running.aclose()

    async def wait(self) -> None:
        if self._task is None:
            raise RuntimeError("the engine is not started")
        await asyncio.shield(self._task)

    @property
    def handler(self) -> RecordHandler:
        return self.engine.handler

    @property
    def metrics(self) -> WorkerMetrics:
        return self.engine.metrics

    def is_ready(self) -> bool:
        return self._engine is not None and self._engine.is_ready()

    def committed_store(self, partition: int) -> CommittedState | None:
        return None if self._engine is None else self._engine.committed_store(partition)

    def serve(self, *, log: LogOptions) -> None:
        configure_logging(verbose=log.verbose, log_format=log.format, debug=log.debug)
        asyncio.run(
            serve_engine(
                self._settings,
                kafka=self._kafka,
                raw_partitions=self._raw_partitions,
                replicas=self._replicas,
            )
        )
