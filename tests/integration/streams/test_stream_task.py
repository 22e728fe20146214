"""One raw partition's task on the real broker: what goes early, what waits for the commit.

The task hands a transaction's changelog records to the producer as its records are
processed, and its outputs only at the commit (``streams/engines/native/task.py`` says why).
Whatever was sent early, a commit makes it all visible at once, an abort none of it, and a
restore of the changelog gives exactly the committed tables.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Literal

import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from foundation.connection import KafkaConnection
from schemas.codec import default_codec
from streams.engines.native.collector import RecordCollector
from streams.engines.native.producer import TransactionalProducer
from streams.engines.native.task import StreamTask
from streams.processor.handler import Output
from streams.processor.store import StateStore
from streams.state.backing import MemoryBacking
from streams.state.tables import EVENTS, TableFormat
from streams.state.transaction import PartitionTransaction
from tests.conftest import TopicFactory
from tests.integration.streams.restoring import restore_partition
from tests.waiting import eventually

pytestmark = pytest.mark.integration

GROUP = "partition-work-test"


@dataclass
class Scripted:
    """A record handler that remembers, for raw record ``offset``, the event day and output
    the test set for it: ``remember_event("d", "c1", day)`` and one output record."""

    outputs_topic: str
    script: dict[int, tuple[int, bytes]] = field(default_factory=dict)

    def handle(
        self, *, partition: int, offset: int, key: bytes | None, value: bytes | None,
        store: StateStore,
    ) -> list[Output]:  # fmt: skip
        day, output = self.script[offset]
        store.remember_event("d", "c1", day)
        return [Output(self.outputs_topic, b"d", output)]


@dataclass
class Fixture:
    task: StreamTask
    handler: Scripted
    backing: MemoryBacking
    group_id: str

    async def process(self, offset: int, day: int, output: bytes) -> None:
        """Process raw record ``offset``: it sets the event day ``day`` and sends ``output``."""
        self.handler.script[offset] = (day, output)
        record = ConsumerRecord(
            topic=self.task.raw.topic, partition=0, offset=offset, timestamp=0,
            timestamp_type=0, key=b"d", value=b"", checksum=None, serialized_key_size=1,
            serialized_value_size=0, headers=(),
        )  # fmt: skip
        self.task.take_in([record])
        await self.task.process(self.handler.handle)


@pytest.fixture
async def work(
    kafka_connection: KafkaConnection, topic_factory: TopicFactory
) -> AsyncIterator[Fixture]:
    """Raw partition 0's task, with an output topic of 3 partitions and a changelog."""
    raw = await topic_factory(partitions=1)
    outputs = await topic_factory(partitions=3)
    changelog = await topic_factory(partitions=1, **{"cleanup.policy": "compact"})
    producer = await TransactionalProducer.start(
        kafka=kafka_connection, app_id=raw, partition=0, request_timeout_s=30
    )
    backing = MemoryBacking()
    task = StreamTask(
        raw=TopicPartition(raw, 0),
        changelog=changelog,
        producer=producer,
        transaction=PartitionTransaction(backing, table_format=TableFormat(default_codec())),
        collector=RecordCollector(
            new_batch=producer.create_batch, partition_counts={outputs: 3}, changelog=changelog
        ),
    )
    try:
        yield Fixture(task=task, handler=Scripted(outputs), backing=backing, group_id=raw)
    finally:
        await task.close()


