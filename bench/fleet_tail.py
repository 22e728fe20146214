"""The fleet benchmark's ``read_committed`` tail of the raw topic: when each event became
readable, and the big district's sync counted by key (its records are not decoded: a million
of them would take the benchmark's CPU from the poller it measures)."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.exceptions import BenchError
from schemas.codec import default_codec
from schemas.records import RawCleverRecord
from schemas.values import RawRecordKind

#: How long the tail's fetches wait for records: small, so it adds little to what it times.
_TAIL_WAIT_MS = 10
#: A raw record this small holds no Clever JSON: a sync's control record, decoded to find
#: the big sync's completion (every snapshot record is larger).
CONTROL_RECORD_MAX_BYTES = 512


class RawTail:
    """What the tail saw, and when (``time.time()`` when the fetch returned)."""

    def __init__(self, consumer: AIOKafkaConsumer, *, big_id: str) -> None:
        self.consumer = consumer
        self._big_id = big_id
        self._big_key = big_id.encode()
        #: Event ID -> when its record became readable, and its ``created``.
        self.seen: dict[str, float] = {}
        self.created: dict[str, float] = {}
        #: Event ID -> when the poller had its page (the record's ``fetched_at``).
        self.fetched: dict[str, float] = {}
        #: District -> the newest ``created`` among its events seen.
        self.newest: dict[str, float] = {}
        self.big_records = 0
        self.big_first: float | None = None
        self.big_completed: float | None = None
        self.task: asyncio.Task[None] | None = None

    @property
    def big_sync_s(self) -> float:
        """Seconds from the big district's first record to its sync's completion (NaN: not
        completed)."""
        if self.big_first is None or self.big_completed is None:
            return math.nan
        return self.big_completed - self.big_first

    def check(self) -> None:
        """Raise the tail's error if it stopped reading."""
        if self.task is not None and self.task.done() and not self.task.cancelled():
            error = self.task.exception()
            raise BenchError(
                f"the fleet benchmark's tail stopped reading: {error!r}",
                hint="a bug in the benchmark, or the broker went away",
            ) from error

    async def run(self, stop: asyncio.Event) -> None:
        """Note every record as it becomes readable, until ``stop``."""
        decode = default_codec().decode
        while not stop.is_set():
            batches = await self.consumer.getmany(timeout_ms=100)
            now = time.time()
            for messages in batches.values():
                for message in messages:
                    value = message.value
                    if value is None:
                        continue
                    if message.key == self._big_key:
                        self.big_records += 1
                        if self.big_first is None:
                            self.big_first = now
                        if len(value) > CONTROL_RECORD_MAX_BYTES:
                            continue
                    self._note(decode(value, RawCleverRecord), now)

    def _note(self, record: RawCleverRecord, now: float) -> None:
        if record.kind == RawRecordKind.SYNC_COMPLETED and record.district_id == self._big_id:
            self.big_completed = now
        if record.event_id is None or record.created_at is None:
            return
        created = record.created_at.timestamp()
        self.seen.setdefault(record.event_id, now)
        self.created.setdefault(record.event_id, created)
        self.fetched.setdefault(record.event_id, record.fetched_at.timestamp())
        self.newest[record.district_id] = max(self.newest.get(record.district_id, 0.0), created)


@asynccontextmanager
async def raw_tail(
    bootstrap_servers: str, topic: str, partitions: int, *, big_id: str
) -> AsyncIterator[RawTail]:
    """A tail of ``topic`` from its current end, running until the block ends."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        isolation_level="read_committed",
        enable_auto_commit=False,
        fetch_max_wait_ms=_TAIL_WAIT_MS,
    )
    await consumer.start()
    try:
        assigned = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(assigned)
        await consumer.seek_to_end(*assigned)
        for partition in assigned:
            await consumer.position(partition)  # resolved before anything is timed
        tail = RawTail(consumer, big_id=big_id)
        stop = asyncio.Event()
        reading = tail.task = asyncio.create_task(tail.run(stop))
        try:
            yield tail
        finally:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await reading
    finally:
        await consumer.stop()
