"""Scenarios of the privilege processor, from Clever JSON as Clever sends it."""

from __future__ import annotations

from dataclasses import replace

from schemas.identity import change_id
from schemas.keys import pair_key
from schemas.records import Cause
from schemas.values import CauseKind, ChangeKind, ContactType, RawRecordKind, Relationship
from streams.core import privilege_of
from tests.unit.streams.processor.builders import (
    AUNT,
    DISTRICT,
    EMERGENCY,
    FETCHED,
    PARENT,
    STUDENTS,
    Harness,
    event,
    existing,
    kinds,
    raw_event,
    v3_contact,
    v3_student,
    v21_contact,
)


def test_a_created_contact_grants_each_student() -> None:
    harness = Harness()
    created = event("users.created", v3_contact("c1", {"s2": AUNT, "s1": PARENT}))

    outputs = harness.feed(raw_event(created))

    assert kinds(outputs) == [("GRANTED", "c1", "s1"), ("GRANTED", "c1", "s2")]
    first = outputs.changes[0]
    cause = Cause(
        kind=CauseKind.CLEVER_EVENT,
        clever_event_id=created["id"],
        clever_event_type="users.created",
    )
    assert first.cause == cause
    assert first.change_id == change_id(
        district_id=DISTRICT,
        contact_id="c1",
        student_id="s1",
        cause=cause,
        record_number=1,
        ordinal=0,
    )
    assert outputs.changes[1].change_id != first.change_id
    assert first.after == privilege_of("Parent", "Parent/Guardian")
    assert first.occurred_at is not None
    assert first.occurred_at.isoformat() == "2025-03-04T05:00:00+00:00"
    assert first.emitted_at == harness.now.replace(second=harness.now.second - 1)
    [(key, state), _] = outputs.states
    assert key == pair_key(DISTRICT, "c1", "s1")
    assert state is not None
    assert state.privilege == first.after
    assert state.last_change_id == first.change_id
    assert state.granted_at == first.emitted_at
    assert outputs.dead_letters == ()
    assert outputs.skipped is None


def test_a_changed_type_is_a_change_and_keeps_the_grant_time() -> None:
    harness = Harness()
    granted = harness.feed(raw_event(event("users.created", v3_contact("c1", {"s1": PARENT}))))

    outputs = harness.feed(
        raw_event(
            event(
                "users.updated",
                v3_contact("c1", {"s1": EMERGENCY}),
                previous_attributes={"roles": {"contact": {"student_relationships": []}}},
            )
        )
    )

    [change] = outputs.changes
    assert change.kind is ChangeKind.CHANGED
    assert change.after is not None
    assert change.after.contact_type is ContactType.EMERGENCY
    [(_, state)] = outputs.states
    [(_, first_state)] = granted.states
    assert state is not None
    assert first_state is not None
    assert state.granted_at == first_state.granted_at
    assert state.updated_at > first_state.updated_at


def test_a_removed_relationship_is_revoked_with_a_tombstone() -> None:
    harness = Harness()
    harness.feed(raw_event(event("users.created", v3_contact("c1", {"s1": PARENT, "s2": AUNT}))))

    outputs = harness.feed(raw_event(event("users.updated", v3_contact("c1", {"s1": PARENT}))))

    assert kinds(outputs) == [("REVOKED", "c1", "s2")]
    assert outputs.states == ((pair_key(DISTRICT, "c1", "s2"), None),)
    student = harness.store.get_student(DISTRICT, "s2")
    assert student is not None
    assert student.listed_by == frozenset()


def test_revokes_come_before_changes_and_grants_of_one_contact() -> None:
    harness = Harness()
    harness.feed(raw_event(event("users.created", v3_contact("c1", {"s2": PARENT, "s3": AUNT}))))

    outputs = harness.feed(
        raw_event(event("users.updated", v3_contact("c1", {"s1": PARENT, "s2": EMERGENCY})))
    )

    assert kinds(outputs) == [
        ("REVOKED", "c1", "s3"),
        ("CHANGED", "c1", "s2"),
        ("GRANTED", "c1", "s1"),
    ]


def test_a_deleted_contact_revokes_every_pair() -> None:
    harness = Harness()
    contact = v3_contact("c1", {"s1": PARENT, "s2": AUNT}, sis_id="sis-1")
    harness.feed(raw_event(event("users.created", contact)))

    outputs = harness.feed(raw_event(event("users.deleted", contact)))

    assert kinds(outputs) == [("REVOKED", "c1", "s1"), ("REVOKED", "c1", "s2")]
    assert all(state is None for _, state in outputs.states)
    assert harness.pairs() == {}
    assert harness.store.grants == {}


