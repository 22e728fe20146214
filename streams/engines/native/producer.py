"""A raw partition's transactional producer: the one place that touches aiokafka's internals.

Each raw partition has a transactional ID of its own, ``<app_id>-raw-<partition>``, the same
on whichever worker owns the partition. Starting a producer with it fences the previous owner
(a worker presumed dead that wakes up can no longer commit) and ends its open transaction,
so the changelog and the group's offsets are final when the new owner reads them
(docs/decisions/0006).

Records go as whole batches (``BatchBuilder``s the record collector filled), not one
``send`` each. What may go before the commit goes early (``send_early``, ``join_early``):
the commit then has fewer requests left to wait for (docs/decisions/0008).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from typing import Final

from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.producer.message_accumulator import BatchBuilder
from aiokafka.structs import RecordMetadata

from foundation.connection import KafkaConnection

logger = logging.getLogger(__name__)

#: Bytes of records per batch the collector fills (Kafka's default limit is about 1 MiB).
MAX_BATCH_BYTES: Final = 512 * 1024
#: How soon a transactional request is retried: the coordinator often answers a new
#: transaction's first requests with "concurrent transactions" (docs/decisions/0010).
TRANSACTION_RETRY_MS: Final = 10

#: A batch handed to the producer: its delivery, and how many records it carries.
Delivery = tuple[asyncio.Future[RecordMetadata], int]


def transactional_id(app_id: str, partition: int) -> str:
    """The transactional ID every owner of raw ``partition`` uses."""
    return f"{app_id}-raw-{partition}"


class TransactionalProducer:
    """An ``AIOKafkaProducer`` with one transactional ID, seen as the task needs it."""

    def __init__(self, producer: AIOKafkaProducer, *, group_id: str, name: str) -> None:
        self._producer = producer
        self._group_id = group_id
        #: Its transactional ID, for the logs.
        self.name = name
        #: The output partitions added to the open transaction ahead of their records.
        self._joined: set[tuple[str, int]] = set()
        #: Whether the group's offsets joined the open transaction already.
        self._offsets_joined = False
        #: The deliveries of every batch of the open transaction, checked before its commit.
        self._in_transaction: list[asyncio.Future[RecordMetadata]] = []

    @classmethod
    async def start(
        cls,
        *,
        kafka: KafkaConnection,
        app_id: str,
        partition: int,
        request_timeout_s: float,
    ) -> TransactionalProducer:
        """A started producer for raw ``partition``: its previous owner is fenced."""
        name = transactional_id(app_id, partition)
        producer = AIOKafkaProducer(
            **kafka.client_options(),
            client_id=name,
            transactional_id=name,
            enable_idempotence=True,
            acks="all",
            max_batch_size=MAX_BATCH_BYTES,
            retry_backoff_ms=TRANSACTION_RETRY_MS,
            request_timeout_ms=int(request_timeout_s * 1000),
        )
        # init_transactions: fences the previous owner and ends its open transaction.
        try:
            await producer.start()
        except BaseException:  # cancelled too (the worker stops): nothing left open
            await producer.stop()
            raise
        return cls(producer, group_id=app_id, name=name)

    async def partition_counts(self, topics: Iterable[str]) -> dict[str, int]:
        """How many partitions each of ``topics`` has."""
        return {topic: len(await self._producer.partitions_for(topic)) for topic in topics}

    def create_batch(self) -> BatchBuilder:
        """An empty batch for the record collector to fill."""
        return self._producer.create_batch()

    async def begin(self) -> None:
        await self._producer.begin_transaction()

    async def send(
        self, batches: Iterable[tuple[BatchBuilder, str, int]]
    ) -> list[tuple[str, Delivery]]:
        """Hand full batches to the producer, in order; (topic, delivery) of each."""
        sent = []
        for builder, topic, partition in batches:
            records = builder.record_count()
            builder.close()  # complete: the producer must not linger for more
            delivery = await self._producer.send_batch(builder, topic, partition=partition)
            self._in_transaction.append(delivery)
            sent.append((topic, (delivery, records)))
        return sent

    def join_early(self, destinations: Iterable[tuple[str, int]]) -> bool:
        """Add output partitions to the open transaction now, ahead of their records; whether
        they are in it now.

        aiokafka adds a partition when the first batch for it is queued, and holds the batch
        until the coordinator has answered; it has no public call for doing so earlier. Its
        transaction manager's own step is used (aiokafka 0.14, pinned; a test fails first if
        it goes; docs/decisions/0008). A partition added without records holds no
        read_committed consumer back: the last stable offset stops at a transaction's first
        record in a partition, not at its adding.
        """
        new = [d for d in destinations if d not in self._joined]
        if not new:
            return True
        # aiokafka's transaction manager: no public call adds a partition ahead of its batch.
        manager = self._producer._txn_manager  # noqa: SLF001 - see above; aiokafka pinned
        if manager is None or not manager.is_in_transaction():
            # Not transactional; or the transaction failed meanwhile, which its commit reports.
            return False
        for topic, partition in new:
            manager.maybe_add_partition_to_txn(TopicPartition(topic, partition))
        self._joined.update(new)
        return True

    async def join_offsets_early(self, raw: TopicPartition, next_offset: int) -> None:
        """Add the group to the open transaction now (the commit sends the final offsets)."""
        if not self._offsets_joined:
            self._offsets_joined = True
            await self._producer.send_offsets_to_transaction({raw: next_offset}, self._group_id)

    async def commit(
        self,
        batches: Iterable[tuple[BatchBuilder, str, int]],
        offsets: Mapping[TopicPartition, int],
    ) -> list[tuple[str, Delivery]]:
        """Commit the open transaction with the last ``batches`` and the group's ``offsets``.

        1. hand the last batches to the producer (every earlier one is queued already);
        2. send the consumed offsets to the group coordinator, in the transaction
           (``AddOffsetsToTxn`` was sent early, so this is ``TxnOffsetCommit`` alone);
        3. wait for every batch of the transaction to be delivered, and raise the error of
           any the broker refused: aiokafka fails only that batch's future (a record larger
           than the broker takes, a topic this client may not write) and would commit the
           transaction without it, losing its records;
        4. end the transaction (``EndTxn``): the records, the offsets and the markers commit
           together, or none of them.

        Returns the deliveries of step 1, now complete.
        """
        sent = await self.send(batches)  # 1
        if offsets:
            await self._producer.send_offsets_to_transaction(dict(offsets), self._group_id)  # 2
        delivered = await asyncio.gather(*self._in_transaction, return_exceptions=True)  # 3
        for outcome in delivered:
            if isinstance(outcome, BaseException):
                raise outcome
        await self._producer.commit_transaction()  # 4
        self._end()
        return sent

    async def abort(self) -> None:
        """Abort the open transaction; errors are logged (the producer may be fenced, the
        broker gone: the transaction ends with it, by Kafka's timeout if not by us)."""
        self._end()
        try:
            await self._producer.abort_transaction()
        except Exception as error:
            logger.warning("aborting transaction %s failed: %s", self.name, error)

    async def stop(self) -> None:
        await self._producer.stop()

    def _end(self) -> None:
        self._joined.clear()
        self._offsets_joined = False
        self._in_transaction = []
