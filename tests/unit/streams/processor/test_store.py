"""The store's bookkeeping, its JSON encodings, and raw bytes as read from Kafka."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.codec import default_codec
from schemas.exceptions import DecodeError
from schemas.records import ContactSnapshot, StudentRelationship
from schemas.values import PhoneType
from streams.processor import (
    RECENTLY_DELETED_LIMIT,
    ContactGrants,
    DistrictProgress,
    PairGrant,
    Position,
    StudentEntry,
    decode_grants,
    decode_progress,
    decode_student,
    encode_grants,
    encode_progress,
    encode_student,
    process_bytes,
)
from streams.processor.store import OTHER_SKIPS, SKIP_COUNT_LIMIT, MemoryStore
from tests.strategies import clever_ids, optional_texts, privileges, times
from tests.unit.streams.processor.builders import (
    DISTRICT,
    NOW,
    PARENT,
    Harness,
    event,
    kinds,
    raw_event,
    v3_contact,
)

snapshots = st.builds(
    ContactSnapshot,
    district_id=clever_ids,
    contact_id=clever_ids,
    sis_id=st.none() | clever_ids,
    legacy_id=st.none() | clever_ids,
    phone_type=st.sampled_from(PhoneType),
    phone_type_raw=optional_texts,
    relationships=st.lists(
        st.builds(StudentRelationship, student_id=clever_ids, privilege=privileges), max_size=3
    ).map(tuple),
    last_event_id=st.none() | clever_ids,
    last_sync_id=st.none() | clever_ids,
    updated_at=times,
)
progresses = st.builds(
    DistrictProgress,
    district_id=clever_ids,
    last_partition=st.none() | st.integers(0, 1000),
    last_offset=st.none() | st.integers(0, 2**62),
    record_count=st.integers(0, 2**62),
    event_day=st.none() | st.integers(0, 10**6),
    sync_id=st.none() | clever_ids,
    recently_deleted=st.lists(snapshots, max_size=3).map(
        lambda items: tuple((item.contact_id, item) for item in items)
    ),
    skipped=st.lists(st.tuples(optional_texts.map(str), st.integers(1, 10**9)), max_size=3).map(
        tuple
    ),
)
contact_grants = st.builds(
    ContactGrants,
    district_id=clever_ids,
    contact_id=clever_ids,
    grants=st.lists(
        st.builds(
            PairGrant,
            student_id=clever_ids,
            granted_at=times,
            reissued_from_contact_id=st.none() | clever_ids,
            last_change_id=clever_ids,
        ),
        max_size=3,
    ).map(tuple),
)
students = st.builds(
    StudentEntry,
    district_id=clever_ids,
    student_id=clever_ids,
    exists=st.booleans(),
    last_sync_id=st.none() | clever_ids,
    listed_by=st.frozensets(clever_ids, max_size=4),
)


@given(progresses)
def test_district_progress_round_trips_through_the_table_format(progress: DistrictProgress) -> None:
    assert decode_progress(encode_progress(progress)) == progress


@given(contact_grants)
def test_contact_grants_round_trip_through_the_table_format(grants: ContactGrants) -> None:
    assert decode_grants(encode_grants(grants)) == grants


@given(students)
def test_student_entries_round_trip_through_the_table_format(entry: StudentEntry) -> None:
    assert decode_student(entry.district_id, entry.student_id, encode_student(entry)) == entry


def test_values_written_before_a_field_was_added_read_with_its_default() -> None:
    """Tables an earlier version wrote: progress without the record count and event day,
    grants without the last change, the students index as a list of contacts."""
    progress = decode_progress(
        b'{"format":1,"district_id":"d","last_partition":0,"last_offset":7,"sync_id":null,'
        b'"recently_deleted":[],"skipped":[]}'
    )
    grants = decode_grants(
        b'{"format":1,"district_id":"d","contact_id":"c",'
        b'"grants":[["s1","2025-03-04T05:06:07+00:00",null]]}'
    )
    student = decode_student("d", "s1", b'["c2","c1"]')

    assert (progress.record_count, progress.event_day, progress.last_offset) == (0, None, 7)
    assert [(g.student_id, g.last_change_id) for g in grants.grants] == [("s1", "")]
    assert student == StudentEntry(
        district_id="d", student_id="s1", exists=True, listed_by=frozenset({"c1", "c2"})
    )


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"\xff", id="not UTF-8"),
        pytest.param(b"[]", id="not an object"),
        pytest.param(b'{"format": 2}', id="another format"),
        pytest.param(b'{"format": 1, "district_id": 3}', id="wrong field type"),
        pytest.param(b'{"format": 1, "district_id": "d"}', id="missing fields"),
    ],
)
def test_what_is_not_an_encoding_fails_to_decode(data: bytes) -> None:
    with pytest.raises(DecodeError):
        decode_progress(data)
    with pytest.raises(DecodeError):
        decode_grants(data)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"\xff", id="not UTF-8"),
        pytest.param(b"3", id="a number"),
        pytest.param(b'{"exists": 1, "last_sync_id": null, "listed_by": []}', id="not a boolean"),
        pytest.param(b'{"exists": true, "listed_by": []}', id="missing fields"),
        pytest.param(b"[3]", id="a list of numbers"),
    ],
)
def test_what_is_not_a_student_entry_fails_to_decode(data: bytes) -> None:
    with pytest.raises(DecodeError):
        decode_student("d", "s", data)


def test_the_deleted_window_keeps_the_newest_contacts() -> None:
    snapshot = ContactSnapshot(
        district_id=DISTRICT, contact_id="c", phone_type=PhoneType.CELL, updated_at=NOW
    )
    progress = DistrictProgress(district_id=DISTRICT)
    for number in range(RECENTLY_DELETED_LIMIT + 10):
        progress = progress.remember_deleted(replace(snapshot, contact_id=f"c{number}"))

    window = [contact_id for contact_id, _ in progress.recently_deleted]
    assert len(window) == RECENTLY_DELETED_LIMIT
    assert window[0] == "c10"
    assert window[-1] == f"c{RECENTLY_DELETED_LIMIT + 9}"


@given(progress=progresses, contact_id=clever_ids)
def test_forgetting_a_deleted_contact_drops_it_alone(
    progress: DistrictProgress, contact_id: str
) -> None:
    kept = tuple(entry for entry in progress.recently_deleted if entry[0] != contact_id)

    assert progress.forget_deleted(contact_id) == replace(progress, recently_deleted=kept)
    for listed, _ in progress.recently_deleted:
        forgotten = replace(
            progress,
            recently_deleted=tuple(
                entry for entry in progress.recently_deleted if entry[0] != listed
            ),
        )
        assert progress.forget_deleted(listed) == forgotten


def test_skip_counts_are_bounded() -> None:
    progress = DistrictProgress(district_id=DISTRICT)
    for number in range(SKIP_COUNT_LIMIT + 5):
        progress = progress.count_skip(f"type{number:03d}")

    assert len(progress.skipped) == SKIP_COUNT_LIMIT + 1
    assert dict(progress.skipped)[OTHER_SKIPS] == 5


def test_raw_bytes_are_decoded_and_processed() -> None:
    harness = Harness()
    record = raw_event(event("users.created", v3_contact("c1", {"s1": PARENT})))
    value = default_codec().encode(record)

    outputs = process_bytes(
        value, key=DISTRICT.encode(), position=Position(0, 0), store=harness.store, now=NOW
    )

    assert kinds(outputs) == [("GRANTED", "c1", "s1")]


@pytest.mark.parametrize("value", [b"garbage bytes here", None], ids=["corrupt", "tombstone"])
def test_undecodable_bytes_are_a_dead_letter_and_move_the_position(value: bytes | None) -> None:
    harness = Harness()

    outputs = process_bytes(
        value,
        key=DISTRICT.encode(),
        position=Position(3, 7),
        store=harness.store,
        now=NOW,
        source_topic="clever-stream.clever.raw.v1",
    )
    replayed = process_bytes(
        value, key=DISTRICT.encode(), position=Position(3, 7), store=harness.store, now=NOW
    )

    [letter] = outputs.dead_letters
    assert (letter.stage, letter.error_type) == ("privileges", "DecodeError")
    assert (letter.source_topic, letter.source_partition, letter.source_offset) == (
        "clever-stream.clever.raw.v1",
        3,
        7,
    )
    assert (letter.original_key, letter.original_value) == (DISTRICT.encode(), value)
    assert replayed.replayed


def test_undecodable_bytes_without_a_key_are_still_a_dead_letter() -> None:
    outputs = process_bytes(
        b"nope", key=None, position=Position(0, 0), store=Harness().store, now=NOW
    )

    [letter] = outputs.dead_letters
    assert letter.district_id is None


def test_a_memory_store_rolls_back_to_its_savepoint() -> None:
    store = MemoryStore()
    store.remember_event(DISTRICT, "kept", 1)
    store.remember_event(DISTRICT, "rewritten", 1)
    store.savepoint()
    store.remember_event(DISTRICT, "rewritten", 2)
    store.remember_event(DISTRICT, "rewritten", 3)
    store.forget_event(DISTRICT, "kept")
    store.remember_event(DISTRICT, "new", 4)
    store.put_district(DistrictProgress(district_id=DISTRICT, record_count=9))

    store.rollback()

    assert sorted(store.remembered_events(DISTRICT)) == [("kept", 1), ("rewritten", 1)]
    assert store.get_district(DISTRICT) is None
