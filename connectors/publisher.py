"""One shard's transactional producer: its districts' pages and cursors, all or nothing.

Districts are sharded by the cursor topic's partitions: a district's shard is the partition
its cursor key hashes to. Each shard has one transactional ID (``<prefix>-shard-<n>``), the
same on whichever poller owns the shard, so starting the producer fences the previous owner
and settles its open transaction: two pollers never both publish for a district.

The districts of a shard share the producer, and one transaction at a time: pages handed to
:meth:`ShardPublisher.commit` while a transaction is under way wait, and go together in the
next (a group commit). Each page still travels with its district's cursor in one transaction,
so the cursor in Kafka always says exactly what Kafka holds. A batch is bounded by records,
so a page of a million-record sync delays a trickling district's by one commit at most.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, ProducerFenced
from aiokafka.structs import RecordMetadata

from connectors.cursors import read_shard_cursors
from connectors.exceptions import PollerFencedError
from foundation.connection import KafkaConnection
from schemas.codec import Codec
from schemas.keys import district_key
from schemas.partitioning import partition_for
from schemas.records import DeadLetter, PollerCursor, RawCleverRecord
from schemas.topics import DEAD_LETTERS, POLLER_CURSORS, RAW_EVENTS

logger = logging.getLogger(__name__)

#: Records of one transaction, at most (a single larger page still goes alone).
MAX_BATCH_RECORDS = 20_000
#: The longest a shard's stop waits on Kafka: for its transaction's abort, then its producer.
_STOP_S = 5.0


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


def shard_transactional_id(prefix: str, shard: int) -> str:
    """The transactional ID of shard ``shard``: the same on every poller of the deployment."""
    return f"{prefix}-shard-{shard}"


@dataclass(kw_only=True)
class _Page:
    """One district's page waiting for a transaction."""

    records: Sequence[RawCleverRecord]
    cursor: PollerCursor
    dead_letters: Sequence[DeadLetter]
    done: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    @property
    def size(self) -> int:
        return len(self.records) + len(self.dead_letters) + 1


