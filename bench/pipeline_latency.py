"""Latency through a running worker: a raw record appended, its privilege change committed.

Raw records are sent at a steady rate by an idempotent producer (``acks=all``, no linger),
so each is appended and visible the moment the broker takes it, and a ``read_committed``
consumer of the privilege-change topic, in the same process and on the same clock, notes
when it first sees a change caused by each (``cause.clever_event_id``). A change is seen
once the worker's transaction commits, so the commit interval bounds the latency from below.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import RecordMetadata

from bench.pipeline_workload import RawEvent
from schemas.codec import default_codec
from schemas.records import PrivilegeChange

logger = logging.getLogger(__name__)
#: How often the tail asks for more when none is there; small, so it adds little latency.
_TAIL_WAIT_MS = 10


@dataclass(frozen=True, kw_only=True)
class Timings:
    """When each timed record was sent, acknowledged and its change seen (perf_counter s)."""

    sent: dict[str, float]
    acked: dict[str, float]
    seen: dict[str, float]
    window_s: float
    #: How long the changes were waited for once the last record was sent.
    drain_s: float

    def latencies_ms(self, *, since: Callable[[Timings], dict[str, float]]) -> list[float]:
        """Milliseconds from ``since`` (sent or acked) to seen, sorted; never seen: infinite.

        A change that never showed up is the slowest of all, not one to leave out: a worker
        that falls behind must not look faster for it.
        """
        start = since(self)
        return sorted(
            (self.seen[event] - start[event]) * 1000 if event in self.seen else math.inf
            for event in self.sent
            if event in start
        )

    @property
    def missing(self) -> int:
        """Timed records whose change never showed up."""
        return sum(1 for event in self.sent if event not in self.seen)

    @property
    def send_rate(self) -> float:
        """Records per second actually sent over the timed window."""
        return len(self.sent) / self.window_s

    @property
    def seen_rate(self) -> float:
        """Changes of timed records seen per second, from the first send to the last seen:
        the send rate if the worker kept pace, its own rate if it fell behind."""
        seen = [self.seen[event] for event in self.sent if event in self.seen]
        if not seen:
            return 0.0
        return len(seen) / (max(seen) - min(self.sent.values()))


def percentile(ordered: list[float], q: float) -> float:
    """The nearest-rank ``q`` percentile (0-100) of ``ordered``, which is sorted."""
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


async def time_changes(
    bootstrap_servers: str,
    *,
    raw_topic: str,
    changes_topic: str,
    partitions: int,
    events: list[RawEvent],
    rate: float,
    warmup: int,
    drain_timeout_s: float,
) -> Timings:
    """Send ``events`` at ``rate`` per second; time all but the first ``warmup`` of them."""
    tail = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        isolation_level="read_committed",
        enable_auto_commit=False,
        fetch_max_wait_ms=_TAIL_WAIT_MS,
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers, enable_idempotence=True, acks="all", linger_ms=0
    )
    seen: dict[str, float] = {}
    sent: dict[str, float] = {}
    acked: dict[str, float] = {}
    await tail.start()
    try:
        await producer.start()
        try:
            await _from_the_end(tail, changes_topic, partitions)
            stop = asyncio.Event()
            reading = asyncio.create_task(_tail(tail, seen, stop))
            try:
                await producer.partitions_for(raw_topic)  # metadata before the clock starts
                window_s = await _send_paced(
                    producer, raw_topic, events, rate, warmup, sent=sent, acked=acked
                )
                await _drain(sent, seen, reading, drain_timeout_s)
            finally:
                stop.set()
                await reading
        finally:
            await producer.stop()
    finally:
        await tail.stop()
    return Timings(sent=sent, acked=acked, seen=seen, window_s=window_s, drain_s=drain_timeout_s)


async def _from_the_end(tail: AIOKafkaConsumer, topic: str, partitions: int) -> None:
    """Assign every partition of ``topic`` at its current end, resolved before any send."""
    assigned = [TopicPartition(topic, p) for p in range(partitions)]
    tail.assign(assigned)
    await tail.seek_to_end(*assigned)
    for partition in assigned:
        await tail.position(partition)


async def _tail(tail: AIOKafkaConsumer, seen: dict[str, float], stop: asyncio.Event) -> None:
    """Note when a change of each cause is first seen, until ``stop``."""
    decode = default_codec().decode
    while not stop.is_set():
        batches = await tail.getmany(timeout_ms=100)
        now = time.perf_counter()
        for messages in batches.values():
            for message in messages:
                if message.value is None:  # the changes topic has no tombstones: not a change
                    continue
                cause = decode(message.value, PrivilegeChange).cause.clever_event_id
                if cause is not None:
                    seen.setdefault(cause, now)


async def _send_paced(
    producer: AIOKafkaProducer,
    topic: str,
    events: list[RawEvent],
    rate: float,
    warmup: int,
    *,
    sent: dict[str, float],
    acked: dict[str, float],
) -> float:
    """Send on a fixed schedule (no catching up in bursts of more than the lag); the seconds
    the timed records took to send."""
    started = time.perf_counter()
    window_start = started
    for n, event in enumerate(events):
        delay = started + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        now = time.perf_counter()
        if n == warmup:
            window_start = now
        delivery = await producer.send(topic, key=event.key, value=event.value)
        if n >= warmup:
            sent[event.event_id] = now
            delivery.add_done_callback(_noting(acked, event.event_id))
    await producer.flush()
    return time.perf_counter() - window_start


def _noting(
    acked: dict[str, float], event_id: str
) -> Callable[[asyncio.Future[RecordMetadata]], None]:
    def note(delivery: asyncio.Future[RecordMetadata]) -> None:
        if not delivery.cancelled() and delivery.exception() is None:
            acked[event_id] = time.perf_counter()

    return note


async def _drain(
    sent: dict[str, float], seen: dict[str, float], reading: asyncio.Task[None], timeout_s: float
) -> None:
    """Wait until every timed record's change was seen; a shortfall is reported, not fatal."""
    deadline = time.perf_counter() + timeout_s
    while any(event not in seen for event in sent):
        if reading.done():
            await reading  # its error, if it failed
            return
        if time.perf_counter() > deadline:
            missing = sum(1 for event in sent if event not in seen)
            logger.warning("%d records' changes not seen after %.0fs", missing, timeout_s)
            return
        await asyncio.sleep(0.1)
