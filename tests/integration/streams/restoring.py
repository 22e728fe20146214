"""Restoring one raw partition's tables from a changelog, as a new owner of it would."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer

from streams.engines.native.changelog import ChangelogRestorer
from streams.state.backing import TableBacking


async def restore_partition(
    bootstrap_servers: str,
    changelog: str,
    *,
    partition: int,
    backing: TableBacking,
    timeout_s: float,
) -> int:
    """Restore raw ``partition``'s tables from ``changelog`` into ``backing``; the records
    applied.

    The restorer raises if it sees no progress for ``timeout_s``, so a restore that waited
    on the markers at the end (never delivered) fails rather than being slow.
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        isolation_level="read_committed",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        restorer = ChangelogRestorer(consumer, changelog, timeout_s=timeout_s)
        if not await restorer.begin(partition, backing):
            return 0
        applied = 0
        while restorer.busy:
            for _, records in await restorer.step(max_wait_ms=100):
                applied += records
        return applied
    finally:
        await consumer.stop()
