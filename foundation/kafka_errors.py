"""Turn aiokafka's errors into one project error that says which cluster and what to do."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from aiokafka.errors import KafkaConnectionError, KafkaError

from foundation.exceptions import KafkaUnavailableError


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
