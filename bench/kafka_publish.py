"""Publish rates the poller will choose between: idempotent sends, or one transaction per page.

An idempotent producer is the cheapest safe write, but a poller that crashes between pages
may publish a page twice; a transaction per Clever page gives ``read_committed`` readers
exactly-once at the price of a commit round trip per page. The figures are meant as ratios to
the idempotent producer, measured side by side on one broker: absolute rates describe the
machine more than the design.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import time
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError

from bench.exceptions import KafkaStepError, StepTimeoutError, TopicRefusedError
from bench.payload import Message, make_messages
from foundation.admin import default_replication_factor

logger = logging.getLogger(__name__)

T = TypeVar("T")
MIB = 1024 * 1024


@dataclass(frozen=True)
class Variant:
    """One way to publish (or read back) the same messages; no ``transaction_size``: none."""

    label: str
    transaction_size: int | None = None


IDEMPOTENT = Variant("(a) idempotent")
TXN_100 = Variant("(b) txn/100", 100)
TXN_1000 = Variant("(b) txn/1000", 1000)
READ_COMMITTED = Variant("(c) read_committed")
PUBLISHERS = (IDEMPOTENT, TXN_100, TXN_1000)
VARIANTS = (*PUBLISHERS, READ_COMMITTED)


@dataclass(frozen=True)
class PublishBenchConfig:
    """How much to publish, and how long any one step may take before the run fails."""

    messages: int = 50_000
    repeat: int = 3
    partitions: int = 6  # the pipeline's default CLEVER_STREAM_TOPIC_PARTITIONS
    districts: int = 10
    timeout_s: float = 300.0
    cleanup_timeout_s: float = 30.0


@dataclass(frozen=True)
class VariantFigures:
    """The rates (messages/s) of one variant, one per measured repeat."""

    variant: Variant
    rates: tuple[float, ...]
    message_bytes: float

    @property
    def median(self) -> float:
        """Median messages/s: one disturbed repeat does not move it."""
        return float(statistics.median(self.rates))

    @property
    def mib_per_s(self) -> float:
        """Median MiB/s of keys and values."""
        return self.median * self.message_bytes / MIB


async def run_publish_bench(
    bootstrap_servers: str, config: PublishBenchConfig
) -> list[VariantFigures]:
    """Warm up once, then measure every variant ``config.repeat`` times, each on a fresh topic.

    The publishers' order rotates from round to round, so slow drift (page cache, JIT,
    throttling) weighs on every variant alike; (c) reads the topic (b) txn/1000 has just
    written, as a reader close behind the poller would. Only sends, commits and the final
    flush are timed: a poller starts its producer once.
    """
    messages = make_messages(config.messages, districts=config.districts)
    rates: dict[Variant, list[float]] = {variant: [] for variant in VARIANTS}
    # Every topic up front: one created a moment ago may still answer NotLeaderForPartition,
    # and the producer's retries would be timed. Round 0 warms up broker, JIT and client.
    rounds = [
        {variant: f"bench.publish.{uuid.uuid4().hex[:12]}" for variant in PUBLISHERS}
        for _ in range(config.repeat + 1)
    ]
    topics = [name for names in rounds for name in names.values()]
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    created: list[str] = []
    try:
        await _bounded(admin.start(), config.timeout_s, "starting the admin client")
        replicas = await _bounded(
            default_replication_factor(admin), config.timeout_s, "describing the cluster"
        )
        created = topics  # some may exist even if the call below fails
        await _create_topics(admin, topics, replicas, config)
        for round_, names in enumerate(rounds):
            what = f"repeat {round_}/{config.repeat}" if round_ else "warm-up"
            shift = round_ % len(PUBLISHERS)
            for variant in PUBLISHERS[shift:] + PUBLISHERS[:shift]:
                step = _publish(bootstrap_servers, names[variant], messages, variant, config)
                rates[variant].append(await _rate(step, f"{what}: {variant.label}", config))
                if variant is TXN_1000:
                    step = _read_committed(bootstrap_servers, names[variant], config)
                    label = f"{what}: {READ_COMMITTED.label}"
                    rates[READ_COMMITTED].append(await _rate(step, label, config))
    finally:
        await _clean_up(admin, created, config.cleanup_timeout_s)
    mean_bytes = sum(len(key) + len(value) for key, value in messages) / len(messages)
    # The warm-up's rates, first in every list, are dropped.
    return [VariantFigures(variant, tuple(rates[variant][1:]), mean_bytes) for variant in VARIANTS]


async def _rate(step: Awaitable[float], label: str, config: PublishBenchConfig) -> float:
    """Messages/s of ``step``, which returns the seconds it timed."""
    rate = config.messages / await _bounded(step, config.timeout_s, label)
    logger.info("%s: %.0f messages/s", label, rate)
    return rate


async def _publish(
    bootstrap_servers: str,
    topic: str,
    messages: list[Message],
    variant: Variant,
    config: PublishBenchConfig,
) -> float:
    """Seconds to publish ``messages`` and have them acknowledged, as a running poller would."""
    size = variant.transaction_size
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        enable_idempotence=True,
        acks="all",
        transactional_id=None if size is None else f"bench-{uuid.uuid4().hex}",
    )
    try:
        await producer.start()
        await producer.partitions_for(topic)  # metadata before the clock starts
        started = time.perf_counter()
        if size is None:
            futures = [await producer.send(topic, value, key=key) for key, value in messages]
            await producer.flush()
        else:
            futures = []
            for first in range(0, len(messages), size):
                # One page, one transaction; its commit waits for every send in it.
                async with producer.transaction():
                    page = messages[first : first + size]
                    futures += [await producer.send(topic, value, key=key) for key, value in page]
        seconds = time.perf_counter() - started
        await asyncio.gather(*futures)  # all done by now; raises if any send failed
    finally:
        await asyncio.wait_for(producer.stop(), config.cleanup_timeout_s)
    return seconds


async def _read_committed(bootstrap_servers: str, topic: str, config: PublishBenchConfig) -> float:
    """Seconds for a ``read_committed`` consumer to read all of ``topic`` from the beginning."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        isolation_level="read_committed",
        enable_auto_commit=False,
    )
    partitions = [TopicPartition(topic, p) for p in range(config.partitions)]
    seen = 0
    try:
        await consumer.start()
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        started = time.perf_counter()
        while seen < config.messages:  # bounded by the caller's wait_for
            batches = await consumer.getmany(timeout_ms=1000)
            seen += sum(len(records) for records in batches.values())
        seconds = time.perf_counter() - started
    finally:
        await asyncio.wait_for(consumer.stop(), config.cleanup_timeout_s)
    return seconds


