"""Narrow fixes to faust-streaming 0.15.3 that the worker's exactly-once guarantee depends on.

Each fix replaces one method, is applied once by :func:`apply_faust_fixes` (from
``create_app``), and refuses to apply to any other Faust version: a new Faust must be read
again, not trusted to have kept the bug. Why each is needed, and the test that proves it:
docs/decisions/0014 (recovery's end), 0015 (seek before resume), 0016 (a commit after the
final one), 0023 (a stop with a join pending), 0025 (a refused send fails the commit).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable, Mapping
from importlib.metadata import version
from typing import Any, cast

from aiokafka import TopicPartition
from aiokafka.errors import IllegalOperation
from faust.tables.recovery import Recovery
from faust.transport.consumer import TransactionManager
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread, Producer
from faust.types import TP

from foundation.consumers import stop_consumer
from foundation.exceptions import ConfigurationError

logger = logging.getLogger(__name__)

#: The Faust release these fixes were written against and proven on.
FIXED_FAUST_VERSION = "0.15.3"
#: Faust's own methods the fixes wrap, kept before they are replaced.
_faust_send = Producer.send
_faust_commit_transactions = Producer.commit_transactions
_FAUST_TRANSACTION_ENDS = {
    name: getattr(Producer, name)
    for name in ("begin_transaction", "abort_transaction", "stop_transaction")
}


async def _send_remembered(
    self: Producer, *args: Any, transactional_id: str | None = None, **kwargs: Any
) -> Any:
    """Faust's ``Producer.send``, its delivery (or its refusal) remembered with its
    transaction's.

    aiokafka fails only the future of a batch the broker refuses (a record too large, a
    topic this client may not write) and commits the transaction without it; Faust drops
    that future, and a send refused at once only crashes the agent, whose record is then
    acknowledged: either way its records were lost with nobody told (docs/decisions/0025).
    """
    try:
        delivery = await _faust_send(self, *args, transactional_id=transactional_id, **kwargs)
    except Exception as error:
        if transactional_id:
            _pending(self).setdefault(transactional_id, []).append(error)
        raise
    if transactional_id:
        _pending(self).setdefault(transactional_id, []).append(delivery)
    return delivery


async def _commit_transactions_delivered(
    self: Producer,
    tid_to_offset_map: Mapping[str, Mapping[TP, int]],
    group_id: str,
    start_new_transaction: bool = True,
) -> None:
    """Faust's ``Producer.commit_transactions``, once every send of each transaction was
    delivered; the first refusal is raised instead, at this commit and at every later one of
    that transaction until it is aborted, so that nothing of it commits."""
    pending = _pending(self)
    for transactional_id in tid_to_offset_map:
        sent = pending.get(transactional_id, [])
        refused = [error for error in sent if isinstance(error, Exception)]
        deliveries = [delivery for delivery in sent if not isinstance(delivery, Exception)]
        outcomes = await asyncio.gather(*deliveries, return_exceptions=True)
        for outcome in [*refused, *outcomes]:
            if isinstance(outcome, Exception):
                # Kept: every later commit of this transaction fails too, until it ends.
                pending[transactional_id] = [outcome]
                raise outcome
            if isinstance(outcome, BaseException):  # a cancellation: not the broker's answer
                raise outcome
        pending.pop(transactional_id, None)
    await _faust_commit_transactions(
        self, tid_to_offset_map, group_id, start_new_transaction=start_new_transaction
    )


#: The deliveries sent in each open transaction of each Faust producer, not yet checked.
_PENDING: weakref.WeakKeyDictionary[Producer, dict[str, list[Awaitable[object] | Exception]]] = (
    weakref.WeakKeyDictionary()
)


def _pending(producer: Producer) -> dict[str, list[Awaitable[object] | Exception]]:
    return _PENDING.setdefault(producer, {})


def _forgetting_deliveries(
    method: Callable[[Producer, str], Awaitable[None]],
) -> Callable[[Producer, str], Awaitable[None]]:
    """Faust's ``method`` (a transaction begun, aborted or stopped), which first forgets the
    deliveries of that transactional ID: they belonged to a transaction that ended."""

    async def forgetting(self: Producer, transactional_id: str) -> None:
        _pending(self).pop(transactional_id, None)
        await method(self, transactional_id)

    return forgetting


async def _on_consumer_thread_stop(self: AIOKafkaConsumerThread) -> None:
    """Stop the consumer thread, waiting a bounded time for its consumer to leave the group.

    aiokafka's ``stop`` first waits for the consumer's coordination task, which a join held
    by the coordinator (a member that does not answer) keeps busy for up to the group's
    rebalance timeout: Faust's own stop waited that long on SIGTERM (docs/decisions/0023).
    """
    await super(AIOKafkaConsumerThread, self).on_thread_stop()
    consumer = self._consumer
    if consumer is not None:
        await stop_consumer(consumer)


async def _committed_highwaters(
    self: AIOKafkaConsumerThread, partitions: list[TP]
) -> Mapping[TP, int]:
    """Each partition's end as a ``read_committed`` reader sees it: its last stable offset.

    ``end_offsets`` asks the broker, and honours the consumer's ``read_committed`` isolation.
    Faust's own reads ``AIOKafkaConsumer.last_stable_offset``, unknown (``-1``) until the
    partition is fetched, so a changelog partition just assigned went unrecovered
    (docs/decisions/0014).
    """
    consumer = self._ensure_consumer()
    ends = await consumer.end_offsets([TopicPartition(tp.topic, tp.partition) for tp in partitions])
    return {TP(tp.topic, tp.partition): offset for tp, offset in ends.items()}


async def _seek_then_resume_streams(recovery: Recovery, assignment: set[TP]) -> None:
    """Seek the stream (raw) partitions to their committed offsets, *then* fetch them.

    The partitions are still paused (they are paused at assignment) while they are sought,
    and the queues are cleared before they resume, so no record fetched from the old
    position can reach the agent and move Faust's read offsets. Faust's own order, resume
    then seek, dropped the first record after a takeover (docs/decisions/0015).
    """
    app: Any = recovery.app
    consumer = app.consumer
    if assignment:
        recovery.log.info("Seek stream partitions to committed offsets.")
        await recovery._wait(consumer.perform_seek(), timeout=app.conf.broker_request_timeout)  # noqa: SLF001 - Faust's own helper, called as the method this replaces calls it
    recovery.completed.set()
    app.flow_control.resume()
    consumer.resume_flow()
    consumer.resume_partitions({tp for tp in assignment if not recovery._is_changelog_tp(tp)})  # noqa: SLF001 - Faust's own helper, called as the method this replaces calls it
    await app._fetcher.maybe_start()  # noqa: SLF001 - Faust's own fetcher, started as the method this replaces starts it


async def _resume_streams(self: Recovery, generation_id: int = 0) -> None:
    """Faust's ``Recovery._resume_streams`` (no tables to recover), seeking first."""
    app: Any = self.app
    await app.on_rebalance_complete.send()
    assignment = app.consumer.assignment()
    if app.consumer_generation_id != generation_id:
        self.log.warning("Recovery rebalancing again")
        return
    await _seek_then_resume_streams(self, assignment)
    self.tables.on_actives_ready()
    self.tables.on_standbys_ready()
    app.on_rebalance_end()
    self.log.info("Worker ready")


