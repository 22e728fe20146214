"""One raw record through the processor: the records to send for it, encoded.

Both engines hand each raw record to a ``RecordHandler`` and send what it returns in the
transaction of the record's partition. It holds no Kafka client, so tests drive it with
plain values.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from foundation.clock import utc_now
from schemas.codec import Codec
from schemas.keys import district_key
from streams.processor.process import Outputs, Position, process_bytes
from streams.processor.store import StateStore
from streams.topics import OutputTopics
from streams.writers.output_writer import OutputWriter

logger = logging.getLogger(__name__)

#: The outcome of a record of a district the handler is not for.
OTHER_DISTRICT: Final = "skipped:other-district"


@dataclass(frozen=True, slots=True)
class Output:
    """One record to send: topic, key and value (None: a tombstone)."""

    topic: str
    key: bytes
    value: bytes | None


class RecordHandler:
    """Applies raw records to a store and says what to send; counts the outcomes."""

    def __init__(
        self,
        *,
        topics: OutputTopics,
        codec: Codec,
        clock: Callable[[], datetime] = utc_now,
        districts: Iterable[str] = (),
    ) -> None:
        self._topics = topics
        #: The raw keys of the only districts to process (empty: every district).
        self._only = frozenset(district_key(district) for district in districts)
        self._codec = codec
        #: The changes and states (most of what is sent), written faster than the codec does.
        self._writer = OutputWriter(codec)
        self._clock = clock
        #: Records by outcome (applied, replayed, skipped:<type>, dead-lettered), for logs.
        self.counts: Counter[str] = Counter()
        #: The privilege changes the records gave, in all and by kind.
        self.changes = 0
        self.change_kinds: Counter[str] = Counter()
        #: The records dead-lettered, by the error's class.
        self.dead_letter_reasons: Counter[str] = Counter()

    def handle(
        self,
        *,
        partition: int,
        offset: int,
        key: bytes | None,
        value: bytes | None,
        store: StateStore,
    ) -> list[Output]:
        """Apply the raw record at ``partition``/``offset``; what to send, in order.

        A record of a district the handler is not for changes nothing and sends nothing."""
        if self._only and key not in self._only:
            self.counts[OTHER_DISTRICT] += 1
            return []
        outputs = process_bytes(
            value,
            key=key,
            position=Position(partition=partition, offset=offset),
            store=store,
            now=self._clock(),
            source_topic=self._topics.raw,
            codec=self._codec,
        )
        self.counts[outputs.outcome] += 1
        self.changes += len(outputs.changes)
        return self._encoded(outputs, key or b"")

    def _encoded(self, outputs: Outputs, raw_key: bytes) -> list[Output]:
        topics, encode = self._topics, self._codec.encode
        write_change, write_state = self._writer.change, self._writer.state
        found: list[Output] = []
        district = None
        kinds = self.change_kinds
        for change in outputs.changes:
            kinds[change.kind] += 1
            district = district or district_key(change.district_id)
            found.append(Output(topics.changes, district, write_change(change)))
        for pair, state in outputs.states:
            found.append(Output(topics.state, pair, None if state is None else write_state(state)))
        for letter in outputs.dead_letters:
            self.dead_letter_reasons[letter.error_type] += 1
            key = district_key(letter.district_id) if letter.district_id else raw_key
            found.append(Output(topics.dead_letters, key, encode(letter)))
            logger.warning(
                "raw record %s[%d]@%d cannot be read: %s: %s",
                topics.raw,
                letter.source_partition,
                letter.source_offset,
                letter.error_type,
                letter.error_message,
            )
        for warning in outputs.warnings:
            logger.warning("%s", warning)
        return found
