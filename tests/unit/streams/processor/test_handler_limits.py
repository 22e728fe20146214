"""A record whose output would not fit in a Kafka record is dead-lettered whole, and leaves
nothing behind but its district's position: sending it would fail the partition's
transaction every time the record is read again."""

from __future__ import annotations

from typing import Any

from schemas.codec import default_codec
from schemas.keys import district_key
from streams.processor import MemoryStore
from streams.processor.handler import MAX_OUTPUT_BYTES, Output, RecordHandler
from streams.topics import OutputTopics
from tests.unit.streams.processor.builders import (
    DISTRICT,
    PARENT,
    event,
    live_pairs,
    raw_event,
    v3_contact,
    v3_student,
)

TOPICS = OutputTopics.of("unit")
CODEC = default_codec()
HALF = "x" * (MAX_OUTPUT_BYTES // 2 + 1)


def handled(
    handler: RecordHandler, store: MemoryStore, offset: int, item: dict[str, Any]
) -> list[Output]:
    value = CODEC.encode(raw_event(item))
    return handler.handle(
        partition=0, offset=offset, key=district_key(DISTRICT), value=value, store=store
    )


def test_a_change_too_large_for_kafka_is_dead_lettered_and_changes_nothing() -> None:
    handler, store = RecordHandler(topics=TOPICS, codec=CODEC), MemoryStore()
    handled(handler, store, 0, event("users.created", v3_student("s1")))
    # A relationship of half the limit: its grant fits, but the change from it to another
    # such relationship holds both, before and after.
    granted = handled(
        handler,
        store,
        1,
        event("users.updated", v3_contact("c1", {"s1": (HALF, "Parent/Guardian")})),
    )
    before = live_pairs(store)

    changed = handled(
        handler, store, 2,
        event("users.updated", v3_contact("c1", {"s1": (HALF + "y", "Parent/Guardian")})),
    )  # fmt: skip

    assert [output.topic for output in granted] == [TOPICS.changes, TOPICS.state]
    assert [output.topic for output in changed] == [TOPICS.dead_letters]
    assert all(len(o.key) + len(o.value or b"") <= MAX_OUTPUT_BYTES for o in changed)
    assert live_pairs(store) == before
    assert handler.dead_letter_reasons == {"OutputTooLargeError": 1}
    assert handler.counts["dead-lettered"] == 1
    assert handler.change_kinds == {"GRANTED": 1}
    # The position moved past it: read again, it is a replay, not a second dead letter.
    again = handled(
        handler, store, 2,
        event("users.updated", v3_contact("c1", {"s1": (HALF + "y", "Parent/Guardian")})),
    )  # fmt: skip
    assert again == []
    assert handler.counts["replayed"] == 1


def test_the_rejected_event_applies_when_a_smaller_copy_of_it_comes() -> None:
    handler, store = RecordHandler(topics=TOPICS, codec=CODEC), MemoryStore()
    handled(handler, store, 0, event("users.created", v3_student("s1")))
    handled(handler, store, 1, event("users.updated", v3_contact("c1", {"s1": (HALF, "Family")})))
    handled(
        handler,
        store,
        2,
        event(
            "users.updated", v3_contact("c1", {"s1": (HALF + "y", "Family")}), event_id="evt-big"
        ),
    )

    fixed = handled(
        handler,
        store,
        3,
        event("users.updated", v3_contact("c1", {"s1": PARENT}), event_id="evt-big"),
    )

    # Its event ID was not remembered: the copy applies.
    assert [output.topic for output in fixed] == [TOPICS.changes, TOPICS.state]