class ShardPublisher:
    """Commits pages of a shard's districts, each with its cursor, in Kafka transactions."""

    def __init__(
        self,
        kafka: KafkaConnection,
        *,
        shard: int,
        shards: int,
        topics: PollerTopics,
        transactional_id: str,
        codec: Codec,
        transaction_timeout_ms: int = 60_000,
        timeout_s: float = 30.0,
        max_batch_records: int = MAX_BATCH_RECORDS,
    ) -> None:
        self.shard = shard
        self._shards = shards
        self._topics = topics
        self._codec = codec
        self._timeout_s = timeout_s
        self._max_batch = max_batch_records
        self._counts: dict[str, int] = {}
        self._waiting: list[_Page] = []
        self._arrived = asyncio.Event()
        self._committer: asyncio.Task[None] | None = None
        self._kafka = kafka
        # Held by a transaction, and by a read of the shard's cursors: a read never misses a
        # commit made while it runs.
        self._lock = asyncio.Lock()
        #: Set once another poller took the shard over: every later commit raises it.
        self.fenced: PollerFencedError | None = None
        #: The cursor each district's last commit wrote, for a district whose poller starts
        #: over; None after a transaction whose outcome is unknown (read Kafka again then).
        self.cursors: dict[str, PollerCursor] | None = None
        self._options = {
            **kafka.client_options(),
            "transactional_id": transactional_id,
            "enable_idempotence": True,
            "acks": "all",
            "transaction_timeout_ms": transaction_timeout_ms,
            "request_timeout_ms": int(timeout_s * 1000),
            "linger_ms": 5,
        }
        self._producer = AIOKafkaProducer(**self._options)

    async def __aenter__(self) -> Self:
        await self._start()
        self._committer = asyncio.create_task(
            self._commit_batches(), name=f"shard-{self.shard}-commits"
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._committer is not None:
            self._committer.cancel()
            # Its transaction's abort waits on the broker: a stop with the broker gone would
            # wait for as long as the broker stays gone.
            await asyncio.wait([self._committer], timeout=_STOP_S)
        self._fail_waiting(asyncio.CancelledError())
        try:
            await asyncio.wait_for(self._producer.stop(), _STOP_S)
        except TimeoutError:
            logger.warning(
                "shard %d: its producer did not stop within %.0fs (Kafka unreachable?); "
                "the shard's next owner aborts what it left open",
                self.shard,
                _STOP_S,
            )

    async def _start(self) -> None:
        try:
            async with asyncio.timeout(self._timeout_s):
                await self._producer.start()
                # Beginning waits for InitProducerId, the call that fences older producers of
                # this transactional ID and settles their open transaction.
                await self._producer.begin_transaction()
                await self._producer.abort_transaction()
                for topic in (self._topics.raw, self._topics.dead_letters):
                    self._counts[topic] = len(await self._producer.partitions_for(topic))
        except ProducerFenced as error:
            await self._producer.stop()
            raise self._fenced_error() from error
        except BaseException:
            await self._producer.stop()
            raise

    async def _restart(self) -> None:
        """A new producer of the same transactional ID, after a transaction that failed: its
        start settles that transaction (aborted, unless it did commit), so Kafka's cursors are
        final again. Tried until it starts."""
        self.cursors = None
        await self._producer.stop()
        wait = 0.5
        while True:
            self._producer = AIOKafkaProducer(**self._options)
            try:
                await self._start()
            except PollerFencedError:
                raise
            except (KafkaError, TimeoutError, OSError) as error:
                logger.warning(
                    "shard %d: producer did not start (%s); trying again in %.1fs",
                    self.shard,
                    type(error).__name__,
                    wait,
                )
                await asyncio.sleep(wait)
                wait = min(wait * 2, 10.0)
            else:
                return

    def _fenced_error(self) -> PollerFencedError:
        return PollerFencedError(
            f"shard {self.shard}: another poller took over its transactional ID",
            hint="the shard moved to another poller of the group; this one stops polling "
            "its districts",
        )

    async def cursor_of(self, district_id: str) -> PollerCursor | None:
        """The district's last committed cursor (None: never had one): from the shard's
        commits, or read from Kafka after the start or a failed transaction."""
        async with self._lock:
            if self.cursors is None:
                self.cursors = await read_shard_cursors(
                    self._kafka,
                    topic=self._topics.cursors,
                    shard=self.shard,
                    codec=self._codec,
                    timeout_s=self._timeout_s,
                )
            return self.cursors.get(district_id)

    def shard_of(self, district_id: str) -> int:
        """The shard (cursor partition) ``district_id`` belongs to."""
        return partition_for(district_key(district_id), self._shards)

    async def commit(
        self,
        records: Sequence[RawCleverRecord],
        cursor: PollerCursor,
        dead_letters: Sequence[DeadLetter] = (),
    ) -> None:
        """Write ``records``, ``dead_letters`` and ``cursor``, committed together or not at all
        (with other districts' pages of the shard, in the same transaction or the next)."""
        if self.shard_of(cursor.district_id) != self.shard:
            raise ValueError(f"district {cursor.district_id} is not of shard {self.shard}")
        if self.fenced is not None:
            raise self.fenced
        page = _Page(records=records, cursor=cursor, dead_letters=dead_letters)
        self._waiting.append(page)
        self._arrived.set()
        await page.done

    async def _commit_batches(self) -> None:
        while True:
            await self._arrived.wait()
            self._arrived.clear()
            while self._waiting:
                batch = self._take_batch()
                try:
                    async with self._lock:
                        await self._transaction(batch)
                        if self.cursors is not None:
                            for page in batch:
                                self.cursors[page.cursor.district_id] = page.cursor
                except PollerFencedError as error:
                    self.fenced = error
                    for page in batch:
                        _settle(page, error)
                    self._fail_waiting(error)
                    return
                except Exception as error:
                    for page in batch:
                        _settle(page, error)
                    try:
                        await self._restart()
                    except PollerFencedError as fenced:
                        self.fenced = fenced
                        self._fail_waiting(fenced)
                        return
                else:
                    for page in batch:
                        _settle(page, None)

    def _take_batch(self) -> list[_Page]:
        batch = [self._waiting.pop(0)]
        size = batch[0].size
        while self._waiting and size + self._waiting[0].size <= self._max_batch:
            page = self._waiting.pop(0)
            batch.append(page)
            size += page.size
        return batch

    def _messages(self, page: _Page) -> Iterator[tuple[str, int, bytes, bytes]]:
        """What one page writes, in order: its records, its dead letters, its cursor."""
        encode = self._codec.encode
        key = district_key(page.cursor.district_id)
        raw, letters = self._topics.raw, self._topics.dead_letters
        raw_partition = partition_for(key, self._counts[raw])
        yield from ((raw, raw_partition, key, encode(record)) for record in page.records)
        if page.dead_letters:
            letters_partition = partition_for(key, self._counts[letters])
            for letter in page.dead_letters:
                yield letters, letters_partition, key, encode(letter)
        yield self._topics.cursors, self.shard, key, encode(page.cursor)

    async def _transaction(self, batch: list[_Page]) -> None:
        deliveries: list[asyncio.Future[RecordMetadata]] = []
        try:
            async with asyncio.timeout(self._timeout_s), self._producer.transaction():
                for page in batch:
                    for topic, partition, key, message in self._messages(page):
                        delivery = await self._producer.send(
                            topic, key=key, value=message, partition=partition
                        )
                        deliveries.append(delivery)
        except ProducerFenced as error:
            _observe_all(deliveries)
            raise self._fenced_error() from error
        except BaseException as error:
            _observe_all(deliveries)
            if isinstance(error, KafkaError | TimeoutError):
                logger.warning(
                    "shard %d: transaction of %d pages failed: %r", self.shard, len(batch), error
                )
            raise

    def _fail_waiting(self, error: BaseException) -> None:
        waiting, self._waiting = self._waiting, []
        for page in waiting:
            _settle(page, error)


def _settle(page: _Page, error: BaseException | None) -> None:
    if page.done.done():
        return
    if error is None:
        page.done.set_result(None)
    elif isinstance(error, asyncio.CancelledError):
        page.done.cancel()
    else:
        page.done.set_exception(error)


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
