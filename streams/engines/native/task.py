"""The stream task: one owned raw partition's processing, transaction by transaction.

A task takes its partition's fetched records into a backlog, applies them through the
record handler to its ``PartitionTransaction``, collects what they give, and commits a
stretch of records at a time: their outputs, the changelog records of the table writes they
made (the last value per key), and the offset after the last of them, sent to the group's
offsets. All of it commits, or none of it does.

What may go before the commit goes early, in the background (``send_soon``): each processed
stretch's changelog records (the changelog partition is this task's alone), the group's
offsets reached so far, and the output partitions, without their records. The outputs
themselves wait for the commit, or they would hold back the committed changes of every
other producer on their partitions (docs/decisions/0008).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Final, Protocol

from aiokafka import ConsumerRecord, TopicPartition

from streams.engines.native.changelog import changelog_key
from streams.engines.native.collector import RecordCollector
from streams.engines.native.producer import Delivery, TransactionalProducer
from streams.processor.handler import Output
from streams.processor.store import StateStore
from streams.state.transaction import PartitionTransaction

logger = logging.getLogger(__name__)


class Handle(Protocol):
    """Applies one raw record to ``store``: the records to send (``RecordHandler.handle``)."""

    def __call__(
        self, *, partition: int, offset: int, key: bytes | None, value: bytes | None,
        store: StateStore,
    ) -> list[Output]: ...  # fmt: skip


#: Records processed between two yields to the event loop, so that the other partitions'
#: commits move on (docs/decisions/0010).
_YIELD_EVERY: Final = 32


class StreamTask:
    """One owned raw partition: its backlog, its transaction, its commits."""

    def __init__(
        self,
        *,
        raw: TopicPartition,
        changelog: str,
        producer: TransactionalProducer,
        transaction: PartitionTransaction,
        collector: RecordCollector,
        on_abort: Callable[[], None] = lambda: None,
    ) -> None:
        self.raw = raw
        self._on_abort = on_abort
        self.partition: int = raw.partition
        self.changelog = changelog
        self.producer = producer
        #: The partition's state: the committed backing and the open transaction's writes.
        self.transaction = transaction
        self.collector = collector
        #: Records fetched and waiting to be processed (while a commit is in flight).
        self.backlog: list[ConsumerRecord[bytes, bytes]] = []
        #: When the oldest record of the backlog was fetched (None: the backlog is empty).
        self.backlog_since: float | None = None
        #: The commit in flight, if any: no transaction begins before it ends.
        self.committing: asyncio.Task[None] | None = None
        #: The background send of what was processed (``send_soon``), if any.
        self._sending: asyncio.Task[None] | None = None
        #: The open transaction's changelog batches handed to the producer.
        self._changelog_sent: list[Delivery] = []
        #: The offset after the last record taken in the open transaction.
        self._next_offset: int | None = None
        self._began_at: float | None = None
        #: The offset after the last record processed (None before the first): the lag
        #: counts from it.
        self.processed_to: int | None = None

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

    async def process(self, handle: Handle) -> None:
        """Apply the backlog in the open transaction (opened if need be), collect what it
        gives, and send what may go early."""
        await self._begin()
        collect, partition = self.collector.collect, self.partition
        store = self.transaction
        for done, message in enumerate(self.take_out(), start=1):
            if done % _YIELD_EVERY == 0:
                # Let the producers' requests (other partitions' commits) move on.
                await asyncio.sleep(0)
            outputs = handle(
                partition=partition,
                offset=message.offset,
                key=message.key,
                value=message.value,
                store=store,
            )
            collect(outputs)
            self._next_offset = message.offset + 1
        self.processed_to = self._next_offset
        self.send_soon()

    async def _begin(self) -> None:
        """Open a transaction if none is open.

        Its age counts from when its first records were fetched, not from now: records that
        waited for the previous commit are not made to wait a whole interval more.
        """
        if self._began_at is None:
            await self.producer.begin()
            since = self.backlog_since
            self._began_at = time.monotonic() if since is None else since

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
                self._send_early(), name=f"send raw partition {self.partition}"
            )

    async def _send_early(self) -> None:
        self._collect_changelog()
        sent = await self.producer.send(self.collector.take_changelog())
        self._changelog_sent.extend(self._deliveries(sent))
        self.producer.join_early(self.collector.destinations())
        if self._next_offset is not None:
            await self.producer.join_offsets_early(self.raw, self._next_offset)

    def _collect_changelog(self) -> None:
        """Collect the changelog records of the table writes made since the last call."""
        append, changelog, partition = self.collector.append, self.changelog, self.partition
        for (table, key), value in self.transaction.prepare().items():
            append(changelog, partition, changelog_key(table, key), value)

    def _deliveries(self, sent: list[tuple[str, Delivery]]) -> list[Delivery]:
        return [delivery for topic, delivery in sent if topic == self.changelog]

    async def commit(self) -> None:
        """Commit the open transaction: outputs, changelog writes and offset, together.

        1. wait for the background send (its error fails the commit);
        2. collect the changelog records of the writes made since;
        3. commit the Kafka transaction with every batch and the group's offset;
        4. apply the writes to the committed state, with the changelog offset after them:
           the table writes become the committed state only once Kafka has said so.
        """
        if self._began_at is None:
            return
        sending, self._sending = self._sending, None  # 1
        if sending is not None:
            await sending
        self._collect_changelog()  # 2
        offsets = {} if self._next_offset is None else {self.raw: self._next_offset}
        sent = await self.producer.commit(self.collector.take_all(), offsets)  # 3
        deliveries = self._changelog_sent + self._deliveries(sent)
        self._changelog_sent = []
        self._end_transaction()
        end = None  # 4
        if deliveries:
            # The changelog's batches, all to one partition: the offset after their last.
            end = max(int(done.result().offset) + records for done, records in deliveries)
        self.transaction.commit(end)

    def _end_transaction(self) -> None:
        self._began_at = None
        self._next_offset = None

    async def abort(self) -> None:
        """Abort the open transaction (its writes are forgotten); errors are logged."""
        sending, self._sending = self._sending, None
        if sending is not None:
            sending.cancel()
            await asyncio.wait((sending,))
            if not sending.cancelled() and sending.exception() is not None:
                logger.warning("raw partition %d: a send failed: %s",
                               self.partition, sending.exception())  # fmt: skip
        self.collector.clear()
        self._changelog_sent = []
        self.transaction.abort()
        if self._began_at is None:
            return
        self._end_transaction()
        self._on_abort()
        await self.producer.abort()

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
