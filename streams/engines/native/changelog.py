"""The tables' changelog: one compacted topic, partitioned like the raw topic.

Every table write of a raw partition's transaction is sent, last value per key, to the same
partition of the changelog in that transaction; a worker that takes the partition over reads
it back (``read_committed``, so aborted writes never reach it) up to its last stable offset.
Keys are ``<table>:<table key>``; a deletion is a tombstone, so compaction keeps the
topic as large as the live state.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Final

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from foundation.admin import create_missing_topics
from foundation.connection import KafkaConnection
from foundation.exceptions import CleverStreamError, TopicSetupError
from foundation.kafka_errors import kafka_errors, retrying
from streams.state.backing import TableBacking
from streams.state.tables import TABLE_NAMES

logger = logging.getLogger(__name__)

_SEPARATOR: Final = b":"
_NO_ERROR: Final = 0
_METADATA_POLL_S: Final = 0.1
#: Changelog records read at a time while restoring (each step applies them at once).
_RESTORE_BATCH: Final = 5_000
_TABLES: Final = frozenset(name.encode("ascii") for name in TABLE_NAMES)


def changelog_topic(app_id: str) -> str:
    """The changelog topic of the worker group ``app_id``."""
    return f"{app_id}-tables-changelog"


def changelog_key(table: str, key: bytes) -> bytes:
    """The changelog key of ``key`` in ``table``."""
    return table.encode("ascii") + _SEPARATOR + key


def parse_changelog_key(key: bytes) -> tuple[str, bytes]:
    """(table, key) of a changelog key; ValueError if it is not one of ours."""
    table, separator, rest = key.partition(_SEPARATOR)
    if not separator or table not in _TABLES:
        raise ValueError("not a table changelog key")
    return table.decode("ascii"), rest


async def ensure_changelog_topic(
    kafka: KafkaConnection,
    *,
    app_id: str,
    partitions: int,
    replication_factor: int,
    timeout_s: float,
) -> None:
    """Create the changelog topic if missing; refuse one partitioned unlike the raw topic."""
    name = changelog_topic(app_id)
    admin = AIOKafkaAdminClient(**kafka.client_options(), request_timeout_ms=int(timeout_s * 1000))
    topic = NewTopic(
        name=name,
        num_partitions=partitions,
        replication_factor=replication_factor,
        topic_configs={"cleanup.policy": "compact"},
    )

    async def create() -> int:
        await create_missing_topics(
            admin, [topic], timeout_ms=int(timeout_s * 1000), what="changelog topic"
        )
        return await _partition_count(admin, name, timeout_s=timeout_s)

    with kafka_errors("create the tables' changelog topic", kafka):
        await admin.start()
        try:
            # A broker that just died stays in the metadata for seconds: try another.
            found = await retrying(create, timeout_s=timeout_s)
        finally:
            await admin.close()
    if found != partitions:
        raise TopicSetupError(
            f"changelog topic {name} has {found} partitions, the raw topic {partitions}",
            hint="a district's state must live in its raw partition's changelog partition: "
            "delete the changelog topic (the worker rebuilds it) or use another app ID",
        )


async def _partition_count(admin: AIOKafkaAdminClient, name: str, *, timeout_s: float) -> int:
    """The topic's partition count, once the metadata (which trails its creation) shows it."""
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                if name in await admin.list_topics():
                    [described] = await admin.describe_topics([name])
                    if described["error_code"] == _NO_ERROR and described["partitions"]:
                        return len(described["partitions"])
                await asyncio.sleep(_METADATA_POLL_S)
    except TimeoutError:
        raise TopicSetupError(
            f"the changelog topic {name} was created but the metadata never showed it "
            f"within {timeout_s:g} s",
            hint="check the broker's log; start the worker again",
        ) from None


@dataclass
class _Restoring:
    backing: TableBacking
    end: int
    position: int
    applied: int
    progressed_at: float


class ChangelogRestorer:
    """Brings partitions' states up to the changelog's last stable offset, a step at a time.

    Steps are short so that the engine keeps polling its group (and processing the
    partitions it has) while a large partition restores. Reading starts at the backing's
    changelog offset, so a state kept from earlier (RocksDB files, or a partition that
    comes back) reads only what was written since. ``consumer`` is a group-less
    ``read_committed`` consumer owned by the restorer.
    """

    def __init__(self, consumer: AIOKafkaConsumer, topic: str, *, timeout_s: float) -> None:
        self._consumer = consumer
        self._topic = topic
        self._timeout_s = timeout_s
        self._restoring: dict[int, _Restoring] = {}

    @property
    def busy(self) -> bool:
        return bool(self._restoring)

    def restoring(self, partition: int) -> bool:
        return partition in self._restoring

    async def begin(self, partition: int, backing: TableBacking) -> bool:
        """Start restoring ``partition``'s ``backing``; False if it is up to date already."""
        tp = TopicPartition(self._topic, partition)
        end = (await self._consumer.end_offsets([tp]))[tp]
        start = backing.changelog_offset
        if start >= end:
            return False
        self._restoring[partition] = _Restoring(
            backing=backing, end=end, position=start, applied=0, progressed_at=time.monotonic()
        )
        self._reassign()
        return True

    def cancel(self, partition: int) -> None:
        """Stop restoring ``partition`` (revoked): what was applied stays applied."""
        if self._restoring.pop(partition, None) is not None:
            self._reassign()

    async def step(self, *, max_wait_ms: int) -> list[tuple[int, int]]:
        """Read and apply one batch; the partitions now complete, with their records applied."""
        if not self._restoring:
            return []
        consumer = self._consumer
        batches = await consumer.getmany(timeout_ms=max_wait_ms, max_records=_RESTORE_BATCH)
        done = []
        now = time.monotonic()
        for partition, restoring in list(self._restoring.items()):
            tp = TopicPartition(self._topic, partition)
            writes: dict[tuple[str, bytes], bytes | None] = {}
            for message in batches.get(tp, ()):
                if message.offset >= restoring.end:
                    break
                try:
                    writes[parse_changelog_key(message.key or b"")] = message.value
                except ValueError:
                    logger.warning("changelog %s[%d]@%d: a foreign key, skipped",
                                   self._topic, partition, message.offset)  # fmt: skip
                    continue
                restoring.applied += 1
            # Past transaction markers and aborted records too, which are never delivered.
            position = min(await consumer.position(tp), restoring.end)
            if writes or position > restoring.position:
                restoring.backing.apply(writes, changelog_offset=position)
                restoring.position = position
                restoring.progressed_at = now
            elif now - restoring.progressed_at > self._timeout_s:
                raise RestoreError(
                    f"the changelog {self._topic}[{partition}] gave nothing for "
                    f"{self._timeout_s:g} s at offset {position}, before its end {restoring.end}",
                    hint="check the broker's log and health; the worker stopped rather than "
                    "process the partition without its state: start it again",
                )
            if position >= restoring.end:
                del self._restoring[partition]
                done.append((partition, restoring.applied))
        if done:
            self._reassign()
        return done

    def _reassign(self) -> None:
        """Read exactly the partitions being restored, each from where it stands."""
        consumer = self._consumer
        tps = {p: TopicPartition(self._topic, p) for p in self._restoring}
        if not tps:
            consumer.unsubscribe()
            return
        consumer.assign(list(tps.values()))
        for partition, tp in tps.items():
            consumer.seek(tp, self._restoring[partition].position)


class RestoreError(CleverStreamError):
    """A changelog partition could not be read to its end."""