async def _on_recovery_completed(self: Recovery, generation_id: int = 0) -> None:
    """Faust's ``Recovery.on_recovery_completed`` (tables recovered), seeking first."""
    app: Any = self.app
    self.log.info("Restore complete!")
    await app.on_rebalance_complete.send()
    self._set_recovery_ended()
    completions = [
        asyncio.ensure_future(
            table.on_recovery_completed(
                self.actives_for_table[table], self.standbys_for_table[table]
            )
        )
        for table in self.tables.values()
    ]
    if completions:
        await asyncio.wait(completions)
    assignment = app.consumer.assignment()
    if app.consumer_generation_id != generation_id:
        self.log.warning(
            "Recovery rebalancing again app id %s param %s",
            app.consumer_generation_id,
            generation_id,
        )
        return
    await _seek_then_resume_streams(self, assignment)
    self.tables.on_actives_ready()
    if not app.assignor.assigned_standbys():
        self.tables.on_standbys_ready()
    app.on_rebalance_end()
    self.log.info("Worker ready")


_faust_commit = TransactionManager.commit


async def _commit_unless_stopped(
    self: TransactionManager, offsets: Mapping[TP, int], start_new_transaction: bool = True
) -> bool:
    """Faust's commit, except that a timer commit after the final one does not crash the stop.

    While the app stops, a commit that finds no transaction open (``IllegalOperation``: the
    final commit ended them) is skipped; outside a stop, the error is raised as before.
    Nothing is lost: a record processed after the final commit could send nothing outside a
    transaction, so its offset stays uncommitted for the next owner (docs/decisions/0016).
    """
    try:
        return await _faust_commit(self, offsets, start_new_transaction=start_new_transaction)
    except IllegalOperation:
        if not self.app.should_stop:
            raise
        logger.info("a commit after the worker's final commit was skipped")
        return False


def apply_faust_fixes() -> None:
    """Install the fixes (idempotent); refuse a Faust they were not proven on."""
    installed = version("faust-streaming")
    if installed != FIXED_FAUST_VERSION:
        raise ConfigurationError(
            f"streams.engines.faust.fixes was written for faust-streaming {FIXED_FAUST_VERSION}, "
            f"and {installed} is installed",
            hint="check each fix in streams/engines/faust/fixes.py against the new Faust, "
            "then update FIXED_FAUST_VERSION",
        )
    consumer_thread = cast(Any, AIOKafkaConsumerThread)
    consumer_thread._highwaters = _committed_highwaters  # noqa: SLF001 - the fix replaces this Faust method
    consumer_thread.on_thread_stop = _on_consumer_thread_stop
    recovery = cast(Any, Recovery)
    recovery._resume_streams = _resume_streams  # noqa: SLF001 - the fix replaces this Faust method
    recovery.on_recovery_completed = _on_recovery_completed
    transaction_manager = cast(Any, TransactionManager)
    transaction_manager.commit = _commit_unless_stopped
    producer = cast(Any, Producer)
    producer.send = _send_remembered
    producer.commit_transactions = _commit_transactions_delivered
    for name, method in _FAUST_TRANSACTION_ENDS.items():
        setattr(producer, name, _forgetting_deliveries(method))
