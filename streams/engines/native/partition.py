"""The work on one raw partition: its state, its transactional producer, its open transaction.

Each raw partition has a transactional ID of its own, ``<app_id>-raw-<partition>``, the
same on whichever worker owns the partition. A worker that takes the partition over starts
a producer with that ID before it reads anything: Kafka then fences the previous owner (a
worker presumed dead that wakes up can no longer commit) and aborts its open transaction,
so the changelog and the group's offsets are final when the new owner reads them.

A transaction carries a stretch of the partition's raw records: their outputs, the
changelog records of the table writes they made (the last value per key of each stretch
processed at once), and the offset after the last of them, sent to the group's offsets
(``send_offsets_to_transaction``). All of it commits, or none of it does.

A commit used to be five requests in a row (``AddPartitionsToTxn``, ``Produce``,
``AddOffsetsToTxn``, ``TxnOffsetCommit``, ``EndTxn``): at 1,000 records/s, most of a change's
latency after the commit interval. So what can go early does, in the background: each
processed stretch's changelog records, and the group's offsets reached so far (which adds
the group to the transaction). The outputs themselves wait for the commit: the topics they
go to are shared by every raw partition's producer, and a ``read_committed`` consumer reads
no further than the first record of the oldest open transaction on a partition, so outputs
sent early would hold the other producers' committed changes back until this transaction
ends. The changelog partition is this producer's alone. The outputs' partitions are added to the
transaction early, though, without records (``add_to_transaction``): the commit then sends
them at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping

from aiokafka import AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.producer.message_accumulator import BatchBuilder
from aiokafka.structs import RecordMetadata

from streams.engines.native.changelog import changelog_key
from streams.engines.native.partitioning import partition_for
from streams.engines.native.state import PartitionState
from streams.engines.native.write_back import WriteBackStore
from streams.processor.handler import Output

logger = logging.getLogger(__name__)


def add_to_transaction(producer: AIOKafkaProducer, partitions: list[TopicPartition]) -> bool:
    """Add ``partitions`` to the producer's open transaction now, ahead of their records.

    aiokafka adds a partition when the first batch for it is queued, and holds the batch
    until the coordinator has answered; it has no public call for doing so earlier. Its
    transaction manager's own step is used (aiokafka 0.14, pinned); should it ever be
    missing, nothing is added early and the batches add their partitions as before (False).
    A partition added without records holds no read_committed consumer back: the last
    stable offset stops at a transaction's first record in a partition, not at its adding.
    """
    manager = getattr(producer, "_txn_manager", None)
    add = getattr(manager, "maybe_add_partition_to_txn", None)
    in_transaction = getattr(manager, "is_in_transaction", None)
    if add is None or in_transaction is None or not in_transaction():
        # No such step; or the transaction failed meanwhile, which its commit will report.
        return False
    for partition in partitions:
        add(partition)
    return True


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
        self.changelog = changelog
        self.group_id = group_id
        self.producer = producer
        self.state = state
        #: The processor's store over the state; it holds decoded values until commit.
        self.store = store
        self.partition_counts = partition_counts
        #: (topic, partition) -> the batch being filled, and batches filled up, in order.
        self._filling: dict[tuple[str, int], BatchBuilder] = {}
        self._full: list[tuple[BatchBuilder, str, int]] = []
        #: Records fetched and waiting to be processed (while a commit is in flight).
        self.backlog: list[ConsumerRecord[bytes, bytes]] = []
        #: When the oldest record of the backlog was fetched (None: the backlog is empty).
        self.backlog_since: float | None = None
        #: The commit in flight, if any: no transaction begins before it ends.
        self.committing: asyncio.Task[None] | None = None
        #: The background send of what was processed (``send_soon``), if any.
        self._sending: asyncio.Task[None] | None = None
        #: The open transaction's changelog batches: their delivery, with their record count.
        self._changelog_sent: list[tuple[asyncio.Future[RecordMetadata], int]] = []
        #: Whether the group's offsets joined the open transaction already.
        self._offsets_sent = False
        #: The output partitions added to the open transaction ahead of their records.
        self._added: set[tuple[str, int]] = set()
        #: The offset after the last record taken in the open transaction.
        self._next_offset: int | None = None
        self._began_at: float | None = None

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

    def add(self, outputs: list[Output], *, next_offset: int) -> None:
        """Take one raw record's outputs into the open transaction, and its offset."""
        counts = self.partition_counts
        for output in outputs:
            partition = partition_for(output.key, counts[output.topic])
            self._append(output.topic, partition, output.key, output.value)
        self._next_offset = next_offset

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

    def send_soon(self) -> None:
        """Send what can go before the commit, in the background, unless a send is under
        way (what it did not take waits for the next call or the commit).

        A send waits while an earlier batch for the same destination is still queued in
        the producer: in a task of its own, that wait holds up no processing.
        """
        sending = self._sending
        if sending is not None:
            if not sending.done():
                return
            self._sending = None
            sending.result()  # a send that failed fails the transaction here
        if self._began_at is not None:
            self._sending = asyncio.create_task(
                self._send_processed(), name=f"send raw partition {self.partition}"
            )

    async def _send_processed(self) -> None:
        self._stage_changelog()
        await self.send_pending(outputs=False)
        destinations = [d for d in (*self._filling, *((t, p) for _, t, p in self._full))
                        if d not in self._added]  # fmt: skip
        if destinations and add_to_transaction(
            self.producer, [TopicPartition(topic, p) for topic, p in destinations]
        ):
            self._added.update(destinations)
        if not self._offsets_sent and self._next_offset is not None:
            # Adds the group to the transaction now; the commit sends the final offsets.
            self._offsets_sent = True
            await self.producer.send_offsets_to_transaction(
                {self.raw: self._next_offset}, self.group_id
            )

    def _stage_changelog(self) -> None:
        """Batch the changelog records of the table writes made since the last call."""
        self.store.flush()
        for (table, key), value in self.state.take_unsent().items():
            self._append(self.changelog, self.partition, changelog_key(table, key), value)

    async def send_pending(self, *, outputs: bool = True) -> None:
        """Hand the batches filled so far to the producer, in order: all of them, or the
        changelog's only (the outputs wait for the commit, see the module's doc)."""
        batches = self._full + [(b, topic, p) for (topic, p), b in self._filling.items()]
        if outputs:
            self._full, self._filling = [], {}
        else:
            changelog = self.changelog
            batches = [batch for batch in batches if batch[1] == changelog]
            self._full = [batch for batch in self._full if batch[1] != changelog]
            self._filling = {d: b for d, b in self._filling.items() if d[0] != changelog}
        for builder, topic, partition in batches:
            records = builder.record_count()
            builder.close()  # complete: the producer must not linger for more
            delivery = await self.producer.send_batch(builder, topic, partition=partition)
            if topic == self.changelog:
                self._changelog_sent.append((delivery, records))

    async def commit(self) -> None:
        """Commit the open transaction: outputs, changelog writes and offset, together.

        The table writes become the committed state only once Kafka has said so.
        """
        if self._began_at is None:
            return
        await self._settle_send()
        self._stage_changelog()
        await self.send_pending()
        producer = self.producer
        if self._next_offset is not None:
            offsets = {self.raw: self._next_offset}
            await producer.send_offsets_to_transaction(offsets, self.group_id)
        await producer.commit_transaction()
        deliveries, self._changelog_sent = self._changelog_sent, []
        self._end_transaction()
        if deliveries:
            # The changelog's batches, all to one partition: the offset after their last.
            end = max(int(done.result().offset) + records for done, records in deliveries)
            self.state.committed_at(end)
        else:
            self.state.discard_pending()

    async def _settle_send(self) -> None:
        """Wait for the background send; raise its error."""
        sending, self._sending = self._sending, None
        if sending is not None:
            await sending

    def _end_transaction(self) -> None:
        self._began_at = None
        self._next_offset = None
        self._offsets_sent = False
        self._added.clear()

    async def abort(self) -> None:
        """Abort the open transaction (its writes are forgotten); errors are logged."""
        sending, self._sending = self._sending, None
        if sending is not None:
            sending.cancel()
            await asyncio.wait((sending,))
            if not sending.cancelled() and sending.exception() is not None:
                logger.warning("raw partition %d: a send failed: %s",
                               self.partition, sending.exception())  # fmt: skip
        self._full, self._filling, self._changelog_sent = [], {}, []
        self.store.forget()
        self.state.discard_pending()
        if self._began_at is None:
            return
        self._end_transaction()
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
