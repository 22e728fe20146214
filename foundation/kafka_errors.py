"""Turn aiokafka's errors into one project error that says which cluster and what to do."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from aiokafka.errors import KafkaConnectionError, KafkaError

from foundation.exceptions import KafkaUnavailableError

T = TypeVar("T")


@contextmanager
def kafka_errors(action: str, bootstrap_servers: str) -> Iterator[None]:
    """Raise :class:`KafkaUnavailableError` for any aiokafka error inside, naming ``action``."""
    try:
        yield
    except KafkaConnectionError as error:
        raise KafkaUnavailableError(
            f"could not reach Kafka at {bootstrap_servers} to {action}: {error}",
            hint="check KAFKA_BOOTSTRAP_SERVERS and that the cluster runs "
            "(for the local broker: local-kafka status)",
        ) from error
    except KafkaError as error:
        raise KafkaUnavailableError(
            f"Kafka at {bootstrap_servers} failed to {action}: {error!r}",
            hint="read the broker's log; check this client's ACLs and the cluster's health",
        ) from error


async def retrying(
    call: Callable[[], Awaitable[T]], *, timeout_s: float = 15.0, pause_s: float = 0.2
) -> T:
    """``call()``, tried again while it fails with a retriable Kafka error (a group
    coordinator still being elected, a leader moving) for up to ``timeout_s``; then its error.

    A cluster's first group lookup finds no coordinator until ``__consumer_offsets`` exists:
    an admin command run against a new cluster must wait that out, not fail.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return await call()
        except KafkaError as error:
            if not error.retriable or time.monotonic() >= deadline:
                raise
        await asyncio.sleep(pause_s)
