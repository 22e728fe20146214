"""The privilege engine: a consume-transform-produce loop, exactly once, per raw partition.

The task manager of the native engine (docs/decisions/0005): it owns one ``StreamTask`` per
assigned raw partition, and runs the loop, in one task:

1. ``getmany`` from the raw topic (``read_committed``, in the worker group);
2. each owned partition's fetched records go to its task, which applies them in its open
   transaction and sends what may go before the commit in the background;
3. a task whose transaction has been open ``commit_interval_s`` commits, in a task of its
   own, while the loop goes on with the other partitions (docs/decisions/0010).

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
from collections.abc import Callable, Coroutine, Iterable, Mapping
from collections.abc import Set as AbstractSet
from typing import Any, Final, TypeVar

from aiokafka import (
    AIOKafkaConsumer,
    ConsumerRebalanceListener,
    ConsumerRecord,
    TopicPartition,
)
from aiokafka.coordinator.assignors.abstract import AbstractPartitionAssignor

from foundation.connection import KafkaConnection
from foundation.consumers import stop_consumer
from schemas.codec import Codec
from streams.engines.native.changelog import ChangelogRestorer, changelog_topic
from streams.engines.native.collector import RecordCollector
from streams.engines.native.producer import TransactionalProducer
from streams.engines.native.task import StreamTask
from streams.metrics import WorkerMetrics
from streams.processor.handler import RecordHandler
from streams.settings import WorkerSettings
from streams.state.backing import TableBacking
from streams.state.reader import TableReader
from streams.state.tables import TableFormat
from streams.state.transaction import PartitionTransaction

logger = logging.getLogger(__name__)

_Part = TypeVar("_Part")

#: Raw records taken per ``getmany`` at most.
_MAX_RECORDS: Final = 2_000
#: A fetch waits for this many bytes, or for _FETCH_MAX_WAIT_MS: records that trickle in
#: come a few milliseconds' worth at a time, not one fetch (and loop turn) each.
_FETCH_MIN_BYTES: Final = 64 * 1024
_FETCH_MAX_WAIT_MS: Final = 10
#: The longest one ``getmany`` waits, so a due commit is never late by more.
_POLL_MS: Final = 100


class PrivilegeEngine:
    """One worker of the group: owns some raw partitions, processes them exactly once."""

    def __init__(
        self,
        settings: WorkerSettings,
        *,
        kafka: KafkaConnection,
        codec: Codec,
        backing_factory: Callable[[int], TableBacking],
        assignor: AbstractPartitionAssignor | None = None,
    ) -> None:
        self._settings = settings
        self._kafka = kafka
        self._group_id = settings.group_id
        self.topics = settings.topics
        self._changelog = changelog_topic(settings.group_id)
        self._codec = codec
        self._format = TableFormat(codec)
        self._backing_factory = backing_factory
        self._assignor = assignor
        self.handler = RecordHandler(topics=self.topics, codec=codec, districts=settings.districts)
        self.metrics = WorkerMetrics(self.handler, owned=lambda: len(self._owned), lag=self._lags)
        # When each partition's restore began (perf_counter), for its duration.
        self._restore_began: dict[int, float] = {}
        self._lock = asyncio.Lock()
        self._owned: dict[int, StreamTask] = {}
        #: The committed tables of partitions owned now or before, kept to restore only what
        #: changed since.
        self._backings: dict[int, TableBacking] = {}
        self._generation = 0
        self._consumer: AIOKafkaConsumer | None = None
        self._restorer: ChangelogRestorer | None = None
        #: Set once the first assignment is restored and processing runs.
        self.ready = asyncio.Event()
        #: What stopped a rebalance (aiokafka would only log it): the loop raises it.
        self._failure: BaseException | None = None
        #: Set when the engine stops: a partition being taken then is given up.
        self._stopping = asyncio.Event()

    # -- what the views read --------------------------------------------------------------

    @property
    def raw_topic(self) -> str:
        return self.topics.raw

    def is_ready(self) -> bool:
        """Whether every owned partition is restored and processing runs."""
        restorer = self._restorer
        return self.ready.is_set() and not (restorer is not None and restorer.busy)

    def _lags(self) -> dict[int, int]:
        """Each owned partition's records after the last one processed (where known)."""
        consumer, found = self._consumer, dict[int, int]()
        if consumer is None:
            return found
        for partition, task in list(self._owned.items()):
            try:
                end = consumer.last_stable_offset(task.raw)
            except (AssertionError, KeyError):  # revoked meanwhile
                continue
            if end is not None and end >= 0:
                found[partition] = max(end - (task.processed_to or 0), 0)
        return found

    def committed_store(self, partition: int) -> TableReader | None:
        """Reads of ``partition``'s committed tables, if this worker owns it, restored."""
        task = self._owned.get(partition)
        if task is None or self._restorer is None or self._restorer.restoring(partition):
            return None
        return TableReader(task.transaction.backing, table_format=self._format)

    # -- running --------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Join the group and process until ``stop`` is set; then commit and leave."""
        self._stopping = stop
        settings = self._settings
        consumer_options: dict[str, Any] = {}
        if self._assignor is not None:
            consumer_options["partition_assignment_strategy"] = (self._assignor,)
        self._consumer = AIOKafkaConsumer(
            **self._kafka.client_options(),
            group_id=self._group_id,
            client_id=f"{self._group_id}-raw",
            isolation_level="read_committed",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=int(settings.session_timeout_s * 1000),
            group_instance_id=settings.instance_id,
            heartbeat_interval_ms=max(100, int(settings.session_timeout_s * 1000 / 10)),
            request_timeout_ms=int(settings.broker_request_timeout_s * 1000),
            max_poll_records=_MAX_RECORDS,
            fetch_min_bytes=_FETCH_MIN_BYTES,
            fetch_max_wait_ms=_FETCH_MAX_WAIT_MS,
            **consumer_options,
        )
        restore_consumer = AIOKafkaConsumer(
            **self._kafka.client_options(),
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
            try:
                if await self._started_unless_stopping(self._consumer, stop):
                    await self._process_until(stop)
                    await self._final_commit()
            finally:
                # After a failure the open transactions are aborted: nothing half-done commits.
                async with self._lock:
                    await self._release(list(self._owned))
                await _stop_client(self._consumer)
        finally:
            await _stop_client(restore_consumer)
            for backing in self._backings.values():
                backing.close()
            self._backings.clear()
            self._log_counts()

    @staticmethod
    async def _started_unless_stopping(consumer: AIOKafkaConsumer, stop: asyncio.Event) -> bool:
        """Start ``consumer``; False if ``stop`` is set first (the start is cancelled).

        A consumer subscribed before it starts waits in ``start`` for its first assignment,
        so for as long as the coordinator holds its join (a member that does not answer
        keeps it waiting up to the group's rebalance timeout): a stop must not wait on that.
        """
        starting = asyncio.ensure_future(consumer.start())
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait((starting, stopping), return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if starting.done():
            starting.result()
            return True
        starting.cancel()
        await asyncio.wait((starting,))
        logger.info("stopped before the group's first assignment (the join was pending)")
        return False

    async def _final_commit(self) -> None:
        """Commit the open transactions before stopping, within ``stop_timeout_s``: what the
        broker does not take by then (it is down, say) is aborted, by us or by its timeout."""
        try:
            async with asyncio.timeout(self._settings.stop_timeout_s):
                async with self._lock:
                    await self._commit_all()
        except TimeoutError:
            logger.warning(
                "the open transactions did not commit within %g s; they are aborted, and their "
                "records read again by the next owner",
                self._settings.stop_timeout_s,
            )

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
        fetch: asyncio.Future[dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]] | None
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
                waits: list[asyncio.Future[Any]] = [fetch, stopping]
                waits += [task.committing for task in self._owned.values() if task.committing]
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                if stopping.done():
                    break
                async with self._lock:
                    self._reap_commits()
                    if fetch.done():
                        batches, fetch = fetch.result(), None
                        if generation == self._generation:
                            self._take_in(batches)
                        else:
                            await self._read_again(batches)
                    await self._process_backlogs()
                    self._start_due_commits()
        finally:
            stopping.cancel()
            if fetch is not None:
                fetch.cancel()

    async def _read_again(
        self, batches: Mapping[TopicPartition, list[ConsumerRecord[bytes, bytes]]]
    ) -> None:
        """Drop a fetch that a rebalance overtook, and read its partitions again from their
        committed offsets.

        The fetch may have returned records of the new assignment: the consumer's position
        has moved past them, so dropping them alone would skip them for good. A committed
        offset can only be behind what this worker has applied (a transaction's offsets
        become visible a moment after it commits), and a record read again is recognised
        by its position and changes nothing.
        """
        consumer = self._running(self._consumer)
        for tp, messages in batches.items():
            if not messages or tp.partition not in self._owned:
                continue
            offset = await consumer.committed(tp)
            if offset is None or offset < 0:
                await consumer.seek_to_beginning(tp)  # nothing committed: as the group starts
            else:
                consumer.seek(tp, offset)
            logger.info(
                "raw partition %d: a fetch overtaken by a rebalance was dropped; read again "
                "from offset %s",
                tp.partition,
                offset if offset is not None and offset >= 0 else "0 (none committed)",
            )

    def _take_in(
        self, batches: Mapping[TopicPartition, list[ConsumerRecord[bytes, bytes]]]
    ) -> None:
        """Queue fetched records on their partitions' backlogs."""
        restorer = self._running(self._restorer)
        for tp, messages in batches.items():
            task = self._owned.get(tp.partition)
            if task is None or not messages:
                continue
            if restorer.restoring(tp.partition):
                # Fetched before the pause took hold: read again once the state is whole.
                self._running(self._consumer).seek(tp, messages[0].offset)
                continue
            task.take_in(messages)

    async def _process_backlogs(self) -> None:
        """Process the backlog of every partition that has no commit in flight."""
        for task in self._owned.values():
            if task.backlog and task.committing is None:
                await task.process(self.handler.handle)

    def _start_due_commits(self) -> None:
        now, interval = time.monotonic(), self._settings.commit_interval_s
        for task in self._owned.values():
            if task.committing is None and task.open_for_s(now) >= interval:
                task.committing = asyncio.create_task(
                    self._timed_commit(task), name=f"commit raw partition {task.partition}"
                )

    async def _timed_commit(self, task: StreamTask) -> None:
        started = time.perf_counter()
        await task.commit()
        self.metrics.commit_duration.observe(time.perf_counter() - started)

    def _reap_commits(self) -> None:
        """Forget the commits that ended; raise the error of one that failed."""
        for task in self._owned.values():
            committing = task.committing
            if committing is not None and committing.done():
                task.committing = None
                committing.result()

    async def _settle_commits(self) -> None:
        """Wait for every commit in flight; raise the first error."""
        commits = [task.committing for task in self._owned.values() if task.committing]
        if commits:
            await asyncio.wait(commits)
            self._reap_commits()

    async def _restore_step(self) -> None:
        """One step of the restores under way; resume the partitions that are complete."""
        async with self._lock:
            done = await self._running(self._restorer).step(max_wait_ms=_POLL_MS)
            for partition, applied in done:
                self._running(self._consumer).resume(self._raw(partition))
                began = self._restore_began.pop(partition, None)
                if began is not None:
                    self.metrics.restore_duration.observe(time.perf_counter() - began)
                self.metrics.restored_records.inc(applied)
                logger.info("raw partition %d ready: %d changelog records restored",
                            partition, applied)  # fmt: skip
            if done and not self._running(self._restorer).busy:
                self._now_ready()

    def _now_ready(self) -> None:
        """Every owned partition is restored: process, and let the collector skip the rest.

        ``gc.freeze`` moves every object alive now (modules, the restored tables) out of the
        cyclic collector's reach, so its full collections stop pausing every record in
        flight; frozen objects are still freed by reference counting. The garbage is
        collected first, once, so that none of it is frozen (docs/decisions/0009).
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
        for task in self._owned.values():
            task.take_out()
        open_ = [task for task in self._owned.values() if task.in_transaction]
        if open_:
            await asyncio.gather(*(self._timed_commit(task) for task in open_))

    # -- rebalancing (called by the listener) ----------------------------------------------

    async def revoked(self, partitions: Iterable[int]) -> None:
        async with self._lock:
            self._generation += 1
            await self._commit_all()
            await self._release(partitions)

    async def assigned(self, partitions: Iterable[int]) -> None:
        self.metrics.rebalances.inc()
        async with self._lock:
            self._generation += 1
            for partition in sorted(partitions):
                if partition not in self._owned:
                    taken = await self._unless_stopping(self._take(partition))
                    if taken is None:
                        return  # stopping: the partition is left to the group's next owner
                    self._owned[partition] = taken
            if not self._running(self._restorer).busy:
                self._now_ready()

    async def _unless_stopping(self, step: Coroutine[Any, Any, _Part]) -> _Part | None:
        """``step``'s result, or None if the engine stops first (``step`` is cancelled):
        taking a partition waits on the broker, and must not hold a stop up while it is down."""
        running = asyncio.ensure_future(step)
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait((running, stopping), return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if running.done():
            return running.result()
        running.cancel()
        await asyncio.wait((running,))
        return None

    async def _release(self, partitions: Iterable[int]) -> None:
        for partition in list(partitions):
            if self._restorer is not None:
                self._restorer.cancel(partition)
            task = self._owned.pop(partition, None)
            if task is not None:
                try:
                    async with asyncio.timeout(self._settings.stop_timeout_s):
                        await task.close()
                except TimeoutError:
                    logger.warning("raw partition %d: its producer did not stop within %g s",
                                   partition, self._settings.stop_timeout_s)  # fmt: skip
                logger.info("raw partition %d released", partition)

    async def _take(self, partition: int) -> StreamTask:
        """Fence the partition's previous owner; pause it until its state is restored."""
        # Paused at once: the fetcher may already be reading it.
        self._running(self._consumer).pause(self._raw(partition))
        # Fences the previous owner and ends its open transaction, so the changelog is final
        # up to its last stable offset before it is read.
        producer = await TransactionalProducer.start(
            kafka=self._kafka,
            app_id=self._group_id,
            partition=partition,
            request_timeout_s=self._settings.broker_request_timeout_s,
        )
        try:
            topics = self.topics
            counts = await producer.partition_counts(
                (topics.changes, topics.state, topics.dead_letters)
            )
            backing = self._backings.get(partition)
            if backing is None:
                backing = self._backings[partition] = self._backing_factory(partition)
            if await self._running(self._restorer).begin(partition, backing):
                self._restore_began[partition] = time.perf_counter()
                logger.info("raw partition %d taken: restoring its tables", partition)
            else:
                self._running(self._consumer).resume(self._raw(partition))
                logger.info("raw partition %d taken: its tables are up to date", partition)
        except BaseException:
            await producer.stop()
            raise
        return StreamTask(
            raw=self._raw(partition),
            changelog=self._changelog,
            producer=producer,
            transaction=PartitionTransaction(backing, table_format=self._format),
            on_abort=self.metrics.transaction_aborts.inc,
            collector=RecordCollector(
                new_batch=producer.create_batch,
                partition_counts=counts,
                changelog=self._changelog,
            ),
        )

    def _log_counts(self) -> None:
        counts = ", ".join(f"{n} {what}" for what, n in sorted(self.handler.counts.items()))
        logger.info("raw records: %s", counts or "none")

    @staticmethod
    def _running(part: _Part | None) -> _Part:
        """A part that exists only while the engine runs (its consumer, its restorer)."""
        if part is None:
            raise RuntimeError("the engine is not running")
        return part

    def failed(self, error: BaseException) -> None:
        """A rebalance step failed: the worker must stop rather than skip partitions."""
        logger.error("rebalance failed: %s: %s", type(error).__name__, error)
        if self._failure is None:
            self._failure = error


async def _stop_client(consumer: AIOKafkaConsumer) -> None:
    """Stop ``consumer`` within ``foundation.consumers.LEAVE_GROUP_S``. With the broker
    unreachable, aiokafka's fetcher re-raises the cancellation of its own fetch task from
    ``stop``: that one is no cancellation of ours."""
    try:
        await stop_consumer(consumer)
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise
        logger.info("a consumer stopped with its fetch cancelled (the broker was unreachable)")


class _Listener(ConsumerRebalanceListener):
    """Hands aiokafka's rebalance callbacks to the engine; their errors stop the worker."""

    def __init__(self, engine: PrivilegeEngine) -> None:
        self._engine = engine

    async def on_partitions_revoked(self, revoked: AbstractSet[TopicPartition]) -> None:
        try:
            await self._engine.revoked(tp.partition for tp in revoked)
        except Exception as error:
            self._engine.failed(error)

    async def on_partitions_assigned(self, assigned: AbstractSet[TopicPartition]) -> None:
        try:
            await self._engine.assigned(tp.partition for tp in assigned)
        except Exception as error:
            self._engine.failed(error)
