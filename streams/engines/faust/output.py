"""Send a raw record's outputs inside the transaction that commits the record's offset.

Every output of a record is sent with the transactional ID of the record's *source*
partition: the producer whose transaction Faust commits with that partition's offsets and
its tables' changelog writes. All or nothing, per source partition; Faust's own choice, by
destination partition, sends to our output topics outside any transaction
(docs/decisions/0011). ``flush_table_writes`` hands the tables' buffered changelog writes to
that producer before the record is acknowledged, so they commit with its offset
(docs/decisions/0012).
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