def test_a_deleted_student_revokes_the_pairs_of_all_its_contacts() -> None:
    harness = Harness()
    harness.feed(raw_event(event("users.created", v3_student("s1"))))
    harness.feed(raw_event(event("users.created", v3_contact("c2", {"s1": PARENT, "s2": AUNT}))))
    harness.feed(raw_event(event("users.created", v3_contact("c1", {"s1": EMERGENCY}))))

    outputs = harness.feed(raw_event(event("users.deleted", v3_student("s1"))))

    assert kinds(outputs) == [("REVOKED", "c1", "s1"), ("REVOKED", "c2", "s1")]
    assert outputs.changes[0].cause.clever_event_type == "users.deleted"
    assert set(harness.pairs()) == {(DISTRICT, "c2", "s2")}
    assert (DISTRICT, "c1") not in harness.store.grants
    # The contacts still list it, as Clever's records may: it is granted again if it comes back.
    student = harness.store.get_student(DISTRICT, "s1")
    assert student is not None
    assert (student.exists, student.listed_by) == (False, frozenset({"c1", "c2"}))


def test_a_contact_recreated_without_sis_id_is_labelled_as_a_reissue() -> None:
    harness = Harness()
    students = {"s1": PARENT, "s2": AUNT}
    harness.feed(raw_event(event("users.created", v3_contact("old", students))))

    revoked = harness.feed(raw_event(event("users.deleted", v3_contact("old", students))))
    granted = harness.feed(raw_event(event("users.created", v3_contact("new", students))))

    assert kinds(revoked) == [("REVOKED", "old", "s1"), ("REVOKED", "old", "s2")]
    assert kinds(granted) == [("GRANTED", "new", "s1"), ("GRANTED", "new", "s2")]
    assert {change.reissued_from_contact_id for change in granted.changes} == {"old"}
    assert {state.reissued_from_contact_id for _, state in granted.states if state} == {"old"}
    # The label stays with the pair through later changes, and one deletion labels one contact.
    changed = harness.feed(
        raw_event(event("users.updated", v3_contact("new", {"s1": EMERGENCY, "s2": AUNT})))
    )
    [(_, state)] = changed.states
    assert state is not None
    assert state.reissued_from_contact_id == "old"
    again = harness.feed(raw_event(event("users.created", v3_contact("third", students))))
    assert {change.reissued_from_contact_id for change in again.changes} == {None}


def test_a_created_contact_with_other_students_is_no_reissue() -> None:
    harness = Harness()
    harness.feed(raw_event(event("users.created", v3_contact("old", {"s1": PARENT}))))
    harness.feed(raw_event(event("users.deleted", v3_contact("old", {"s1": PARENT}))))

    outputs = harness.feed(
        raw_event(event("users.created", v3_contact("new", {"s1": PARENT, "s2": PARENT})))
    )

    assert [change.reissued_from_contact_id for change in outputs.changes] == [None, None]


def test_a_contact_back_under_its_own_id_is_no_longer_a_reissue_candidate() -> None:
    harness = Harness()
    harness.feed(raw_event(event("users.created", v3_contact("old", {"s1": PARENT}))))
    harness.feed(raw_event(event("users.deleted", v3_contact("old", {"s1": PARENT}))))
    harness.feed(raw_event(event("users.created", v3_contact("old", {"s1": PARENT}))))

    outputs = harness.feed(raw_event(event("users.created", v3_contact("new", {"s1": PARENT}))))

    assert [change.reissued_from_contact_id for change in outputs.changes] == [None]


def test_the_same_event_twice_and_a_repeat_under_a_new_id_emit_nothing() -> None:
    harness = Harness()
    created = event("users.created", v3_contact("c1", {"s1": PARENT}))
    harness.feed(raw_event(created))

    again = harness.feed(raw_event(created))
    repeat = harness.feed(raw_event(event("users.updated", v3_contact("c1", {"s1": PARENT}))))
    deleted = event("users.deleted", v3_contact("c1", {"s1": PARENT}))
    harness.feed(raw_event(deleted))
    deleted_again = harness.feed(raw_event(deleted))

    assert (again.changes, again.states) == ((), ())
    assert (repeat.changes, repeat.states) == ((), ())
    assert (deleted_again.changes, deleted_again.states) == ((), ())
    assert not again.replayed
    assert harness.pairs() == {}


def test_a_repeat_does_not_rewrite_the_stored_contact() -> None:
    harness = Harness()
    harness.feed(raw_event(event("users.created", v3_contact("c1", {"s1": PARENT}))))
    stored = harness.store.get_contact(DISTRICT, "c1")

    harness.feed(raw_event(event("users.updated", v3_contact("c1", {"s1": PARENT}))))

    assert harness.store.get_contact(DISTRICT, "c1") is stored


def test_a_replayed_position_emits_nothing_and_changes_nothing() -> None:
    harness = Harness()
    harness.feed(raw_event(event("users.created", v3_contact("c1", {"s1": PARENT}))))
    deleted = raw_event(event("users.deleted", v3_contact("c1", {"s1": PARENT})))
    harness.feed(deleted)
    old_create = raw_event(event("users.created", v3_contact("c1", {"s1": PARENT})))

    # Offset 0 again, with other content even: a record before the position is a replay.
    outputs = harness.at(0, old_create)

    assert outputs.replayed
    assert (outputs.changes, outputs.states, outputs.dead_letters) == ((), (), ())
    assert harness.pairs() == {}


