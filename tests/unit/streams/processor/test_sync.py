"""Syncs: a snapshot applied like events, and the contacts and students it lacks gone at its
end; while it is open, only what it has shown gains a pair."""

from __future__ import annotations

from schemas.records import Cause, RawCleverRecord
from schemas.values import CauseKind, ChangeKind
from tests.unit.streams.processor.builders import (
    AUNT,
    DISTRICT,
    EMERGENCY,
    PARENT,
    STUDENTS,
    Harness,
    event,
    existing,
    kinds,
    raw_event,
    raw_snapshot,
    raw_sync_completed,
    raw_sync_started,
    v3_contact,
    v3_student,
    v21_contact,
)


def _known(harness: Harness) -> None:
    """Three contacts known from events before a resync."""
    for contact_id, students in (
        ("c1", {"s1": PARENT}),
        ("c2", {"s1": AUNT, "s2": PARENT}),
        ("c3", {"s3": PARENT}),
    ):
        harness.feed(raw_event(event("users.created", v3_contact(contact_id, students))))


def _students(sync_id: str, *student_ids: str) -> list[RawCleverRecord]:
    """A snapshot's student records, which come before its contacts."""
    return [raw_snapshot(v3_student(student_id), sync_id) for student_id in student_ids]


def test_a_contact_missing_from_the_snapshot_is_revoked_at_the_end() -> None:
    harness = Harness()
    _known(harness)

    during = harness.feed_all(
        [
            raw_sync_started("sync-2"),
            *_students("sync-2", *STUDENTS),
            raw_snapshot(v3_contact("c1", {"s1": PARENT}), "sync-2"),
            raw_snapshot(v3_contact("c3", {"s3": PARENT}), "sync-2"),
        ]
    )
    completed = harness.feed(raw_sync_completed("sync-2", 3))

    assert all(outputs.changes == () for outputs in during)
    assert kinds(completed) == [("REVOKED", "c2", "s1"), ("REVOKED", "c2", "s2")]
    cause = Cause(kind=CauseKind.SYNC_RECONCILIATION, sync_id="sync-2")
    assert {change.cause for change in completed.changes} == {cause}
    assert all(state is None for _, state in completed.states)
    assert harness.store.get_contact(DISTRICT, "c2") is None
    assert set(harness.pairs()) == {(DISTRICT, "c1", "s1"), (DISTRICT, "c3", "s3")}
    progress = harness.store.get_district(DISTRICT)
    assert progress is not None
    assert progress.sync_id is None


def test_snapshot_records_apply_their_differences_with_the_sync_as_cause() -> None:
    harness = Harness()
    _known(harness)
    harness.feed_all([raw_sync_started("sync-2"), *_students("sync-2", *STUDENTS)])

    outputs = harness.feed(raw_snapshot(v3_contact("c2", {"s1": EMERGENCY, "s4": AUNT}), "sync-2"))

    assert kinds(outputs) == [
        ("REVOKED", "c2", "s2"),
        ("CHANGED", "c2", "s1"),
        ("GRANTED", "c2", "s4"),
    ]
    assert {change.cause for change in outputs.changes} == {
        Cause(kind=CauseKind.SYNC_SNAPSHOT, sync_id="sync-2")
    }
    assert {change.occurred_at for change in outputs.changes} == {None}
    stored = harness.store.get_contact(DISTRICT, "c2")
    assert stored is not None
    assert (stored.last_sync_id, stored.last_event_id) == ("sync-2", None)


def test_a_snapshot_equal_to_the_state_emits_nothing_and_keeps_the_contact() -> None:
    harness = Harness()
    _known(harness)
    harness.feed_all([raw_sync_started("sync-2"), *_students("sync-2", *STUDENTS)])

    outputs = harness.feed_all(
        [
            raw_snapshot(v3_contact("c1", {"s1": PARENT}), "sync-2"),
            raw_snapshot(v3_contact("c2", {"s1": AUNT, "s2": PARENT}), "sync-2"),
            raw_snapshot(v3_contact("c3", {"s3": PARENT}), "sync-2"),
            raw_sync_completed("sync-2", 3),
        ]
    )

    assert [(result.changes, result.states) for result in outputs] == [((), ())] * 4
    assert len(harness.pairs()) == 4


def test_an_initial_v21_sync_grants_and_an_empty_one_revokes_everything() -> None:
    harness = Harness(store=existing())
    harness.feed(raw_sync_started("sync-1"))
    for student_id in ("s1", "s2"):
        harness.feed(
            raw_snapshot({"id": student_id, "district": DISTRICT}, "sync-1", record_type="students")
        )
    granted = harness.feed(
        raw_snapshot(v21_contact("c1", ["s1", "s2"]), "sync-1", record_type="contacts")
    )
    harness.feed(raw_sync_completed("sync-1", 3))

    harness.feed(raw_sync_started("sync-2"))
    revoked = harness.feed(raw_sync_completed("sync-2", 0))

    assert kinds(granted) == [("GRANTED", "c1", "s1"), ("GRANTED", "c1", "s2")]
    assert [change.kind for change in revoked.changes] == [ChangeKind.REVOKED] * 2
    assert harness.pairs() == {}
    assert harness.store.students == {}


