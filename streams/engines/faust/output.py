"""Send a raw record's outputs inside the transaction that commits the record's offset.

The work-around for Faust's exactly-once, narrowly scoped. Faust (faust-streaming 0.15)
picks a transactional producer by the *destination* partition of each sent record, and only
for topics the app consumes; a record sent to any other topic (our privilege, state and
dead-letter topics) goes through its plain, non-transactional producer. Such outputs survive
a crash whose input offsets were never committed, and are sent again when the input is
processed again: duplicates for a ``read_committed`` reader, as faust-streaming issues 517,
323 and 177 report. So every output of a record is sent here with the transactional ID of
the record's *source* partition: the producer whose transaction Faust commits with that
partition's offsets and its tables' changelog writes. All or nothing, per source partition.

A second gap, found by our SIGKILL test: Faust buffers table changelog writes (``send_soon``)
and, with exactly_once, commits offsets *without* flushing that buffer first (the
at-least-once path flushes it). A record's offset could be committed while its table writes
still waited in the buffer, to land in the next transaction or, after a kill, nowhere: the
restarted worker then resumed after records whose state it never saw. ``flush_table_writes``
hands the buffered writes to the transactional producer before the record is acknowledged,
so they are part of the transaction that commits its offset.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable

import faust
from faust.types import EventT, TopicT

logger = logging.getLogger(__name__)


class TransactionalOutput:
    """Writes records to output topics in the current source partition's transaction."""

    def __init__(self, app: faust.App) -> None:
        self._app = app

    def transactional_id(self, event: EventT[bytes]) -> str | None:
        """The ID Faust commits ``event``'s source partition under (None: at-least-once).

        ``app.in_transaction`` is Faust's own switch: exactly_once, in a worker.
        """
        if not self._app.in_transaction:
            return None
        tp = event.message.tp
        group = self._app.assignor.group_for_topic(tp.topic)
        return f"{self._app.conf.id}-{group}-{tp.partition}"

    async def flush_table_writes(self) -> None:
        """Hand the tables' buffered changelog writes to the producer (see the module doc)."""
        await self._app.producer.buffer.flush()

    async def send(
        self,
        event: EventT[bytes],
        topic: TopicT,
        *,
        key: bytes,
        value: bytes | None,
        partition: int | None = None,
    ) -> Awaitable[object]:
        """Queue one record; the transaction's commit (with the offsets) flushes it."""
        return await self._app.producer.send(
            topic.get_topic_name(),
            key,
            value,
            partition,
            None,
            None,
            transactional_id=self.transactional_id(event),
        )
