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
from schemas.topics import MAX_RECORD_BYTES
from streams.processor.exceptions import OutputTooLargeError
from streams.processor.process import Outputs, Position, process_bytes, rejected
from streams.processor.store import StateStore
from streams.topics import OutputTopics
from streams.writers.output_writer import OutputWriter

logger = logging.getLogger(__name__)

#: The outcome of a record of a district the handler is not for.
OTHER_DISTRICT: Final = "skipped:other-district"
#: The largest output (key and value) sent: the pipeline's one limit for a record.
MAX_OUTPUT_BYTES: Final = MAX_RECORD_BYTES


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
        position = Position(partition=partition, offset=offset)
        now = self._clock()
        outputs = process_bytes(
            value,
            key=key,
            position=position,
            store=store,
            now=now,
            source_topic=self._topics.raw,
            codec=self._codec,
        )
        found, too_large = self._encoded(outputs)
        if too_large is not None:
            error = OutputTooLargeError(
                f"its output for {too_large.topic} {too_large.key.decode(errors='replace')} "
                f"encodes to {_size(too_large):,} bytes, more than the {MAX_OUTPUT_BYTES:,} a "
                "Kafka record may hold"
            )
            outputs = rejected(
                error,
                key=key,
                value=value,
                position=position,
                store=store,
                now=now,
                source_topic=self._topics.raw,
            )
            found = []
        self.counts[outputs.outcome] += 1
        if outputs.changes:
            self.changes += len(outputs.changes)
            kinds = self.change_kinds
            for change in outputs.changes:
                kinds[change.kind] += 1
        if outputs.dead_letters or outputs.warnings:
            found += self._dead_letters(outputs, key or b"")
        return found

    def _encoded(self, outputs: Outputs) -> tuple[list[Output], Output | None]:
        """The changes and states of ``outputs``, encoded, and the first one larger than a
        Kafka record may be, if any."""
        topics = self._topics
        write_change, write_state = self._writer.change, self._writer.state
        found: list[Output] = []
        district = None
        for change in outputs.changes:
            district = district or district_key(change.district_id)
            found.append(Output(topics.changes, district, write_change(change)))
        for pair, state in outputs.states:
            found.append(Output(topics.state, pair, None if state is None else write_state(state)))
        too_large = next((output for output in found if _size(output) > MAX_OUTPUT_BYTES), None)
        return found, too_large

    def _dead_letters(self, outputs: Outputs, raw_key: bytes) -> list[Output]:
        """The dead letters of ``outputs``, encoded, counted and logged (IDs only); and its
        warnings logged."""
        topics, encode = self._topics, self._codec.encode
        found = []
        for letter in outputs.dead_letters:
            self.dead_letter_reasons[letter.error_type] += 1
            key = district_key(letter.district_id) if letter.district_id else raw_key
            found.append(Output(topics.dead_letters, key, encode(letter)))
            logger.warning(
                "raw record %s[%d]@%d dead-lettered: %s: %s",
                topics.raw,
                letter.source_partition,
                letter.source_offset,
                letter.error_type,
                letter.error_message,
            )
        for warning in outputs.warnings:
            logger.warning("%s", warning)
        return found


def _size(output: Output) -> int:
    return len(output.key) + len(output.value or b"")
