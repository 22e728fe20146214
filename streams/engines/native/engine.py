"""The privilege engine: a consume-transform-produce loop, exactly once, per raw partition.

Why our own loop and not Faust's agent: see ``docs/architecture.md``. In short, Faust needed
eight work-arounds to hold exactly-once, and its per-record machinery cost about 2 ms of
CPU a record; this loop reads batches, keeps a partition's table writes in memory until its
transaction commits, and sends each key's changelog record once per transaction.

The loop, in one task:

1. ``getmany`` from the raw topic (``read_committed``, in the worker group);
2. for each record of an owned partition: open the partition's transaction if needed, apply
   the record to the partition's state (``streams.processor``), batch its outputs; then send
   what may go before the commit in the background (``PartitionWork.send_soon``);
3. every ``commit_interval_s``: commit every open transaction, partitions side by side.

A rebalance runs the listener under the same lock as steps 2-3, so it never sees half a
batch: partitions being revoked are committed first; partitions assigned get a producer
with their transactional ID (fencing the previous owner) and stay paused while the loop
restores their state from the changelog, a step between polls (so a long restore neither
stalls the group's heartbeats nor the other partitions). Records fetched before a
rebalance are dropped; the consumer reads them again from the committed offsets.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Final

from aiokafka import (
    AIOKafkaConsumer,
    AIOKafkaProducer,
    ConsumerRebalanceListener,
    ConsumerRecord,
    TopicPartition,
)
from aiokafka.coordinator.assignors.abstract import AbstractPartitionAssignor

from foundation.exceptions import ConfigurationError
from schemas.codec import Codec
from streams.engines.native.changelog import ChangelogRestorer, changelog_topic
from streams.engines.native.partition import PartitionWork, transactional_id
from streams.engines.native.state import PartitionState, TableBacking
from streams.engines.native.write_back import WriteBackStore
from streams.processor.handler import RecordHandler
from streams.settings import WorkerSettings
from streams.state.tables import TableStore
from streams.topics import OutputTopics

logger = logging.getLogger(__name__)

#: Raw records taken per ``getmany`` at most.
_MAX_RECORDS: Final = 2_000
#: Bytes of records per batch the engine fills (Kafka's default limit is about 1 MiB).
_MAX_BATCH_BYTES: Final = 512 * 1024
#: Records processed between two yields to the event loop. A commit is a chain of requests
#: (add partitions, add offsets, commit offsets, end transaction), each step waiting for the
#: loop; processing hundreds of records without a yield held every step back by as long.
_YIELD_EVERY: Final = 32
#: A fetch waits for this many bytes, or for _FETCH_MAX_WAIT_MS: records that trickle in
#: come a few milliseconds' worth at a time, not one fetch (and loop turn) each.
_FETCH_MIN_BYTES: Final = 64 * 1024
_FETCH_MAX_WAIT_MS: Final = 10
#: How soon a transactional request is retried. The coordinator answers "concurrent
#: transactions" while it still writes the markers of the transaction just committed, so a
#: new transaction's first requests are often retried; aiokafka's default 100 ms backoff
#: then stalls every commit (the Java client retries these after 20 ms for the same reason).
_TRANSACTION_RETRY_MS: Final = 10
#: The longest one ``getmany`` waits, so a due commit is never late by more.
_POLL_MS: Final = 100


class PrivilegeEngine:
    """One worker of the group: owns some raw partitions, processes them exactly once."""

    def __init__(
        self,
        settings: WorkerSettings,
        *,
        codec: Codec,
        backing_factory: Callable[[int], TableBacking],
        assignor: AbstractPartitionAssignor | None = None,
    ) -> None:
        if not settings.kafka_bootstrap_servers:
            raise ConfigurationError("the engine needs KAFKA_BOOTSTRAP_SERVERS", hint="set it")
        self._settings = settings
        self._bootstrap = settings.kafka_bootstrap_servers
        self._group_id = settings.app_id
        self.topics = OutputTopics.of(settings.topic_prefix)
        self._changelog = changelog_topic(settings.app_id)
        self._codec = codec
        self._backing_factory = backing_factory
        self._assignor = assignor
        self.handler = RecordHandler(topics=self.topics, codec=codec)
        self._lock = asyncio.Lock()
        self._owned: dict[int, PartitionWork] = {}
        #: States of partitions owned before, kept to restore only what changed since.
        self._states: dict[int, PartitionState] = {}
        self._generation = 0
        self._consumer: AIOKafkaConsumer | None = None
        self._restorer: ChangelogRestorer | None = None
        #: Set once the first assignment is restored and processing runs.
        self.ready = asyncio.Event()
        #: What stopped a rebalance (aiokafka would only log it): the loop raises it.
        self._failure: BaseException | None = None

    # -- what the views read --------------------------------------------------------------

    @property
    def raw_topic(self) -> str:
        return self.topics.raw

    def committed_store(self, partition: int) -> TableStore | None:
        """A read-only store over ``partition``'s committed tables, if this worker owns it."""
        work = self._owned.get(partition)
        if work is None or self._restorer is None or self._restorer.restoring(partition):
            return None
        return TableStore(work.state.committed, codec=self._codec)

    # -- running --------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Join the group and process until ``stop`` is set; then commit and leave."""
        settings = self._settings
        consumer_options: dict[str, object] = {}
        if self._assignor is not None:
            consumer_options["partition_assignment_strategy"] = (self._assignor,)
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap,
            group_id=self._group_id,
            client_id=f"{self._group_id}-raw",
            isolation_level="read_committed",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=int(settings.session_timeout_s * 1000),
            heartbeat_interval_ms=max(100, int(settings.session_timeout_s * 1000 / 10)),
            request_timeout_ms=int(settings.broker_request_timeout_s * 1000),
            max_poll_records=_MAX_RECORDS,
            fetch_min_bytes=_FETCH_MIN_BYTES,
            fetch_max_wait_ms=_FETCH_MAX_WAIT_MS,
            **consumer_options,
        )
        restore_consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap,
            client_id=f"{self._group_id}-restore",
            isolation_level="read_committed",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            request_timeout_ms=int(settings.broker_request_timeout_s * 1000),
        )
        await restore_consumer.start()
        self._restorer = ChangelogRestorer(
            restore_consumer, self._changelog, timeout_s=settings.broker_request_timeout_s
        )
        try:
            self._consumer.subscribe([self.topics.raw], listener=_Listener(self))
            await self._consumer.start()
            try:
                await self._process_until(stop)
                async with self._lock:
                    await self._commit_all()
            finally:
                # After a failure the open transactions are aborted: nothing half-done commits.
                async with self._lock:
                    await self._release(list(self._owned))
                await self._consumer.stop()
        finally:
            await restore_consumer.stop()
            for state in self._states.values():
                state.close()
            self._states.clear()
            self._log_counts()

    async def _process_until(self, stop: asyncio.Event) -> None:
        """The loop: fetch, process, commit; a partition's commit never holds up the others.

        A due transaction is committed in a task of its own, and the loop goes on fetching
        and processing: records of a partition whose commit is in flight wait in its
        backlog until the commit ends (a new transaction cannot begin before), and every
        other partition carries on. Commit errors surface here and stop the loop.
        """
        consumer = self._running(self._consumer)
        restorer = self._running(self._restorer)
        stopping = asyncio.ensure_future(stop.wait())
        fetch: asyncio.Future[Mapping[TopicPartition, list[ConsumerRecord[bytes, bytes]]]] | None
        fetch, generation = None, self._generation
        try:
            while not stop.is_set():
                if self._failure is not None:
                    raise self._failure
                if restorer.busy:
                    await self._restore_step()
                if fetch is None:
                    generation = self._generation
                    wait_ms = 0 if restorer.busy else _POLL_MS
                    fetch = asyncio.ensure_future(
                        consumer.getmany(timeout_ms=wait_ms, max_records=_MAX_RECORDS)
                    )
                commits = [w.committing for w in self._owned.values() if w.committing]
                await asyncio.wait((fetch, stopping, *commits), return_when=asyncio.FIRST_COMPLETED)
                if stopping.done():
                    break
                async with self._lock:
                    self._reap_commits()
                    if fetch.done():
                        batches, fetch = fetch.result(), None
                        if generation == self._generation:
                            self._take_in(batches)
                    await self._process_backlogs()
                    self._start_due_commits()
        finally:
            stopping.cancel()
            if fetch is not None:
                fetch.cancel()

    def _take_in(
        self, batches: Mapping[TopicPartition, list[ConsumerRecord[bytes, bytes]]]
    ) -> None:
        """Queue fetched records on their partitions' backlogs."""
        restorer = self._running(self._restorer)
        for tp, messages in batches.items():
            work = self._owned.get(tp.partition)
            if work is None or not messages:
                continue
            if restorer.restoring(tp.partition):
                # Fetched before the pause took hold: read again once the state is whole.
                self._running(self._consumer).seek(tp, messages[0].offset)
                continue
            work.take_in(messages)

    async def _process_backlogs(self) -> None:
        """Process the backlog of every partition that has no commit in flight."""
        handle = self.handler.handle
        for work in self._owned.values():
            if not work.backlog or work.committing is not None:
                continue
            store, partition = work.store, work.partition
            await work.begin()
            messages = work.take_out()
            for done, message in enumerate(messages, start=1):
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
                work.add(outputs, next_offset=message.offset + 1)
            work.send_soon()

    def _start_due_commits(self) -> None:
        now, interval = time.monotonic(), self._settings.commit_interval_s
        for work in self._owned.values():
            if work.committing is None and work.open_for_s(now) >= interval:
                work.committing = asyncio.create_task(
                    work.commit(), name=f"commit raw partition {work.partition}"
                )

    def _reap_commits(self) -> None:
        """Forget the commits that ended; raise the error of one that failed."""
        for work in self._owned.values():
            task = work.committing
            if task is not None and task.done():
                work.committing = None
                task.result()

    async def _settle_commits(self) -> None:
        """Wait for every commit in flight; raise the first error."""
        tasks = [work.committing for work in self._owned.values() if work.committing]
        if tasks:
            await asyncio.wait(tasks)
            self._reap_commits()

    async def _restore_step(self) -> None:
        """One step of the restores under way; resume the partitions that are complete."""
        async with self._lock:
            done = await self._running(self._restorer).step(max_wait_ms=_POLL_MS)
            for state, applied in done:
                self._running(self._consumer).resume(self._raw(state.partition))
                logger.info("raw partition %d ready: %d changelog records restored",
                            state.partition, applied)  # fmt: skip
            if done and not self._running(self._restorer).busy:
                self._now_ready()

    def _now_ready(self) -> None:
        """Every owned partition is restored: process, and let the collector skip the rest.

        ``gc.freeze`` moves every object alive now (modules, the restored tables) out of the
        collector's reach. Without it a full collection walked them all every few seconds,
        a pause of over 100 ms that held up every record in flight (the p99 of the latency
        benchmark); frozen objects are still freed by reference counting. The garbage is
        collected first, once, so that none of it is frozen.
        """
        gc.collect()
        gc.freeze()
        self.ready.set()

    def _raw(self, partition: int) -> TopicPartition:
        return TopicPartition(self.topics.raw, partition)

    async def _commit_all(self) -> None:
        """Commit every open transaction, the partitions side by side; backlogs are dropped
        (their records are read again from the committed offsets by whoever owns them)."""
        await self._settle_commits()
        for work in self._owned.values():
            work.take_out()
        open_ = [work for work in self._owned.values() if work.in_transaction]
        if open_:
            await asyncio.gather(*(work.commit() for work in open_))

    # -- rebalancing (called by the listener) ----------------------------------------------

    async def revoked(self, partitions: Iterable[int]) -> None:
        async with self._lock:
            self._generation += 1
            await self._commit_all()
            await self._release(partitions)

    async def assigned(self, partitions: Iterable[int]) -> None:
        async with self._lock:
            self._generation += 1
            for partition in sorted(partitions):
                if partition not in self._owned:
                    self._owned[partition] = await self._take(partition)
            if not self._running(self._restorer).busy:
                self._now_ready()

    async def _release(self, partitions: Iterable[int]) -> None:
        for partition in list(partitions):
            if self._restorer is not None:
                self._restorer.cancel(partition)
            work = self._owned.pop(partition, None)
            if work is not None:
                await work.close()
                logger.info("raw partition %d released", partition)

    async def _take(self, partition: int) -> PartitionWork:
        """Fence the partition's previous owner; pause it until its state is restored."""
        settings = self._settings
        # Paused at once: the fetcher may already be reading it.
        self._running(self._consumer).pause(self._raw(partition))
        producer = AIOKafkaProducer(
            bootstrap_servers=self._bootstrap,
            client_id=f"{self._group_id}-raw-{partition}",
            transactional_id=transactional_id(self._group_id, partition),
            enable_idempotence=True,
            acks="all",
            max_batch_size=_MAX_BATCH_BYTES,
            retry_backoff_ms=_TRANSACTION_RETRY_MS,
            request_timeout_ms=int(settings.broker_request_timeout_s * 1000),
        )
        # init_transactions: fences the previous owner and ends its open transaction, so
        # the changelog is final up to its last stable offset before it is read.
        await producer.start()
        try:
            topics = self.topics
            counts = {
                topic: len(await producer.partitions_for(topic))
                for topic in (topics.changes, topics.state, topics.dead_letters)
            }
            state = self._states.get(partition)
            if state is None:
                state = PartitionState(partition, self._backing_factory(partition))
                self._states[partition] = state
            if await self._running(self._restorer).begin(state):
                logger.info("raw partition %d taken: restoring its tables", partition)
            else:
                self._running(self._consumer).resume(self._raw(partition))
                logger.info("raw partition %d taken: its tables are up to date", partition)
        except BaseException:
            await producer.stop()
            raise
        return PartitionWork(
            raw=self._raw(partition),
            changelog=self._changelog,
            group_id=self._group_id,
            producer=producer,
            state=state,
            store=WriteBackStore(TableStore(state.tables, codec=self._codec)),
            partition_counts=counts,
        )

    def _log_counts(self) -> None:
        counts = ", ".join(f"{n} {what}" for what, n in sorted(self.handler.counts.items()))
        logger.info("raw records: %s", counts or "none")

    @staticmethod
    def _running(consumer: AIOKafkaConsumer | None) -> AIOKafkaConsumer:
        if consumer is None:
            raise RuntimeError("the engine is not running")
        return consumer

    def failed(self, error: BaseException) -> None:
        """A rebalance step failed: the worker must stop rather than skip partitions."""
        logger.error("rebalance failed: %s: %s", type(error).__name__, error)
        if self._failure is None:
            self._failure = error


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    """Hands aiokafka's rebalance callbacks to the engine; their errors stop the worker."""

    def __init__(self, engine: PrivilegeEngine) -> None:
        self._engine = engine

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        try:
            await self._engine.revoked(tp.partition for tp in revoked)
        except Exception as error:
            self._engine.failed(error)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        try:
            await self._engine.assigned(tp.partition for tp in assigned)
        except Exception as error:
            self._engine.failed(error)