async def _bounded(step: Awaitable[T], timeout_s: float, what: str) -> T:
    """``step``, its failure or overrun reported as a :class:`BenchError` naming it."""
    try:
        return await asyncio.wait_for(step, timeout_s)
    except TimeoutError as error:
        raise StepTimeoutError(what, timeout_s) from error
    except KafkaError as error:
        raise KafkaStepError(what, error) from error


async def _create_topics(
    admin: AIOKafkaAdminClient, names: list[str], replicas: int, config: PublishBenchConfig
) -> None:
    new = [NewTopic(name, config.partitions, replicas) for name in names]
    timeout_ms = int(config.timeout_s * 1000)
    step = admin.create_topics(new, timeout_ms=timeout_ms)
    response = await _bounded(step, config.timeout_s, "creating topics")
    refused = [(name, code) for name, code, *_ in response.topic_errors if code != 0]
    if refused:
        raise TopicRefusedError(refused)


async def _clean_up(admin: AIOKafkaAdminClient, topics: list[str], timeout_s: float) -> None:
    """Delete the benchmark's topics (they would litter a shared cluster), close the admin."""
    try:
        if topics:
            step = admin.delete_topics(topics, timeout_ms=int(timeout_s * 1000))
            await asyncio.wait_for(step, timeout_s)
    except Exception as error:  # cleanup must not hide the error that brought us here
        logger.warning("could not delete benchmark topics %s: %r", topics, error)
    finally:
        await asyncio.wait_for(admin.close(), timeout_s)
