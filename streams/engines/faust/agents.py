"""The privilege agent: a thin Faust loop around the shared record handler.

Each raw record goes through ``streams.processor.handler.RecordHandler`` with a
``PartitionTransaction`` over the Faust tables; the record's table writes are then set in
the tables (Faust sends them to the changelogs), and its outputs (privilege changes,
current-state records, dead letters) are sent, all in the transaction of the record's source
partition (``streams.engines.faust.output``). Records are taken in partition order, so one
district's records (one partition) are applied in the order Clever sent them.
"""

from __future__ import annotations

from collections import Counter

import faust
from faust.types import AgentT, EventT

from streams.engines.faust.output import TransactionalOutput
from streams.engines.faust.topics import WorkerTopics
from streams.processor.handler import RecordHandler
from streams.state.transaction import PartitionTransaction

#: Faust's own changelogs keep the tables' offsets: the transaction is given this one.
_FAUST_KEEPS_OFFSETS = 0


class PrivilegeHandler:
    """What the agent does with one event; separate from Faust's loop so tests can drive it."""

    def __init__(
        self,
        *,
        topics: WorkerTopics,
        transaction: PartitionTransaction,
        output: TransactionalOutput,
        handler: RecordHandler,
    ) -> None:
        #: The Faust topic of each output's topic name.
        self._topics = topics.by_name()
        self._transaction = transaction
        self._output = output
        self._handler = handler

    @property
    def records(self) -> RecordHandler:
        """The shared record handler this agent runs."""
        return self._handler

    @property
    def counts(self) -> Counter[str]:
        """Records by outcome (applied, replayed, skipped:<type>, dead-lettered)."""
        return self._handler.counts

    async def handle(self, event: EventT[bytes]) -> None:
        """Apply one raw record, set its table writes, and send what it changed."""
        message = event.message
        transaction = self._transaction
        try:
            outputs = self._handler.handle(
                partition=message.partition,
                offset=message.offset,
                key=message.key,
                value=message.value,
                store=transaction,
            )
            transaction.prepare()
            transaction.commit(_FAUST_KEEPS_OFFSETS)
        except BaseException:
            transaction.abort()
            raise
        topics = self._topics
        for output in outputs:
            await self._output.send(event, topics[output.topic], key=output.key, value=output.value)
        # Before the event is acknowledged (and its offset can be committed): 0012.
        await self._output.flush_table_writes()


def register_privilege_agent(
    app: faust.App, *, topics: WorkerTopics, handler: PrivilegeHandler
) -> AgentT[bytes]:
    """The agent on the raw topic, one actor: partitions are taken in order."""

    @app.agent(topics.raw, name="privileges")
    async def privileges(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            await handler.handle(event)

    return privileges
