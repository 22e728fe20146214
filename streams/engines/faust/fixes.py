"""Narrow fixes to faust-streaming 0.15.3 that the worker's exactly-once guarantee depends on.

Each fix replaces one method, is applied once by :func:`apply_faust_fixes` (from
``create_app``), and refuses to apply to any other Faust version: a new Faust must be read
again, not trusted to have kept the bug. Why each is needed, and the test that proves it:
docs/decisions/0014 (recovery's end), 0015 (seek before resume), 0016 (a commit after the
final one), 0023 (a stop with a join pending).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from importlib.metadata import version
from typing import Any, cast

from aiokafka import TopicPartition
from aiokafka.errors import IllegalOperation
from faust.tables.recovery import Recovery
from faust.transport.consumer import TransactionManager
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
from faust.types import TP

from foundation.consumers import stop_consumer
from foundation.exceptions import ConfigurationError

logger = logging.getLogger(__name__)

#: The Faust release these fixes were written against and proven on.
FIXED_FAUST_VERSION = "0.15.3"


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
