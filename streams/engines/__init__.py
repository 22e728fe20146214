"""The privilege worker's engines, each behind one small interface: ``WorkerEngine``.

``native`` (the default, ``streams.engines.native``) is the project's own exactly-once loop
on aiokafka; ``faust`` (``streams.engines.faust``) runs faust-streaming agents and tables.
Both apply raw records through the same record handler and partition transaction, and both
pass the same tests. ``load_engine`` imports the one asked for, and Faust only then.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from foundation.connection import KafkaConnection
from foundation.console import LogOptions
from streams.metrics import WorkerMetrics
from streams.processor.handler import RecordHandler
from streams.settings import WorkerSettings
from streams.views import CommittedState


class WorkerEngine(Protocol):
    """What a worker needs of an engine: start, stop, and the query views' reads."""

    @property
    def ready(self) -> asyncio.Event:
        """Set once the engine's first partitions are restored and processing runs."""
        ...

    async def start(self) -> None:
        """Join the worker group and begin processing, in this event loop."""
        ...

    async def stop(self) -> None:
        """Commit what is open, leave the group and release every resource."""
        ...

    async def wait(self) -> None:
        """Return when the engine has stopped; raise what stopped it, if it failed."""
        ...

    @property
    def handler(self) -> RecordHandler:
        """What applies the raw records, with its counts of them."""
        ...

    @property
    def metrics(self) -> WorkerMetrics:
        """The worker's Prometheus metrics (served at ``/metrics``)."""
        ...

    def is_ready(self) -> bool:
        """Whether every partition the worker owns is restored and processing runs."""
        ...

    def committed_store(self, partition: int) -> CommittedState | None:
        """Reads of raw ``partition``'s committed tables, if this worker owns it, restored."""
        ...

    def serve(self, *, log: LogOptions) -> None:
        """Run as this process's worker until SIGTERM or Ctrl-C, views included, logging as
        ``log`` says."""
        ...


def load_engine(
    settings: WorkerSettings, *, kafka: KafkaConnection, raw_partitions: int, replicas: int
) -> WorkerEngine:
    """The engine ``settings.engine`` names, built on ``kafka`` (nothing connects before
    ``start``)."""
    if settings.engine == "faust":
        from streams.engines.faust.service import FaustEngine

        return FaustEngine(settings, kafka=kafka, raw_partitions=raw_partitions, replicas=replicas)
    from streams.engines.native.service import NativeEngine

    return NativeEngine(settings, kafka=kafka, raw_partitions=raw_partitions, replicas=replicas)
