"""The work on one raw partition: its state, its transactional producer, its open transaction.

Each raw partition has a transactional ID of its own, ``<app_id>-raw-<partition>``, the
same on whichever worker owns the partition. A worker that takes the partition over starts
a producer with that ID before it reads anything: Kafka then fences the previous owner (a
worker presumed dead that wakes up can no longer commit) and aborts its open transaction,
so the changelog and the group's offsets are final when the new owner reads them.

A transaction carries a stretch of the partition's raw records: their outputs, the
changelog records of the table writes they made (the last value per key), and the offset
after the last of them, sent to the group's offsets (``send_offsets_to_transaction``). All of
it commits, or none of it does.
"""

from __future__ import annotations

import asyncio
import logging
import time

from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.structs import RecordMetadata

from streams.engine.changelog import changelog_key
from streams.engine.records import Output
from streams.engine.state import PartitionState

logger = logging.getLogger(__name__)


def transactional_id(app_id: str, partition: int) -> str:
    """The transactional ID every owner of raw ``partition`` uses."""
    return f"{app_id}-raw-{partition}"


class PartitionWork:
    """One owned raw partition: begin, send, commit or abort its transactions."""

    def __init__(
        self,
        *,
        raw: TopicPartition,
        changelog: str,
        group_id: str,
        producer: AIOKafkaProducer,
        state: PartitionState,
    ) -> None:
        self.raw = raw
        self.partition: int = raw.partition
        self._changelog = changelog
        self._group_id = group_id
        self.producer = producer
        self.state = state
        #: The offset after the last record taken in the open transaction.
        self._next_offset: int | None = None
        self._began_at: float | None = None
        self.records_in_transaction = 0

    @property
    def in_transaction(self) -> bool:
        return self._began_at is not None

    def open_for_s(self, now: float) -> float:
        """How long the open transaction has been open (0 without one)."""
        return 0.0 if self._began_at is None else now - self._began_at

    async def begin(self) -> None:
        """Open a transaction if none is open."""
        if self._began_at is None:
            await self.producer.begin_transaction()
            self._began_at = time.monotonic()
            self.records_in_transaction = 0

    async def send(self, outputs: list[Output], *, next_offset: int) -> None:
        """Send one raw record's outputs in the open transaction, and take its offset."""
        producer = self.producer
        for output in outputs:
            await producer.send(output.topic, output.value, key=output.key)
        self._next_offset = next_offset
        self.records_in_transaction += 1

    async def commit(self) -> None:
        """Commit the open transaction: outputs, changelog writes and offset, together.

        The table writes become the committed state only once Kafka has said so.
        """
        if self._began_at is None:
            return
        producer = self.producer
        deliveries: list[asyncio.Future[RecordMetadata]] = []
        for (table, key), value in self.state.pending_writes().items():
            deliveries.append(
                await producer.send(
                    self._changelog, value, key=changelog_key(table, key), partition=self.partition
                )
            )
        if self._next_offset is not None:
            offsets = {self.raw: self._next_offset}
            await producer.send_offsets_to_transaction(offsets, self._group_id)
        await producer.commit_transaction()
        self._began_at = None
        self._next_offset = None
        if deliveries:
            last = max(delivery.result().offset for delivery in deliveries)
            self.state.committed_at(last + 1)
        else:
            self.state.discard_pending()

    async def abort(self) -> None:
        """Abort the open transaction (its writes are forgotten); errors are logged."""
        self.state.discard_pending()
        if self._began_at is None:
            return
        self._began_at = None
        self._next_offset = None
        try:
            await self.producer.abort_transaction()
        except Exception as error:  # the producer may be fenced or the broker gone: it ends here
            logger.warning(
                "raw partition %d: aborting its transaction failed: %s", self.partition, error
            )

    async def close(self) -> None:
        """Stop the producer; an open transaction is aborted (by Kafka, if not by us)."""
        await self.abort()
        await self.producer.stop()
