"""RocksDB tables that never keep a write the changelog did not commit, across restarts.

Faust's RocksDB store writes each table change as the event is processed, inside a
transaction that may still abort, and trusts its files on start (docs/decisions/0017). So a
partition's files are trusted at start only when the previous run proved, at the very end of
a clean stop, that every raw record it took from that partition had its offset committed
(the offsets commit in the same transaction as the record's table writes), and it never lost
the partition to another worker mid-run (losing a partition abandons its open transaction).
Any other start discards the files, and Faust rebuilds them from the committed changelog.
The memory store rebuilds from the changelog on every start and needs no guard.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import faust
from aiokafka.admin import AIOKafkaAdminClient
from faust.sensors import Sensor
from faust.types import TP, EventT, StreamT

from foundation.connection import KafkaConnection
from foundation.exceptions import KafkaUnavailableError
from foundation.kafka_errors import kafka_errors
from streams.engines.faust.table_files import discard, exclusive, take_marker, write_marker
from streams.settings import WorkerSettings

logger = logging.getLogger(__name__)


def partitions_to_discard(
    *, taken: Mapping[int, int], committed: Mapping[int, int], lost: frozenset[int]
) -> frozenset[int]:
    """Partitions whose files may hold a write that no committed transaction carries.

    ``taken``: the last raw offset this run took from each partition; ``committed``: the
    group's committed offset (the next to read) of each partition at the end of the run;
    ``lost``: partitions this run stopped processing while it ran.
    """
    uncommitted = {p for p, offset in taken.items() if committed.get(p, -1) <= offset}
    return frozenset(uncommitted) | lost


class TableFilesGuard(Sensor):
    """Discards untrusted table files at start; records what it can prove at a clean stop.

    A Faust sensor, because Faust starts its sensors before anything else (so before any
    table opens a file) and stops them last (after the last commit), and tells them of every
    record it hands to an agent.
    """

    def __init__(
        self,
        app: faust.App,
        *,
        source_topic: str,
        kafka: KafkaConnection,
        timeout_s: float,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._app = app
        self._source_topic = source_topic
        self._kafka = kafka
        self._timeout_s = timeout_s
        self._taken: dict[int, int] = {}
        self._assigned: frozenset[int] = frozenset()
        self._lost: set[int] = set()
        #: The table folder's lock, held from a completed start to the end of the stop.
        self._lock: contextlib.ExitStack | None = None

    @property
    def tabledir(self) -> Path:
        """Faust's folder of table files: ``<data_dir>/v<version>/tables``."""
        return Path(self._app.conf.tabledir)

    async def on_start(self) -> None:
        """Before any table opens: keep only what the last stop proved committed."""
        if self._lock is not None:
            return  # a restart of this service: the files are open, and were checked
        tabledir = self.tabledir
        with contextlib.ExitStack() as stack:
            stack.enter_context(exclusive(tabledir))
            to_discard = take_marker(tabledir)
            deleted = discard(tabledir, to_discard)
            self._lock = stack.pop_all()
        if to_discard is None:
            reason = "no clean-stop marker: the last run did not stop cleanly"
        else:
            reason = f"partitions {sorted(to_discard)} held writes not proven committed"
        if deleted:
            logger.warning(
                "discarded %d table files in %s (%s): they are rebuilt from the changelogs",
                len(deleted),
                tabledir,
                reason,
            )

    def on_stream_event_in(
        self, tp: TP, offset: int, stream: StreamT[Any], event: EventT[Any]
    ) -> dict[str, Any] | None:
        """Remember the last raw offset handed to the agent (its table writes may follow)."""
        if tp.topic == self._source_topic and offset > self._taken.get(tp.partition, -1):
            self._taken[tp.partition] = offset
        return None

    def note_assignment(self, assigned: Iterable[TP]) -> None:
        """Note the partitions taken away from this worker since the last assignment."""
        now = frozenset(tp.partition for tp in assigned if tp.topic == self._source_topic)
        self._lost |= self._assigned - now
        self._assigned = now

    async def on_stop(self) -> None:
        """After Faust's last commit: write the marker, if this run can prove what it says."""
        if self._lock is None:
            return  # the start did not get as far as the folder: it is not ours to mark
        try:
            if self._app.crashed:
                logger.warning("the worker crashed: its table files will be rebuilt on start")
                return
            try:
                committed = await asyncio.wait_for(self._committed_offsets(), self._timeout_s)
            except (KafkaUnavailableError, TimeoutError) as error:
                logger.warning("table files will be rebuilt on start: %s", error)
                return
            to_discard = partitions_to_discard(
                taken=self._taken, committed=committed, lost=frozenset(self._lost)
            )
            write_marker(self.tabledir, discard=to_discard)
            if to_discard:
                logger.warning(
                    "table files of partitions %s will be rebuilt on start", sorted(to_discard)
                )
        finally:
            self._lock.close()
            self._lock = None

    async def _committed_offsets(self) -> dict[int, int]:
        """The group's committed offset of each raw partition, as the broker has it."""
        admin = AIOKafkaAdminClient(
            **self._kafka.client_options(),
            request_timeout_ms=int(self._timeout_s * 1000),
        )
        with kafka_errors("read the worker's committed offsets", self._kafka):
            await admin.start()
            try:
                offsets = await admin.list_consumer_group_offsets(self._app.conf.id)
            finally:
                await admin.close()
        return {
            tp.partition: meta.offset
            for tp, meta in offsets.items()
            if tp.topic == self._source_topic
        }


def guard_table_files(
    app: faust.App, settings: WorkerSettings, *, kafka: KafkaConnection, source_topic: str
) -> TableFilesGuard | None:
    """Install the guard on a RocksDB worker, reading offsets from ``kafka`` (None for the
    memory store, which needs none)."""
    if not settings.store.startswith("rocksdb:"):
        return None
    guard = TableFilesGuard(
        app,
        source_topic=source_topic,
        kafka=kafka,
        timeout_s=settings.broker_request_timeout_s,
    )
    app.sensors.add(guard)

    async def on_partitions_assigned(sender: object, *args: Any, **kwargs: Any) -> None:
        (assigned,) = args  # Faust sends the new assignment (and the signal as a keyword)
        guard.note_assignment(assigned)

    # mode's handler type (mypy_extensions VarArg/NamedArg) matches no function mypy accepts,
    # not even one with exactly its signature.
    app.on_partitions_assigned.connect(on_partitions_assigned)  # type: ignore[arg-type]
    return guard
