"""``clever-stream replay``: rebuild a deployment's raw topic into fresh outputs, and stop.

A worker (the configured engine, CLEVER_WORKER_*) reads the raw topic of the deployment's
prefix from its first record, writes under another prefix (its outputs, its group, its
changelog: every name follows the prefix), for every district or the ones named, and stops
once its group has committed the raw topic up to where it ended when the replay began.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition

from foundation.connection import KafkaConnection
from foundation.exceptions import CleverStreamError, ConfigurationError
from foundation.kafka_errors import kafka_errors
from foundation.reading import group_offsets
from foundation.settings import read_settings, validate_prefix
from streams.engines import load_engine
from streams.service import prepare
from streams.settings import WorkerSettings

#: How often the group's committed offsets are compared with the raw topic's end.
_PROGRESS_POLL_S = 0.2


@dataclass(frozen=True, kw_only=True)
class ReplayOutcome:
    """What a replay did."""

    raw_topic: str
    outputs_prefix: str
    group_id: str
    records: int
    changes: int
    seconds: float


class ReplayTimeoutError(CleverStreamError):
    """The replay did not reach the raw topic's end in time."""


def replay_settings(
    *,
    live_prefix: str,
    to_prefix: str,
    districts: Sequence[str],
    app_id: str | None,
) -> WorkerSettings:
    """The worker settings of a replay: the environment's, reading ``live_prefix``'s raw topic
    and writing under ``to_prefix``, without web views."""
    try:
        validate_prefix(to_prefix)
    except ValueError as error:
        raise ConfigurationError(str(error), hint="pass another --to-prefix") from None
    if to_prefix == live_prefix:
        raise ConfigurationError(
            f"the replay would write into the live outputs of {live_prefix}",
            hint="pass --to-prefix with a prefix of the replay's own",
        )
    worker = read_settings(WorkerSettings, what="the replay's worker")
    return worker.model_copy(
        update={
            "topic_prefix": to_prefix,
            "raw_topic_prefix": live_prefix,
            "districts": tuple(districts),
            "app_id": app_id,
            "web_enabled": False,
        }
    )


async def replay(
    settings: WorkerSettings, *, kafka: KafkaConnection, force: bool, timeout_s: float
) -> ReplayOutcome:
    """Run ``settings``' worker on ``kafka`` from the raw topic's start to where it ends now,
    then stop."""
    group_id = settings.group_id
    if not force and await _group_has_offsets(kafka, group_id):
        raise ConfigurationError(
            f"the worker group {group_id} has committed offsets already: a live deployment, "
            "or an earlier replay",
            hint="pass --app-id with a new group ID, or --force to carry on from where that "
            "group stands",
        )
    started = time.monotonic()
    raw_partitions, replicas = await prepare(settings, kafka)
    raw_topic = settings.topics.raw
    begins, ends = await _bounds(kafka, raw_topic, raw_partitions)
    engine = load_engine(settings, kafka=kafka, raw_partitions=raw_partitions, replicas=replicas)
    await engine.start()
    stopped = asyncio.ensure_future(engine.wait())
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                if await _caught_up(kafka, group_id, ends):
                    break
                if stopped.done():
                    stopped.result()  # the worker's own error, if it failed
                    raise ReplayTimeoutError(
                        "the replay's worker stopped before the end of the raw topic",
                        hint="run it again with -v to see why",
                    )
                await asyncio.sleep(_PROGRESS_POLL_S)
    except TimeoutError:
        raise ReplayTimeoutError(
            f"the replay did not reach the end of {raw_topic} within {timeout_s:g} s",
            hint="run it again with a longer --timeout (it carries on with --force and the "
            "same --app-id)",
        ) from None
    finally:
        stopped.cancel()
        await engine.stop()
    return ReplayOutcome(
        raw_topic=raw_topic,
        outputs_prefix=settings.topic_prefix,
        group_id=group_id,
        records=sum(ends[tp] - begins[tp] for tp in ends),
        changes=engine.handler.changes,
        seconds=time.monotonic() - started,
    )


async def _group_has_offsets(kafka: KafkaConnection, group_id: str) -> bool:
    with kafka_errors("read the worker group's offsets", kafka):
        return bool(await group_offsets(kafka, group_id))


async def _bounds(
    kafka: KafkaConnection, topic: str, partitions: int
) -> tuple[dict[TopicPartition, int], dict[TopicPartition, int]]:
    """Where each partition of ``topic`` begins, and ends for a read_committed reader."""
    consumer = AIOKafkaConsumer(**kafka.client_options(), isolation_level="read_committed")
    tps = [TopicPartition(topic, partition) for partition in range(partitions)]
    with kafka_errors(f"read where {topic} ends", kafka):
        try:
            await consumer.start()
            return await consumer.beginning_offsets(tps), await consumer.end_offsets(tps)
        finally:
            await consumer.stop()


async def _caught_up(
    kafka: KafkaConnection, group_id: str, ends: dict[TopicPartition, int]
) -> bool:
    """Whether ``group_id`` has committed every partition up to its end in ``ends``.

    A partition ends in a transaction marker when its last records were committed in a
    transaction: its group offset may then stop one short of the end, on the marker.
    """
    committed = await group_offsets(kafka, group_id)
    return all(
        end == 0 or (tp in committed and committed[tp] >= end - 1) for tp, end in ends.items()
    )
