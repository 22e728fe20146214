"""One district's transactional producer: a page of records and the new cursor, all or nothing.

Each district has its own transactional ID (``<prefix>-<district>``). Starting the producer
fences any older producer of the district and settles its open transaction, so two pollers
for one district never both publish: the older one fails its next commit and stops.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, ProducerFenced

from connectors.exceptions import PollerFencedError
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
        bootstrap_servers: str,
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
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers,
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

    async def commit(
        self,
        records: Sequence[RawCleverRecord],
        cursor: PollerCursor,
        dead_letters: Sequence[DeadLetter] = (),
    ) -> None:
        """Write ``records``, ``dead_letters`` and ``cursor``, committed together or not at all."""
        if cursor.district_id != self.district_id:
            raise ValueError(f"cursor of {cursor.district_id} given to {self.district_id}")
        try:
            async with asyncio.timeout(self._timeout_s), self._producer.transaction():
                for record in records:
                    await self._producer.send(
                        self._topics.raw, key=self._key, value=self._codec.encode(record)
                    )
                for letter in dead_letters:
                    await self._producer.send(
                        self._topics.dead_letters, key=self._key, value=self._codec.encode(letter)
                    )
                await self._producer.send(
                    self._topics.cursors, key=self._key, value=self._codec.encode(cursor)
                )
        except ProducerFenced as error:
            raise PollerFencedError(
                f"district {self.district_id}: another poller took over its transactional ID",
                hint="run each district in one poller only; this one stops polling it",
            ) from error
        except KafkaError:
            logger.warning(
                "district %s: transaction of %d records failed", self.district_id, len(records)
            )
            raise
