"""``clever-stream dead-letters``: what could not be processed, and putting it back after a fix.

``show`` reads the dead-letter topic: each letter's reason, district and origin (never its
record's content, which may hold personal data). ``replay`` appends the original records of
the chosen letters to the raw topic again, in one transaction, keyed as they were, so that a
worker with the fix applies them; the letters stay where they are. A replayed event is
applied after the district's records that came since, as a new event would be; an event ID
applied already changes nothing (docs/topics.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer

from foundation.connection import KafkaConnection
from foundation.kafka_errors import kafka_errors
from foundation.reading import partition_counts, read_committed
from schemas.codec import Codec
from schemas.records import DeadLetter
from schemas.topics import DEAD_LETTERS, RAW_EVENTS


@dataclass(frozen=True, kw_only=True)
class Letter:
    """A dead letter and where it sits on the dead-letter topic."""

    partition: int
    offset: int
    letter: DeadLetter


async def read_letters(kafka: KafkaConnection, *, prefix: str, codec: Codec) -> list[Letter]:
    """Every committed dead letter of the deployment of ``prefix``, partition by partition."""
    topic = DEAD_LETTERS.name(prefix)
    with kafka_errors("read the dead letters", kafka):
        counts = await partition_counts(kafka, [topic])
        records = await read_committed(kafka, topic, counts.get(topic, 0))
    return [
        Letter(
            partition=record.partition,
            offset=record.offset,
            letter=codec.decode(record.value, DeadLetter),
        )
        for record in records
        if record.value is not None
    ]


def chosen(letters: Iterable[Letter], *, reason: str | None, district: str | None) -> list[Letter]:
    """The letters of ``reason`` (their error type) and ``district``, where given."""
    return [
        found
        for found in letters
        if (reason is None or found.letter.error_type == reason)
        and (district is None or found.letter.district_id == district)
    ]


async def replay_letters(
    kafka: KafkaConnection, letters: list[Letter], *, prefix: str, transactional_id: str
) -> int:
    """Append the original records of ``letters`` to the raw topic, in one transaction; how
    many were appended (a letter without its original record is left out)."""
    raw_topic = RAW_EVENTS.name(prefix)
    records = [
        (found.letter.original_key, found.letter.original_value)
        for found in letters
        if found.letter.original_value is not None
    ]
    if not records:
        return 0
    producer = AIOKafkaProducer(
        **kafka.client_options(),
        transactional_id=transactional_id,
        enable_idempotence=True,
        acks="all",
    )
    with kafka_errors("append the dead letters' records to the raw topic", kafka):
        try:
            await producer.start()
            async with producer.transaction():
                for key, value in records:
                    await producer.send(raw_topic, key=key, value=value)
        finally:
            await producer.stop()
    return len(records)
