"""One district's transactional producer: a page of records and the new cursor, all or nothing.

Each district has its own transactional ID (``<prefix>-<district>``). Starting the producer
fences any older producer of the district and settles its open transaction, so two pollers
for one district never both publish: the older one fails its next commit and stops.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, ProducerFenced
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.structs import RecordMetadata

from connectors.exceptions import PollerFencedError
from foundation.connection import KafkaConnection
from schemas.codec import Codec
from schemas.keys import district_key
from schemas.records import DeadLetter, PollerCursor, RawCleverRecord
from schemas.topics import DEAD_LETTERS, POLLER_CURSORS, RAW_EVENTS

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class PollerTopics:
    """The topics the poller writes, named for one deployment's prefix."""

    raw: str
    cursors: str
    dead_letters: str

    @classmethod
    def for_prefix(cls, prefix: str) -> PollerTopics:
        """The poller's topics under ``prefix``."""
        return cls(
            raw=RAW_EVENTS.name(prefix),
            cursors=POLLER_CURSORS.name(prefix),
            dead_letters=DEAD_LETTERS.name(prefix),
        )


class DistrictPublisher:
    """Commits raw records, dead letters and the district's cursor in one Kafka transaction."""

    def __init__(
        self,
        kafka: KafkaConnection,
        *,
        district_id: str,
        topics: PollerTopics,
        transactional_id: str,
        codec: Codec,
        transaction_timeout_ms: int = 60_000,
        timeout_s: float = 30.0,
    ) -> None:
        self.district_id = district_id
        self._topics = topics
        self._codec = codec
        self._timeout_s = timeout_s
        self._key = district_key(district_id)
        self._partitions: dict[str, int] = {}
        self._producer = AIOKafkaProducer(
            **kafka.client_options(),
            transactional_id=transactional_id,
            enable_idempotence=True,
            acks="all",
            transaction_timeout_ms=transaction_timeout_ms,
            request_timeout_ms=int(timeout_s * 1000),
            linger_ms=5,
        )

    async def __aenter__(self) -> Self:
        try:
            async with asyncio.timeout(self._timeout_s):
                await self._producer.start()
                # Beginning waits for InitProducerId, the call that fences older producers of
                # this transactional ID and settles their open transaction.
                await self._producer.begin_transaction()
                await self._producer.abort_transaction()
                self._partitions = {
                    topic: await self._partition_of(topic)
                    for topic in (self._topics.raw, self._topics.dead_letters, self._topics.cursors)
                }
        except BaseException:
            await self._producer.stop()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._producer.stop()

    async def _partition_of(self, topic: str) -> int:
        """The partition the district's key hashes to, as Kafka's default partitioner does.

        Computed once per start rather than hashed again for every record of every page.
        """
        partitions = sorted(await self._producer.partitions_for(topic))
        return DefaultPartitioner()(self._key, partitions, partitions)

    def _messages(
        self,
        records: Sequence[RawCleverRecord],
        cursor: PollerCursor,
        dead_letters: Sequence[DeadLetter],
    ) -> Iterator[tuple[str, bytes]]:
        """What one transaction writes, in order: the page, its dead letters, the cursor."""
        encode = self._codec.encode
        yield from ((self._topics.raw, encode(record)) for record in records)
        yield from ((self._topics.dead_letters, encode(letter)) for letter in dead_letters)
        yield self._topics.cursors, encode(cursor)

    async def commit(
        self,
        records: Sequence[RawCleverRecord],
        cursor: PollerCursor,
        dead_letters: Sequence[DeadLetter] = (),
    ) -> None:
        """Write ``records``, ``dead_letters`` and ``cursor``, committed together or not at all."""
        if cursor.district_id != self.district_id:
            raise ValueError(f"cursor of {cursor.district_id} given to {self.district_id}")
        deliveries: list[asyncio.Future[RecordMetadata]] = []
        try:
            async with asyncio.timeout(self._timeout_s), self._producer.transaction():
                for topic, message in self._messages(records, cursor, dead_letters):
                    delivery = await self._producer.send(
                        topic, key=self._key, value=message, partition=self._partitions[topic]
                    )
                    deliveries.append(delivery)
        except ProducerFenced as error:
            _observe_all(deliveries)
            raise PollerFencedError(
                f"district {self.district_id}: another poller took over its transactional ID",
                hint="run each district in one poller only; this one stops polling it",
            ) from error
        except BaseException as error:
            _observe_all(deliveries)
            if isinstance(error, KafkaError):
                logger.warning(
                    "district %s: transaction of %d records failed: %r",
                    self.district_id,
                    len(records),
                    error,
                )
            raise


def _observe_all(deliveries: list[asyncio.Future[RecordMetadata]]) -> None:
    """Mark the deliveries' errors as seen: the transaction's failure is the one reported.

    Each delivery of a failed transaction fails with it; unobserved, asyncio would log every
    one of them again as "Future exception was never retrieved".
    """
    for delivery in deliveries:
        delivery.add_done_callback(_observe)


def _observe(delivery: asyncio.Future[RecordMetadata]) -> None:
    if not delivery.cancelled():
        delivery.exception()
