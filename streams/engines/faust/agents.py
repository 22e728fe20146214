"""The privilege agent: a thin loop from raw Clever records to the processor and back out.

Each raw record is decoded, applied to the tables by ``streams.processor.process``, and
what that gives (privilege changes, current-state records, dead letters) is sent in the
transaction of the record's source partition. Records are taken in partition order, so one
district's records (one partition) are applied in the order Clever sent them.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from datetime import datetime

import faust
from faust.types import AgentT, EventT

from foundation.clock import utc_now
from schemas.codec import Codec
from schemas.exceptions import DecodeError
from schemas.keys import district_key
from schemas.records import RawCleverRecord
from streams.engines.faust.output import TransactionalOutput
from streams.engines.faust.topics import WorkerTopics
from streams.processor.dead_letters import dead_letter
from streams.processor.process import Outputs, Position, process
from streams.processor.store import StateStore

logger = logging.getLogger(__name__)


class PrivilegeHandler:
    """What the agent does with one event; separate from Faust's loop so tests can drive it."""

    def __init__(
        self,
        *,
        topics: WorkerTopics,
        store: StateStore,
        output: TransactionalOutput,
        codec: Codec,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._topics = topics
        self._store = store
        self._output = output
        self._codec = codec
        self._clock = clock
        self._raw_topic = topics.raw.get_topic_name()
        #: Records by outcome (applied, replayed, skipped:<type>, dead-lettered), for logs.
        self.counts: Counter[str] = Counter()

    async def handle(self, event: EventT[bytes]) -> None:
        """Apply one raw record and send what it changed."""
        message = event.message
        position = Position(partition=message.partition, offset=message.offset)
        now = self._clock()
        try:
            record = self._decode(message.value)
        except DecodeError as error:
            letter = dead_letter(
                error,
                position=position,
                now=now,
                source_topic=self._raw_topic,
                original_key=message.key,
                original_value=message.value,
            )
            logger.warning(
                "raw record %s[%d]@%d cannot be read: %s",
                self._raw_topic,
                position.partition,
                position.offset,
                error,
            )
            await self._send_dead_letters(event, message.key or b"", (letter,))
            self.counts["dead-lettered"] += 1
            return
        outputs = process(
            record,
            position=position,
            store=self._store,
            now=now,
            source_topic=self._raw_topic,
            original_value=message.value,
        )
        await self._send(event, record.district_id, outputs)
        # Before the event is acknowledged (and its offset can be committed).
        await self._output.flush_table_writes()

    def _decode(self, value: bytes | None) -> RawCleverRecord:
        if value is None:
            raise DecodeError("a raw record without a value (a tombstone)")
        return self._codec.decode(value, RawCleverRecord)

    async def _send(self, event: EventT[bytes], district_id: str, outputs: Outputs) -> None:
        key = district_key(district_id)
        encode = self._codec.encode
        for change in outputs.changes:
            await self._output.send(event, self._topics.changes, key=key, value=encode(change))
        for pair, state in outputs.states:
            value = None if state is None else encode(state)
            await self._output.send(event, self._topics.state, key=pair, value=value)
        await self._send_dead_letters(event, key, outputs.dead_letters)
        for warning in outputs.warnings:
            logger.warning("district %s: %s", district_id, warning)
        self.counts[outputs.outcome] += 1

    async def _send_dead_letters(
        self, event: EventT[bytes], key: bytes, letters: tuple[object, ...]
    ) -> None:
        for letter in letters:
            await self._output.send(
                event,
                self._topics.dead_letters,
                key=key,
                value=self._codec.encode(letter),  # type: ignore[arg-type]
            )


def register_privilege_agent(
    app: faust.App, *, topics: WorkerTopics, handler: PrivilegeHandler
) -> AgentT[bytes]:
    """The agent on the raw topic, one actor: partitions are taken in order."""

    @app.agent(topics.raw, name="privileges")
    async def privileges(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            await handler.handle(event)

    return privileges
