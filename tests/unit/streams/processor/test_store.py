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
    decode_grants,
    decode_progress,
    encode_grants,
    encode_progress,
    process_bytes,
)
from streams.processor.store import OTHER_SKIPS, SKIP_COUNT_LIMIT
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
        ),
        max_size=3,
    ).map(tuple),
)


@given(progresses)
def test_district_progress_round_trips_through_json(progress: DistrictProgress) -> None:
    assert decode_progress(encode_progress(progress)) == progress


@given(contact_grants)
def test_contact_grants_round_trip_through_json(grants: ContactGrants) -> None:
    assert decode_grants(encode_grants(grants)) == grants


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
