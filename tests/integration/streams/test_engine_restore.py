"""The engine's changelog restore on the real broker: committed writes only, to the very end.

A changelog ends with transaction markers, and aborted writes sit among committed ones; the
restorer must apply exactly the committed writes, in order, reach the last stable offset
without waiting on markers that are never delivered, and, from a RocksDB folder that holds
part of them, read only the rest.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from streams.engines.native.changelog import changelog_key
from streams.engines.native.rocksdb import RocksDBBacking
from streams.state.backing import MemoryBacking, TableBacking
from streams.state.tables import CONTACTS, DISTRICTS
from tests.conftest import TopicFactory
from tests.integration.streams.restoring import restore_partition

pytestmark = pytest.mark.integration


async def write_transactions(
    bootstrap_servers: str, topic: str, transactions: list[tuple[bool, dict[bytes, bytes | None]]]
) -> None:
    """Each (commit?, writes) as one transaction on partition 1 of ``topic``."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers, transactional_id=f"{topic}-writer"
    )
    await producer.start()
    try:
        for commit, writes in transactions:
            await producer.begin_transaction()
            for key, value in writes.items():
                await producer.send(topic, value, key=key, partition=1)
            if commit:
                await producer.commit_transaction()
            else:
                await producer.abort_transaction()
    finally:
        await producer.stop()


async def restored(bootstrap_servers: str, topic: str, backing: TableBacking) -> int:
    """Restore partition 1 into ``backing``; the records applied (a restore that waited on
    the markers at the end would fail after 5 s without progress, rather than be slow)."""
    return await restore_partition(
        bootstrap_servers, topic, partition=1, backing=backing, timeout_s=5
    )


def contact(number: int) -> bytes:
    return changelog_key(CONTACTS, f"d/c{number}".encode())


async def test_only_committed_writes_are_restored_and_the_end_is_reached_at_once(
    bootstrap_servers: str, topic_factory: TopicFactory, tmp_path: Path
) -> None:
    topic = await topic_factory(partitions=2, **{"cleanup.policy": "compact"})
    progress = changelog_key(DISTRICTS, b"d")
    await write_transactions(
        bootstrap_servers,
        topic,
        [
            (True, {contact(1): b"one", contact(2): b"two", progress: b"p1"}),
            (False, {contact(1): b"aborted", contact(3): b"aborted"}),
            (True, {contact(2): None, progress: b"p2"}),
            (False, {progress: b"aborted"}),  # the changelog ends with an aborted write
        ],
    )

    memory = MemoryBacking()
    assert await restored(bootstrap_servers, topic, memory) == 5
    assert memory.get(CONTACTS, b"d/c1") == b"one"
    assert memory.get(CONTACTS, b"d/c2") is None
    assert memory.get(CONTACTS, b"d/c3") is None
    assert memory.get(DISTRICTS, b"d") == b"p2"
    # Past the markers and the aborted batches too: nothing left to read from here.
    assert memory.changelog_offset > 5
    assert await restored(bootstrap_servers, topic, memory) == 0

    # RocksDB files that hold the first transaction read only what came after it.
    folder = tmp_path / "raw-1"
    files = RocksDBBacking.open(folder)
    files.apply({(CONTACTS, b"d/c1"): b"one", (CONTACTS, b"d/c2"): b"two"}, changelog_offset=3)
    files.close()
    files = RocksDBBacking.open(folder)
    try:
        assert await restored(bootstrap_servers, topic, files) == 2
        assert files.get(CONTACTS, b"d/c1") == b"one"
        assert files.get(CONTACTS, b"d/c2") is None
        assert files.get(DISTRICTS, b"d") == b"p2"
        assert files.changelog_offset == memory.changelog_offset
    finally:
        files.close()
