"""One raw record through the engine's handler: encoded outputs, keyed and ordered."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from schemas.codec import default_codec
from schemas.keys import district_key, pair_key
from schemas.records import DeadLetter, PrivilegeChange, PrivilegeState
from streams.processor.handler import Output, RecordHandler
from streams.topics import OutputTopics
from tests.unit.streams.processor.builders import (
    AUNT,
    DISTRICT,
    NOW,
    PARENT,
    STUDENTS,
    event,
    existing,
    raw_event,
    raw_sync_completed,
    v3_contact,
)

TOPICS = OutputTopics.of("unit")
CODEC = default_codec()
KEY = district_key(DISTRICT)


def make_handler() -> RecordHandler:
    return RecordHandler(topics=TOPICS, codec=CODEC, clock=lambda: NOW)


def created(contact_id: str, students: dict[str, tuple[str, str]]) -> bytes:
    return CODEC.encode(raw_event(event("users.created", v3_contact(contact_id, students))))


def test_the_topics_are_the_deployments() -> None:
    topics = OutputTopics.of("unit")

    assert (topics.raw, topics.changes, topics.state, topics.dead_letters) == (
        "unit.clever.raw.v1",
        "unit.privileges.changes.v1",
        "unit.privileges.state.v1",
        "unit.dead-letters.v1",
    )


def test_a_record_gives_changes_by_district_then_states_by_pair() -> None:
    handler, store = make_handler(), existing(*STUDENTS)

    outputs = handler.handle(
        partition=2,
        offset=10,
        key=KEY,
        value=created("c1", {"s1": PARENT, "s2": AUNT}),
        store=store,
    )

    assert [(output.topic, output.key) for output in outputs] == [
        (TOPICS.changes, KEY),
        (TOPICS.changes, KEY),
        (TOPICS.state, pair_key(DISTRICT, "c1", "s1")),
        (TOPICS.state, pair_key(DISTRICT, "c1", "s2")),
    ]
    changes = [CODEC.decode(output.value or b"", PrivilegeChange) for output in outputs[:2]]
    states = [CODEC.decode(output.value or b"", PrivilegeState) for output in outputs[2:]]
    assert [(c.district_id, c.contact_id, c.student_id) for c in changes] == [
        (DISTRICT, "c1", "s1"),
        (DISTRICT, "c1", "s2"),
    ]
    assert [(s.contact_id, s.student_id, s.updated_at) for s in states] == [
        ("c1", "s1", NOW),
        ("c1", "s2", NOW),
    ]
    assert handler.counts == {"applied": 1}
    assert store.get_contact(DISTRICT, "c1") is not None


def test_a_revoked_pair_is_a_tombstone_on_the_state_topic() -> None:
    handler, store = make_handler(), existing(*STUDENTS)
    handler.handle(partition=0, offset=0, key=KEY, value=created("c1", {"s1": PARENT}), store=store)
    deleted = CODEC.encode(raw_event(event("users.deleted", v3_contact("c1", {"s1": PARENT}))))

    outputs = handler.handle(partition=0, offset=1, key=KEY, value=deleted, store=store)

    assert [(o.topic, o.key) for o in outputs] == [
        (TOPICS.changes, KEY),
        (TOPICS.state, pair_key(DISTRICT, "c1", "s1")),
    ]
    assert outputs[1].value is None
    assert handler.counts == {"applied": 2}


@pytest.mark.parametrize(
    ("key", "letter_key"),
    [
        pytest.param(KEY, KEY, id="district-key"),
        pytest.param(None, b"", id="no-key"),
    ],
)
@pytest.mark.parametrize(
    "value", [pytest.param(b"not a record", id="garbage"), pytest.param(None, id="tombstone")]
)
def test_bytes_that_are_no_record_give_one_dead_letter(
    key: bytes | None, letter_key: bytes, value: bytes | None
) -> None:
    handler = make_handler()

    outputs = handler.handle(partition=3, offset=7, key=key, value=value, store=existing(*STUDENTS))

    [output] = outputs
    assert (output.topic, output.key) == (TOPICS.dead_letters, letter_key)
    letter = CODEC.decode(output.value or b"", DeadLetter)
    assert (letter.source_topic, letter.source_partition, letter.source_offset) == (
        TOPICS.raw,
        3,
        7,
    )
    assert (letter.original_key, letter.original_value) == (key, value)
    assert handler.counts == {"dead-lettered": 1}


def test_a_replayed_position_gives_nothing() -> None:
    handler, store = make_handler(), existing(*STUDENTS)
    value = created("c1", {"s1": PARENT})
    first = handler.handle(partition=1, offset=5, key=KEY, value=value, store=store)

    again = handler.handle(partition=1, offset=5, key=KEY, value=value, store=store)
    earlier = handler.handle(partition=1, offset=4, key=KEY, value=value, store=store)

    assert first
    assert again == earlier == []
    assert handler.counts == {"applied": 1, "replayed": 2}


def test_a_replayed_dead_letter_gives_nothing() -> None:
    handler, store = make_handler(), existing(*STUDENTS)
    handler.handle(partition=1, offset=5, key=KEY, value=b"junk", store=store)

    assert handler.handle(partition=1, offset=5, key=KEY, value=b"junk", store=store) == []
    assert handler.counts == {"dead-lettered": 1, "replayed": 1}


def test_an_event_of_no_interest_is_counted_as_skipped() -> None:
    handler = make_handler()
    value = CODEC.encode(raw_event(event("sections.created", {"id": "sec1"})))

    outputs = handler.handle(partition=0, offset=0, key=KEY, value=value, store=existing(*STUDENTS))

    assert outputs == []
    [(outcome, count)] = handler.counts.items()
    assert outcome.startswith("skipped:")
    assert count == 1


def test_the_handler_reads_its_clock_for_every_record() -> None:
    moments = iter([datetime(2030, 1, 1, tzinfo=UTC), datetime(2031, 1, 1, tzinfo=UTC)])
    handler = RecordHandler(topics=TOPICS, codec=CODEC, clock=lambda: next(moments))
    store = existing(*STUDENTS)

    first = handler.handle(
        partition=0, offset=0, key=KEY, value=created("c1", {"s1": PARENT}), store=store
    )
    second = handler.handle(
        partition=0, offset=1, key=KEY, value=created("c2", {"s1": PARENT}), store=store
    )

    assert CODEC.decode(first[0].value or b"", PrivilegeChange).emitted_at.year == 2030
    assert CODEC.decode(second[0].value or b"", PrivilegeChange).emitted_at.year == 2031


def test_the_log_never_holds_personal_data(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    handler, store = make_handler(), existing(*STUDENTS)
    contact = v3_contact("c1", {"s1": PARENT})
    contact["name"] = {"first": "Zelda", "last": "Quixotic-Personname"}
    contact["email"] = "zelda.private@example.org"
    contact["roles"]["contact"]["phone"] = "+1 555 867 5309"
    odd = {**contact, "roles": {"contact": {**contact["roles"]["contact"]}}}
    odd["roles"]["contact"]["student_relationships"] = [
        {"student": "s1", "relationship": "Parent", "type": "Parent/Guardian"},
        {"student": {"name": "Zelda"}, "relationship": "zelda.private@example.org"},
        "+1 555 867 5309",
    ]
    no_id = {key: value for key, value in contact.items() if key != "id"}
    valid = CODEC.encode(raw_event(event("users.created", contact)))
    records: list[bytes | None] = [
        valid,
        CODEC.encode(raw_event(event("users.updated", odd))),
        CODEC.encode(raw_event(event("users.updated", no_id))),
        CODEC.encode(raw_sync_completed("sync-nobody-started")),
        valid[:-5],
        valid + b"trailing",
        b'{"name": "Zelda", "email": "zelda.private@example.org"}',
    ]

    outputs: list[Output] = []
    for offset, value in enumerate(records):
        outputs += handler.handle(partition=0, offset=offset, key=KEY, value=value, store=store)

    # Every path that logs was taken: applied, warnings, dead letters of both kinds.
    assert handler.counts["applied"] >= 2
    assert handler.counts["dead-lettered"] == 4
    assert len(caplog.records) >= 6
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for personal in ("Zelda", "Quixotic", "zelda.private", "867", "5309", "example.org"):
        assert personal not in logged


def test_a_raw_prefix_of_its_own_names_the_input_only() -> None:
    topics = OutputTopics.of("rebuilt", raw_prefix="live")

    assert (topics.raw, topics.changes) == ("live.clever.raw.v1", "rebuilt.privileges.changes.v1")


def test_a_handler_for_some_districts_skips_the_others_whole() -> None:
    store = existing(*STUDENTS)
    others = RecordHandler(topics=TOPICS, codec=CODEC, clock=lambda: NOW, districts=["d-other"])
    mine = RecordHandler(topics=TOPICS, codec=CODEC, clock=lambda: NOW, districts=[DISTRICT])
    value = created("c1", {"s1": PARENT})

    skipped = others.handle(partition=0, offset=0, key=KEY, value=value, store=store)

    assert skipped == []
    assert others.counts == {"skipped:other-district": 1}
    assert store.get_contact(DISTRICT, "c1") is None
    assert store.get_district(DISTRICT) is None
    outputs = mine.handle(partition=0, offset=0, key=KEY, value=value, store=store)
    assert [output.topic for output in outputs] == [TOPICS.changes, TOPICS.state]
    assert mine.changes == 1