async def records_in(
    bootstrap_servers: str,
    topic: str,
    *,
    isolation_level: Literal["read_uncommitted", "read_committed"],
    partitions: int = 1,
) -> list[tuple[bytes | None, bytes | None]]:
    """(key, value) of every record of ``topic`` a consumer of ``isolation_level`` reads now.

    Read up to the end offsets of that isolation level (the last stable offset for
    read_committed), every partition in turn.
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        isolation_level=isolation_level,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        assigned = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(assigned)
        ends = await consumer.end_offsets(assigned)
        found: list[tuple[bytes | None, bytes | None]] = []
        for partition in assigned:
            while await consumer.position(partition) < ends[partition]:
                batches = await consumer.getmany(partition, timeout_ms=200)
                found.extend((m.key, m.value) for m in batches.get(partition, []))
        return found
    finally:
        await consumer.stop()


async def committed_values(
    bootstrap_servers: str, topic: str, expected: list[bytes | None], *, partitions: int = 1
) -> list[bytes | None]:
    """The values a read_committed consumer reads of ``topic``, once they are ``expected``
    or after 10 s: a commit returns once the coordinator has logged it, and its markers reach
    the partitions a moment later."""
    found: list[bytes | None] = []

    async def read() -> bool:
        nonlocal found
        records = await records_in(
            bootstrap_servers, topic, isolation_level="read_committed", partitions=partitions
        )
        found = [value for _, value in records]
        return found == expected

    with contextlib.suppress(AssertionError):  # the test's own assertion shows what was read
        await eventually(read, timeout_s=10, what=f"{expected} committed on {topic}")
    return found


async def restored(bootstrap_servers: str, changelog: str) -> MemoryBacking:
    """The tables a new owner of raw partition 0 rebuilds from the changelog."""
    backing = MemoryBacking()
    await restore_partition(
        bootstrap_servers, changelog, partition=0, backing=backing, timeout_s=10
    )
    return backing


async def committed_offset(bootstrap_servers: str, group: str, raw: TopicPartition) -> int | None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    found = offsets.get(raw)
    return None if found is None else found.offset


async def changelog_records_sent(bootstrap_servers: str, task: StreamTask, count: int) -> None:
    """Wait until the changelog holds ``count`` records, committed or not: sent early."""

    async def sent() -> bool:
        found = await records_in(
            bootstrap_servers, task.changelog, isolation_level="read_uncommitted"
        )
        return len(found) == count

    await eventually(sent, timeout_s=20, what=f"{count} changelog records sent")


async def test_changelog_records_go_early_outputs_with_the_commit(
    bootstrap_servers: str, work: Fixture
) -> None:
    task, outputs = work.task, work.handler.outputs_topic
    await work.process(0, 1, b"change-1")

    await changelog_records_sent(bootstrap_servers, task, 1)
    # The outputs wait: sent early, they would hold back other producers' committed changes.
    assert (
        await records_in(
            bootstrap_servers, outputs, isolation_level="read_uncommitted", partitions=3
        )
        == []
    )
    assert (
        await records_in(bootstrap_servers, task.changelog, isolation_level="read_committed") == []
    )

    # Written again after the early send: sent again, and the last value wins.
    await work.process(1, 2, b"change-2")
    await task.commit()

    changes: list[bytes | None] = [b"change-1", b"change-2"]
    assert await committed_values(bootstrap_servers, outputs, changes, partitions=3) == changes
    assert await records_in(
        bootstrap_servers, outputs, isolation_level="read_committed", partitions=3
    ) == [(b"d", b"change-1"), (b"d", b"change-2")]
    days: list[bytes | None] = [b"1", b"2"]
    assert await committed_values(bootstrap_servers, task.changelog, days) == days
    assert work.backing.get(EVENTS, b"d/c1") == b"2"
    assert work.backing.changelog_offset == 2
    assert (await restored(bootstrap_servers, task.changelog)).get(EVENTS, b"d/c1") == b"2"
    assert await committed_offset(bootstrap_servers, work.group_id, task.raw) == 2


async def test_an_abort_drops_what_was_sent_early(bootstrap_servers: str, work: Fixture) -> None:
    task, outputs = work.task, work.handler.outputs_topic
    await work.process(0, 1, b"kept")
    await task.commit()

    await work.process(1, 2, b"aborted")
    await changelog_records_sent(bootstrap_servers, task, 2)
    await task.abort()

    kept: list[bytes | None] = [b"kept"]
    assert await committed_values(bootstrap_servers, outputs, kept, partitions=3) == kept
    assert work.backing.get(EVENTS, b"d/c1") == b"1"
    assert (await restored(bootstrap_servers, task.changelog)).get(EVENTS, b"d/c1") == b"1"
    assert await committed_offset(bootstrap_servers, work.group_id, task.raw) == 1


async def test_partitions_can_join_a_transaction_before_their_records(
    bootstrap_servers: str, work: Fixture
) -> None:
    # aiokafka has no public call for it: if its private step ever goes, this fails first.
    task, outputs = work.task, work.handler.outputs_topic
    await work.process(0, 1, b"late")
    assert task.producer.join_early([(outputs, 2)])
    await task.commit()
    late: list[bytes | None] = [b"late"]
    assert await committed_values(bootstrap_servers, outputs, late, partitions=3) == late


async def test_no_partition_joins_when_no_transaction_is_open(work: Fixture) -> None:
    outputs = work.handler.outputs_topic
    assert not work.task.producer.join_early([(outputs, 0)])


async def test_a_batch_the_broker_refuses_fails_the_commit_instead_of_being_left_out(
    bootstrap_servers: str, work: Fixture
) -> None:
    # aiokafka fails only the refused batch's future and would commit the rest: the
    # commit must see the refusal first, and commit nothing.
    task, outputs = work.task, work.handler.outputs_topic
    await work.process(0, 1, b"x" * 1_100_000)  # more than the broker's 1 MiB a record

    with pytest.raises(KafkaError, match="MessageSizeTooLarge"):
        await task.commit()
    await task.abort()

    assert await committed_values(bootstrap_servers, outputs, [], partitions=3) == []
    assert await committed_offset(bootstrap_servers, work.group_id, task.raw) is None
