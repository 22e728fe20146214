"""Narrow fixes to faust-streaming 0.15.3 that the worker's exactly-once guarantee depends on.

Each fix replaces one method, is applied once by :func:`apply_faust_fixes` (from
``create_app``), and refuses to apply to any other Faust version: a new Faust must be read
again, not trusted to have kept the bug. ``docs/architecture.md`` tells the story of each and
the test that fails without it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from importlib.metadata import version
from typing import Any, cast

from aiokafka.errors import IllegalOperation
from faust.tables.recovery import Recovery
from faust.transport.consumer import TransactionManager
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
from faust.types import TP

from foundation.exceptions import ConfigurationError

logger = logging.getLogger(__name__)

#: The Faust release these fixes were written against and proven on.
FIXED_FAUST_VERSION = "0.15.3"


async def _committed_highwaters(
    self: AIOKafkaConsumerThread, partitions: list[TP]
) -> Mapping[TP, int]:
    """Each partition's end as a ``read_committed`` reader sees it: its last stable offset.

    Faust, under exactly_once, reads ``AIOKafkaConsumer.last_stable_offset`` instead, which
    aiokafka only knows once it has fetched from the partition. A changelog partition this
    worker was just given has not been fetched, so Faust saw no end (``-1``), decided there
    was nothing to recover and processed the new partition's events against an empty table
    (after a rebalance, every contact of a moved district looked new). ``end_offsets`` asks
    the broker, and honours the consumer's ``read_committed`` isolation.
    """
    consumer = self._ensure_consumer()
    ends = await consumer.end_offsets(partitions)
    return cast(Mapping[TP, int], ends)


async def _seek_then_resume_streams(recovery: Recovery, assignment: set[TP]) -> None:
    """Seek the stream (raw) partitions to their committed offsets, *then* fetch them.

    Faust ends a rebalance by resuming the stream partitions first and seeking them
    afterwards, while the flow already runs: records fetched from the old position in between
    reach the agent's queue and move Faust's read offsets; ``flow_control.resume()`` then
    clears that queue, and the same records fetched again after the seek fall behind the
    moved read offsets and are dropped as already read. Our two-worker rebalance test saw
    exactly that: the first raw record after a takeover was never processed, its grant never
    emitted. Seeking while the partitions are still paused (they are paused at assignment),
    and clearing the queues before resuming them, leaves nothing to race.
    """
    app: Any = recovery.app
    consumer = app.consumer
    if assignment:
        recovery.log.info("Seek stream partitions to committed offsets.")
        await recovery._wait(consumer.perform_seek(), timeout=app.conf.broker_request_timeout)
    recovery.completed.set()
    app.flow_control.resume()
    consumer.resume_flow()
    consumer.resume_partitions({tp for tp in assignment if not recovery._is_changelog_tp(tp)})
    await app._fetcher.maybe_start()


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

    A stopping worker makes its final commit and ends its transactions; Faust's commit timer
    can still fire after that, and its commit then finds no transaction open
    (``IllegalOperation``), crashes the app, and the worker exits 1 after a clean SIGTERM
    (2 of about 35 stops in our tests). Nothing is lost by skipping that commit: a record
    processed after the final commit could send nothing (a transactional producer refuses
    sends outside a transaction), so its offset must stay uncommitted for the next owner.
    Outside a stop, the error is raised as before.
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
    consumer_thread._highwaters = _committed_highwaters
    recovery = cast(Any, Recovery)
    recovery._resume_streams = _resume_streams
    recovery.on_recovery_completed = _on_recovery_completed
    transaction_manager = cast(Any, TransactionManager)
    transaction_manager.commit = _commit_unless_stopped