def test_an_abandoned_sync_is_not_reconciled_and_its_successor_is() -> None:
    harness = Harness()
    _known(harness)
    harness.feed_all([raw_sync_started("sync-2"), *_students("sync-2", *STUDENTS)])
    harness.feed(raw_snapshot(v3_contact("c1", {"s1": PARENT}), "sync-2"))

    restarted = harness.feed(raw_sync_started("sync-3"))
    stray = harness.feed(raw_sync_completed("sync-2", 1))
    harness.feed_all(_students("sync-3", *STUDENTS))
    harness.feed(raw_snapshot(v3_contact("c2", {"s1": AUNT, "s2": PARENT}), "sync-3"))
    completed = harness.feed(raw_sync_completed("sync-3", 1))

    assert restarted.warnings == ("sync sync-2 abandoned for sync sync-3",)
    assert stray.changes == ()
    assert stray.warnings
    assert {change.contact_id for change in completed.changes} == {"c1", "c3"}
    assert set(harness.pairs()) == {(DISTRICT, "c2", "s1"), (DISTRICT, "c2", "s2")}


def test_events_after_a_sync_apply_as_usual() -> None:
    harness = Harness(store=existing())
    harness.feed_all(
        [
            raw_sync_started("sync-1"),
            *_students("sync-1", "s1"),
            raw_snapshot(v3_contact("c1", {"s1": PARENT}), "sync-1"),
            raw_sync_completed("sync-1", 1),
        ]
    )

    outputs = harness.feed(raw_event(event("users.updated", v3_contact("c1", {"s1": AUNT}))))

    assert kinds(outputs) == [("CHANGED", "c1", "s1")]
    stored = harness.store.get_contact(DISTRICT, "c1")
    assert stored is not None
    assert stored.last_sync_id == "sync-1"


def test_a_student_missing_from_the_snapshot_is_gone_at_the_end_and_its_pairs_revoked() -> None:
    harness = Harness()
    _known(harness)

    harness.feed_all([raw_sync_started("sync-2"), *_students("sync-2", "s1", "s2")])
    during = harness.feed_all(
        [
            raw_snapshot(v3_contact(contact_id, students), "sync-2")
            for contact_id, students in (
                ("c1", {"s1": PARENT}),
                ("c2", {"s1": AUNT, "s2": PARENT}),
                ("c3", {"s3": PARENT}),
            )
        ]
    )
    completed = harness.feed(raw_sync_completed("sync-2", 5))

    assert all(outputs.changes == () for outputs in during)
    assert kinds(completed) == [("REVOKED", "c3", "s3")]
    assert completed.changes[0].cause.kind is CauseKind.SYNC_RECONCILIATION
    student = harness.store.get_student(DISTRICT, "s3")
    assert student is not None
    assert (student.exists, student.listed_by) == (False, frozenset({"c3"}))
    # The contact still lists it: an event that shows the student again grants the pair.
    back = harness.feed(raw_event(event("users.created", v3_student("s3"))))
    assert kinds(back) == [("GRANTED", "c3", "s3")]


def test_a_stale_listing_grants_no_student_the_snapshot_shows_again() -> None:
    harness = Harness()
    harness.feed(raw_event(event("users.created", v3_contact("c1", {"s1": PARENT, "s2": AUNT}))))
    harness.feed(raw_event(event("users.deleted", v3_student("s2"))))

    # Away, the poller missed c1 dropping s2 and s2 coming back: a resync shows both.
    shown = harness.feed_all([raw_sync_started("sync-2"), *_students("sync-2", "s1", "s2")])
    contact = harness.feed(raw_snapshot(v3_contact("c1", {"s1": PARENT}), "sync-2"))
    completed = harness.feed(raw_sync_completed("sync-2", 3))

    assert [outputs.changes for outputs in [*shown, contact, completed]] == [()] * 5
    assert set(harness.pairs()) == {(DISTRICT, "c1", "s1")}


def test_a_contact_snapshot_grants_only_students_the_snapshot_has_shown() -> None:
    harness = Harness()
    harness.feed(raw_event(event("users.created", v3_contact("c1", {"s1": PARENT}))))

    # s2 exists as far as the events went, but the snapshot (students first) lacks it.
    harness.feed_all([raw_sync_started("sync-2"), *_students("sync-2", "s1")])
    contact = harness.feed(raw_snapshot(v3_contact("c1", {"s1": PARENT, "s2": AUNT}), "sync-2"))
    completed = harness.feed(raw_sync_completed("sync-2", 2))

    assert (contact.changes, completed.changes) == ((), ())
    assert set(harness.pairs()) == {(DISTRICT, "c1", "s1")}


def test_a_student_the_snapshot_shows_after_a_contact_grants_it_then() -> None:
    harness = Harness(store=existing())
    harness.feed(raw_sync_started("sync-1"))
    contact = harness.feed(raw_snapshot(v3_contact("c1", {"s1": PARENT}), "sync-1"))
    student = harness.feed(raw_snapshot(v3_student("s1"), "sync-1"))

    assert contact.changes == ()
    assert kinds(student) == [("GRANTED", "c1", "s1")]
    assert student.changes[0].cause == Cause(kind=CauseKind.SYNC_SNAPSHOT, sync_id="sync-1")