def test_records_of_other_types_are_skipped_and_counted() -> None:
    harness = Harness()
    section = event("sections.updated", {"id": "sec1", "students": ["s1"]})

    outputs = harness.feed(raw_event(section))
    teacher = harness.feed(
        raw_event(event("users.created", {"id": "t1", "roles": {"teacher": {}}}))
    )

    assert outputs.skipped == "sections"
    assert teacher.skipped == "users"
    assert outputs.changes == ()
    progress = harness.store.get_district(DISTRICT)
    assert progress is not None
    assert progress.skipped == (("sections", 1), ("users", 1))


def test_malformed_json_is_dead_lettered_and_processing_goes_on() -> None:
    harness = Harness()
    created = raw_event(event("users.created", v3_contact("c1", {"s1": PARENT})))
    broken = replace(created, clever_json="{oops")

    outputs = harness.feed(broken)
    after = harness.feed(raw_event(event("users.created", v3_contact("c2", {"s1": PARENT}))))

    [letter] = outputs.dead_letters
    assert letter.stage == "privileges"
    assert letter.error_type == "JSONDecodeError"
    assert letter.district_id == DISTRICT
    assert letter.source_partition == 0
    assert letter.source_offset == 0
    assert letter.original_key == DISTRICT.encode()
    assert letter.original_value is not None
    assert outputs.changes == ()
    assert kinds(after) == [("GRANTED", "c2", "s1")]


def test_a_contact_without_an_id_is_dead_lettered() -> None:
    harness = Harness()
    contact = v3_contact("c1", {"s1": PARENT})
    del contact["id"]

    outputs = harness.feed(raw_event(event("users.created", contact)))

    [letter] = outputs.dead_letters
    assert letter.error_type == "MalformedRecordError"
    assert harness.pairs() == {}


def test_an_id_no_state_key_can_hold_leaves_the_store_untouched() -> None:
    harness = Harness(store=existing(*STUDENTS, "a/b"))
    harness.feed(raw_event(event("users.created", v3_contact("c1", {"s1": PARENT}))))
    before = (
        dict(harness.store.contacts),
        dict(harness.store.students),
        dict(harness.store.events),
    )

    outputs = harness.feed(
        raw_event(event("users.updated", v3_contact("c1", {"s1": AUNT, "a/b": PARENT})))
    )

    [letter] = outputs.dead_letters
    assert letter.error_type == "ValueError"
    # Its event ID is not remembered either: a later good copy of the event applies.
    assert (harness.store.contacts, harness.store.students, harness.store.events) == before
    assert harness.at(1, raw_event(event("users.deleted", v3_contact("c1", {})))).replayed


def test_v21_contact_events() -> None:
    harness = Harness()
    contact = v21_contact("c1", ["s1", "s2"], PARENT)

    created = harness.feed(raw_event(event("contacts.created", contact), api_version="v2.1"))
    updated = harness.feed(
        raw_event(
            event("contacts.updated", v21_contact("c1", ["s1"], EMERGENCY)), api_version="v2.1"
        )
    )
    deleted = harness.feed(
        raw_event(event("studentcontacts.deleted", v21_contact("c1", ["s1"])), api_version="v2.1")
    )

    assert kinds(created) == [("GRANTED", "c1", "s1"), ("GRANTED", "c1", "s2")]
    assert kinds(updated) == [("REVOKED", "c1", "s2"), ("CHANGED", "c1", "s1")]
    assert kinds(deleted) == [("REVOKED", "c1", "s1")]
    assert created.changes[0].after == privilege_of("Parent", "Parent/Guardian")
    assert created.changes[0].after.relationship is Relationship.PARENT


def test_an_event_without_created_time_has_no_occurred_at() -> None:
    harness = Harness()
    created = event("users.created", v3_contact("c1", {"s1": PARENT}))
    del created["created"]

    [change] = harness.feed(raw_event(created)).changes

    assert change.occurred_at is None
    assert change.emitted_at > FETCHED


def test_a_record_kind_from_a_newer_poller_is_skipped() -> None:
    harness = Harness()
    record = raw_event(event("users.created", v3_contact("c1", {"s1": PARENT})))
    newer = replace(record, kind=RawRecordKind.UNRECOGNIZED)

    outputs = harness.feed(newer)

    assert (outputs.skipped, outputs.changes, outputs.dead_letters) == ("UNRECOGNIZED", (), ())


def test_an_event_type_missing_from_the_record_is_read_from_the_json() -> None:
    harness = Harness()
    record = replace(
        raw_event(event("users.created", v3_contact("c1", {"s1": PARENT}))), event_type=None
    )

    [change] = harness.feed(record).changes

    assert change.cause.clever_event_type == "users.created"
