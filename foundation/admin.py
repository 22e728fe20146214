"""Create Kafka topics idempotently (the same command on every deploy), and what that needs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import for_code

from foundation.exceptions import TopicSetupError

logger = logging.getLogger(__name__)

_NO_ERROR = 0
_TOPIC_ALREADY_EXISTS = 36
# Three replicas survive one broker down while another is being restarted.
_PREFERRED_REPLICAS = 3
_METADATA_POLL_S = 0.1


class TopicDefinition(Protocol):
    """A topic as a deployment defines it, independent of its prefix."""

    @property
    def partitions(self) -> int | None:
        """Its own partition count; None: the deployment's."""
        ...

    def name(self, prefix: str) -> str:
        """The topic's name under ``prefix``."""
        ...

    def config(self) -> dict[str, str]:
        """Topic-level configuration to create it with."""
        ...


Spec = TypeVar("Spec", bound=TopicDefinition)


@dataclass(frozen=True)
class TopicOutcome(Generic[Spec]):
    """What ``ensure_topics`` did for one topic."""

    name: str
    spec: Spec
    created: bool
    partitions: int


async def ensure_topics(
    admin: AIOKafkaAdminClient,
    specs: Iterable[Spec],
    *,
    prefix: str,
    partitions: int,
    replication_factor: int,
    timeout_ms: int,
) -> list[TopicOutcome[Spec]]:
    """Create every topic of ``specs`` that does not exist yet; leave existing ones alone.

    ``partitions`` applies to the topics whose definition does not fix their own count.

    An existing topic keeps its partitions (adding partitions moves districts between
    partitions: ``clever-stream partitions grow`` does that, with the state that must follow)
    and is reported with the count it has.
    """
    wanted = {spec.name(prefix): spec for spec in specs}
    existing = await _partition_counts(admin, list(wanted))
    missing = [name for name in wanted if name not in existing]
    created: set[str] = set()
    if missing:
        response = await admin.create_topics(
            [
                NewTopic(
                    name=name,
                    num_partitions=wanted[name].partitions or partitions,
                    replication_factor=replication_factor,
                    topic_configs=wanted[name].config(),
                )
                for name in missing
            ],
            timeout_ms=timeout_ms,
        )
        for name, error_code, *rest in response.topic_errors:
            if error_code == _NO_ERROR:
                created.add(name)
                logger.info("created topic %s", name)
            elif error_code != _TOPIC_ALREADY_EXISTS:  # another deploy won the race: fine
                detail = rest[0] if rest and rest[0] else for_code(error_code).__name__
                raise TopicSetupError(
                    f"Kafka refused to create topic {name}: {detail}",
                    hint="check the broker's log, the topic settings and the ACLs of this client",
                )
        existing.update({name: wanted[name].partitions or partitions for name in created})
        await await_in_sync(admin, sorted(created), timeout_ms=timeout_ms)
        raced = [name for name in missing if name not in created]
        if raced:
            existing.update(await _await_partition_counts(admin, raced, timeout_ms=timeout_ms))
    return [
        TopicOutcome(name=name, spec=spec, created=name in created, partitions=existing[name])
        for name, spec in wanted.items()
    ]


async def create_missing_topics(
    admin: AIOKafkaAdminClient, topics: Sequence[NewTopic], *, timeout_ms: int, what: str
) -> None:
    """Create those of ``topics`` that do not exist; one another deploy just created is fine.

    ``what`` names the topics in the errors and logs ("changelog topic", for instance).
    """
    existing = set(await admin.list_topics())
    missing = [topic for topic in topics if topic.name not in existing]
    if not missing:
        return
    response = await admin.create_topics(missing, timeout_ms=timeout_ms)
    created = []
    for name, error_code, *rest in response.topic_errors:
        if error_code == _NO_ERROR:
            created.append(name)
            logger.info("created %s %s", what, name)
        elif error_code != _TOPIC_ALREADY_EXISTS:
            detail = rest[0] if rest and rest[0] else for_code(error_code).__name__
            raise TopicSetupError(
                f"Kafka refused to create {what} {name}: {detail}",
                hint="check the broker's log and the ACLs of this client",
            )
    await await_in_sync(admin, created, timeout_ms=timeout_ms)


async def await_in_sync(admin: AIOKafkaAdminClient, names: list[str], *, timeout_ms: int) -> None:
    """Wait until every partition of the topics ``names`` has a leader and an in-sync replica.

    A topic just created has neither for a moment: a producer writing to it then is told
    ``NotEnoughReplicasError`` and retries, which aiokafka logs as a warning. Waiting here
    keeps that out of the logs. A topic that does not settle in time is left to those retries.
    """
    if not names:
        return
    try:
        async with asyncio.timeout(timeout_ms / 1000):
            while True:
                described = await admin.describe_topics(names)
                if all(
                    partition["leader"] >= 0 and partition["isr"]
                    for topic in described
                    for partition in topic["partitions"]
                ) and len(described) == len(names):
                    return
                await asyncio.sleep(_METADATA_POLL_S)
    except TimeoutError:
        logger.info("topics %s have no in-sync replica yet; producers will retry", names)


async def _await_partition_counts(
    admin: AIOKafkaAdminClient, names: list[str], *, timeout_ms: int
) -> dict[str, int]:
    """Partition counts of topics that exist but are not yet in the metadata we are served.

    Metadata trails the controller by a moment: a topic another deploy (or the line before)
    just created can be refused as existing and still be missing from ``list_topics``.
    """
    try:
        async with asyncio.timeout(timeout_ms / 1000):
            counts = await _partition_counts(admin, names)
            while len(counts) < len(names):
                await asyncio.sleep(_METADATA_POLL_S)
                counts = await _partition_counts(admin, names)
    except TimeoutError:
        raise TopicSetupError(
            f"Kafka says {sorted(names)} exist but its metadata does not show them",
            hint="check the broker's log; retry the command",
        ) from None
    return counts


async def _partition_counts(admin: AIOKafkaAdminClient, names: list[str]) -> dict[str, int]:
    """Partition counts of those of ``names`` that exist.

    Only topics that ``list_topics`` knows are described: describing a missing topic is a
    Metadata request that a cluster with ``auto.create.topics.enable`` answers by creating it
    with the broker's defaults.
    """
    present = sorted(set(names) & set(await admin.list_topics()))
    if not present:
        return {}
    return {
        topic["topic"]: len(topic["partitions"])
        for topic in await admin.describe_topics(present)
        if topic["error_code"] == _NO_ERROR
    }


async def default_replication_factor(admin: AIOKafkaAdminClient) -> int:
    """Three replicas, or as many as the cluster has brokers if fewer (1 on a laptop)."""
    cluster = await admin.describe_cluster()
    return max(1, min(_PREFERRED_REPLICAS, len(cluster["brokers"])))
