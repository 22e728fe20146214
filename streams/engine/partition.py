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
from collections.abc import Mapping

from aiokafka import AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.producer.message_accumulator import BatchBuilder
from aiokafka.structs import RecordMetadata

from streams.engine.changelog import changelog_key
from streams.engine.partitioning import partition_for
from streams.engine.records import Output
from streams.engine.state import PartitionState
from streams.engine.write_back import WriteBackStore

logger = logging.getLogger(__name__)


def transactional_id(app_id: str, partition: int) -> str:
    """The transactional ID every owner of raw ``partition`` uses."""
    return f"{app_id}-raw-{partition}"


class PartitionWork:
    """One owned raw partition: begin, send, commit or abort its transactions.

    Outputs are appended to record batches, one per destination partition, and handed to
    the producer a raw batch at a time (``send_pending``): a fraction of the cost of one
    ``send`` call per record, whose futures and per-record partitioning dominated the
    engine's send path. Destinations are computed as Kafka's default partitioner does.
    """

    def __init__(
        self,
        *,
        raw: TopicPartition,
        changelog: str,
        group_id: str,
        producer: AIOKafkaProducer,
        state: PartitionState,
        store: WriteBackStore,
        partition_counts: Mapping[str, int],
    ) -> None:
        self.raw = raw
        self.partition: int = raw.partition
        self._changelog = changelog
        self._group_id = group_id
        self.producer = producer
        self.state = state
        #: The processor's store over the state; it holds decoded values until commit.
        self.store = store
        self._partition_counts = partition_counts
        #: (topic, partition) -> the batch being filled, and batches filled up, in order.
        self._filling: dict[tuple[str, int], BatchBuilder] = {}
        self._full: list[tuple[BatchBuilder, str, int]] = []
        #: Records fetched and waiting to be processed (while a commit is in flight).
        self.backlog: list[ConsumerRecord[bytes, bytes]] = []
        #: When the oldest record of the backlog was fetched (None: the backlog is empty).
        self.backlog_since: float | None = None
        #: The commit in flight, if any: no transaction begins before it ends.
        self.committing: asyncio.Task[None] | None = None
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

    def take_in(self, messages: list[ConsumerRecord[bytes, bytes]]) -> None:
        """Queue fetched records until they can be processed."""
        if not self.backlog:
            self.backlog_since = time.monotonic()
        self.backlog.extend(messages)

    def take_out(self) -> list[ConsumerRecord[bytes, bytes]]:
        """The backlog, emptied."""
        messages, self.backlog, self.backlog_since = self.backlog, [], None
        return messages

    async def begin(self) -> None:
        """Open a transaction if none is open.

        Its age counts from when its first records were fetched, not from now: records that
        waited for the previous commit are not made to wait a whole interval more.
        """
        if self._began_at is None:
            await self.producer.begin_transaction()
            since = self.backlog_since
            self._began_at = time.monotonic() if since is None else since
            self.records_in_transaction = 0

    def add(self, outputs: list[Output], *, next_offset: int) -> None:
        """Take one raw record's outputs into the open transaction, and its offset."""
        counts = self._partition_counts
        for output in outputs:
            partition = partition_for(output.key, counts[output.topic])
            self._append(output.topic, partition, output.key, output.value)
        self._next_offset = next_offset
        self.records_in_transaction += 1

    def _append(self, topic: str, partition: int, key: bytes, value: bytes | None) -> None:
        destination = (topic, partition)
        builder = self._filling.get(destination)
        if builder is None:
            builder = self._filling[destination] = self.producer.create_batch()
        if builder.append(timestamp=None, key=key, value=value) is None:
            self._full.append((builder, topic, partition))
            builder = self._filling[destination] = self.producer.create_batch()
            if builder.append(timestamp=None, key=key, value=value) is None:
                raise ValueError(f"a record for {topic} is larger than a whole batch")

    async def send_pending(self) -> list[tuple[asyncio.Future[RecordMetadata], int]]:
        """Hand every batch filled so far to the producer; their delivery futures, each
        with its record count."""
        sent = []
        batches = self._full + [(b, topic, p) for (topic, p), b in self._filling.items()]
        self._full, self._filling = [], {}
        for builder, topic, partition in batches:
            records = builder.record_count()
            delivery = await self.producer.send_batch(builder, topic, partition=partition)
            sent.append((delivery, records))
        return sent

    async def commit(self) -> None:
        """Commit the open transaction: outputs, changelog writes and offset, together.

        The table writes become the committed state only once Kafka has said so.
        """
        if self._began_at is None:
            return
        await self.send_pending()
        self.store.flush()
        writes = self.state.pending_writes()
        for (table, key), value in writes.items():
            self._append(self._changelog, self.partition, changelog_key(table, key), value)
        deliveries = await self.send_pending()
        producer = self.producer
        if self._next_offset is not None:
            offsets = {self.raw: self._next_offset}
            await producer.send_offsets_to_transaction(offsets, self._group_id)
        await producer.commit_transaction()
        self._began_at = None
        self._next_offset = None
        if deliveries:
            # The changelog's batches, all to one partition: the offset after their last.
            end = max(int(done.result().offset) + records for done, records in deliveries)
            self.state.committed_at(end)
        else:
            self.state.discard_pending()

    async def abort(self) -> None:
        """Abort the open transaction (its writes are forgotten); errors are logged."""
        self._full, self._filling = [], {}
        self.store.forget()
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
        self.take_out()
        task, self.committing = self.committing, None
        if task is not None:
            await asyncio.wait((task,))
            if task.exception() is not None:
                logger.warning("raw partition %d: its last commit failed: %s",
                               self.partition, task.exception())  # fmt: skip
        await self.abort()
        await self.producer.stop()
