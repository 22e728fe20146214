"""What the pipeline benchmark measures and how long it may take, and its bounded steps."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from aiokafka.errors import KafkaError

from bench.exceptions import KafkaStepError, StepTimeoutError


@dataclass(frozen=True, kw_only=True)
class PipelineBenchConfig:
    """The records to send, the repeats, and the bound on any one step."""

    #: Raw records on the throughput topic; the bare loop is timed over all of them.
    events: int = 30_000
    #: Districts of the throughput records: small ones, so any stretch of the topic holds
    #: whole districts (creations, then changes) and the worker's timed part is typical.
    districts: int = 50
    #: The most the worker is timed for, from its first commit (it is far slower).
    pipeline_seconds: float = 20.0
    partitions: int = 6
    repeat: int = 3
    #: Records per poller transaction on the raw topic.
    page_size: int = 1000
    #: The worker's default ``CLEVER_WORKER_COMMIT_INTERVAL_S``; the bare loop's, too.
    commit_interval_s: float = 0.5
    latency_rate: float = 1000.0
    latency_seconds: float = 30.0
    latency_warmup_s: float = 3.0
    latency_districts: int = 10
    #: Contacts of each district the latency worker is preloaded with.
    latency_contacts: int = 100
    latency_commit_intervals: tuple[float, ...] = (0.5, 0.1)
    timeout_s: float = 300.0
    #: The peers timed beside the worker and the bare loops: ``faust`` (the worker on its
    #: Faust engine) and ``quix`` (``bench.peer_quix``).
    peers: tuple[str, ...] = ()
    #: The Python of the Quix Streams peer (None: ``.venv-quix``'s).
    quix_python: Path | None = None


@asynccontextmanager
async def bounded(what: str, timeout_s: float) -> AsyncIterator[None]:
    """A step that fails as a BenchError naming it if it overruns or Kafka refuses it."""
    try:
        async with asyncio.timeout(timeout_s):
            yield
    except TimeoutError as error:
        raise StepTimeoutError(what, timeout_s) from error
    except KafkaError as error:
        raise KafkaStepError(what, error) from error
