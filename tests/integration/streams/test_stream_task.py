"""One raw partition's transactions on the real broker: what goes early, what waits for the commit.

The engine hands a transaction's changelog records to the producer as its records are
processed, and its outputs only at the commit (``streams/engines/native/partition.py`` says why).
Whatever was sent early, a commit makes it all visible at once, an abort none of it, and a
restore of the changelog gives exactly the committed tables.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from schemas.codec import default_codec
from streams.engines.native.partition import PartitionWork, add_to_transaction
from streams.engines.native.state import MemoryBacking, PartitionState
from streams.engines.native.write_back import WriteBackStore
from streams.processor.handler import Output
from streams.state.tables import TableStore
from tests.conftest import TopicFactory
from tests.integration.streams.restoring import restore_partition
from tests.waiting import eventually

pytestmark = pytest.mark.integration

GROUP = "partition-work-test"


@pytest.fixture
async def work(bootstrap_servers: str, topic_factory: TopicFactory) -> AsyncIterator[PartitionWork]:
    """Raw partition 0's work, with an output topic of 3 partitions and a changelog."""
    raw = await topic_factory(partitions=1)
    outputs = await topic_factory(partitions=3)
    changelog = await topic_factory(partitions=1, **{"cleanup.policy": "compact"})
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        transactional_id=f"{raw}-raw-0",
        enable_idempotence=True,
        acks="all",
    )
    await producer.start()
    state = PartitionState(0, MemoryBacking())
    work = PartitionWork(
        raw=TopicPartition(raw, 0),
        changelog=changelog,
        group_id=GROUP + raw,
        producer=producer,
        state=state,
        store=WriteBackStore(TableStore(state.tables, codec=default_codec())),
        partition_counts={outputs: 3},
    )
    try:
        yield work
    finally:
        await work.close()


def output_topic(work: PartitionWork) -> str:
    """The output topic the fixture made: the one the work knows how to partition."""
    (topic,) = work.partition_counts
    return topic


async def records_in(
    bootstrap_servers: str, topic: str, *, isolation_level: str, partitions: int = 1
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


async def changelog_records_sent(bootstrap_servers: str, work: PartitionWork, count: int) -> None:
    """Wait until the changelog holds ``count`` records, committed or not: sent early."""

    async def sent() -> bool:
        found = await records_in(
            bootstrap_servers, work.changelog, isolation_level="read_uncommitted"
        )
        return len(found) == count

    await eventually(sent, timeout_s=20, what=f"{count} changelog records sent")


async def test_changelog_records_go_early_outputs_with_the_commit(
    bootstrap_servers: str, work: PartitionWork
) -> None:
    outputs = output_topic(work)
    await work.begin()
    work.state.tables.contacts[b"d/c1"] = b"one"
    work.add([Output(outputs, b"d", b"change-1")], next_offset=1)
    work.send_soon()

    await changelog_records_sent(bootstrap_servers, work, 1)
    # The outputs wait: sent early, they would hold back other producers' committed changes.
    assert (
        await records_in(
            bootstrap_servers, outputs, isolation_level="read_uncommitted", partitions=3
        )
        == []
    )
    assert (
        await records_in(bootstrap_servers, work.changelog, isolation_level="read_committed") == []
    )

    # Written again after the early send: sent again, and the last value wins.
    work.state.tables.contacts[b"d/c1"] = b"two"
    work.add([Output(outputs, b"d", b"change-2")], next_offset=2)
    await work.commit()

    assert await records_in(
        bootstrap_servers, outputs, isolation_level="read_committed", partitions=3
    ) == [
        (b"d", b"change-1"),
        (b"d", b"change-2"),
    ]
    assert [value for _, value in await records_in(
        bootstrap_servers, work.changelog, isolation_level="read_committed"
    )] == [b"one", b"two"]  # fmt: skip
    assert work.state.committed.contacts.get(b"d/c1") == b"two"
    assert work.state.backing.changelog_offset == 2
    assert (await restored(bootstrap_servers, work.changelog)).get("contacts", b"d/c1") == b"two"
    assert await committed_offset(bootstrap_servers, work.group_id, work.raw) == 2


async def test_an_abort_drops_what_was_sent_early(
    bootstrap_servers: str, work: PartitionWork
) -> None:
    outputs = output_topic(work)
    await work.begin()
    work.state.tables.contacts[b"d/c1"] = b"kept"
    work.add([Output(outputs, b"d", b"kept")], next_offset=1)
    await work.commit()

    await work.begin()
    work.state.tables.contacts[b"d/c1"] = b"aborted"
    work.add([Output(outputs, b"d", b"aborted")], next_offset=2)
    work.send_soon()

    await changelog_records_sent(bootstrap_servers, work, 2)
    await work.abort()

    assert await records_in(
        bootstrap_servers, outputs, isolation_level="read_committed", partitions=3
    ) == [(b"d", b"kept")]
    assert work.state.committed.contacts.get(b"d/c1") == b"kept"
    assert (await restored(bootstrap_servers, work.changelog)).get("contacts", b"d/c1") == b"kept"
    assert await committed_offset(bootstrap_servers, work.group_id, work.raw) == 1


async def test_partitions_can_join_a_transaction_before_their_records(
    bootstrap_servers: str, work: PartitionWork
) -> None:
    # aiokafka has no public call for it: if its private step ever goes, this fails first.
    await work.begin()
    outputs = output_topic(work)
    assert add_to_transaction(work.producer, [TopicPartition(outputs, 2)])
    work.add([Output(outputs, b"d", b"late")], next_offset=1)
    await work.commit()
    assert await records_in(
        bootstrap_servers, outputs, isolation_level="read_committed", partitions=3
    ) == [(b"d", b"late")]


async def test_no_partition_joins_when_no_transaction_is_open(work: PartitionWork) -> None:
    outputs = output_topic(work)
    assert not add_to_transaction(work.producer, [TopicPartition(outputs, 0)])
