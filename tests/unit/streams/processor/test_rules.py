"""The rules of docs/topics.md that the processor once got wrong, scenario by scenario: event
IDs applied once, students that come and go under contacts that keep listing them, cosmetic
rewrites, and change IDs unique by construction."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

from schemas.keys import pair_key
from schemas.records import RawCleverRecord
from schemas.values import CauseKind, ChangeKind
from streams.core import privilege_of
from streams.processor import WINDOW_DAYS, MemoryStore
from tests.unit.streams.processor.builders import (
    AUNT,
    DISTRICT,
    EMERGENCY,
    FETCHED,
    PARENT,
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
)


def contact_event(
    event_type: str, students: dict[str, tuple[str, str]], *, event_id: str, **fields: Any
) -> RawCleverRecord:
    user = v3_contact("c1", students)
    user["roles"]["contact"].update(fields)
    return raw_event(event(event_type, user, event_id=event_id))


def test_a_batch_delivered_again_after_later_events_changes_nothing() -> None:
    """The issue's case: E2 lists S2 and S3, E3 only S2; E2 and E3 arrive a second time."""
    harness = Harness()
    e1 = contact_event("users.created", {"s1": PARENT}, event_id="E1")
    e2 = contact_event("users.updated", {"s2": PARENT, "s3": AUNT}, event_id="E2")
    e3 = contact_event("users.updated", {"s2": PARENT}, event_id="E3")
    first = harness.feed_all([e1, e2, e3])

    again = harness.feed_all([e2, e3])

    assert [(o.changes, o.states, o.outcome) for o in again] == [((), (), "repeated")] * 2
    changes = [change for outputs in first for change in outputs.changes]
    assert len({change.change_id for change in changes}) == len(changes)
    assert set(harness.pairs()) == {(DISTRICT, "c1", "s2")}


def test_a_copy_under_the_same_id_changes_nothing_whatever_it_holds() -> None:
    harness = Harness()
    harness.feed(contact_event("users.created", {"s1": PARENT}, event_id="E1"))
    harness.feed(contact_event("users.updated", {"s1": AUNT}, event_id="E2"))

    # Adjacent, then a copy that (wrongly) holds something else: both are E2 again.
    adjacent = harness.feed(contact_event("users.updated", {"s1": AUNT}, event_id="E2"))
    altered = harness.feed(contact_event("users.deleted", {"s1": AUNT}, event_id="E2"))

    assert (adjacent.repeated, altered.repeated) == ("E2", "E2")
    assert adjacent.changes == altered.changes == ()
    assert harness.pairs() == {(DISTRICT, "c1", "s1"): privilege_of(*AUNT)}


def test_an_event_a_sync_covered_changes_nothing_when_a_copy_comes_after_it() -> None:
    """The poller's sync stood for every event up to its bookmark, e3: a copy of e3 (or of
    an older event, here a contact's last update before its deletion) must not bring back
    the state before the events that followed it."""
    harness = Harness()
    started = replace(raw_sync_started("sync-1"), event_id="e3")
    harness.feed_all(
        [
            started,
            raw_snapshot(v3_student("s1"), "sync-1"),
            raw_snapshot(v3_contact("c1", {"s1": PARENT}), "sync-1"),
            raw_sync_completed("sync-1", 2),
        ]
    )
    deleted = harness.feed(
        raw_event(event("users.deleted", v3_contact("c1", {"s1": PARENT}), event_id="e4"))
    )

    copies = harness.feed_all(
        [
            contact_event("users.updated", {"s1": PARENT}, event_id="e3"),
            contact_event("users.updated", {"s1": AUNT}, event_id="e2"),
        ]
    )
    # A v2.1 event of a lower ID is of another feed: the v3 bookmark says nothing of it.
    other_feed = harness.feed(
        raw_event(event("users.created", v3_contact("c9", {"s1": PARENT}), event_id="e1"),
                  api_version="v2.1")
    )  # fmt: skip

    assert kinds(deleted) == [("REVOKED", "c1", "s1")]
    assert [(o.outcome, o.changes) for o in copies] == [("repeated", ())] * 2
    assert kinds(other_feed) == [("GRANTED", "c9", "s1")]
    assert set(harness.pairs()) == {(DISTRICT, "c9", "s1")}


def test_only_the_ids_of_contact_and_student_events_are_remembered() -> None:
    harness = Harness()
    section = raw_event(event("sections.updated", {"id": "sec1"}, event_id="E1"))
    teacher = raw_event(
        event("users.updated", {"id": "t1", "roles": {"teacher": {}}}, event_id="E2")
    )
    student = raw_event(event("users.created", v3_student("s5"), event_id="E3"))

    harness.feed_all([section, teacher, student, section])

    assert harness.store.events == {(DISTRICT, "E3"): harness.store.events[DISTRICT, "E3"]}


def without_id(item: dict[str, Any]) -> RawCleverRecord:
    """The raw record of an event with no ``id`` (the poller refuses those, another
    producer of the raw topic may not)."""
    record = raw_event(item)
    anonymous = {key: value for key, value in item.items() if key != "id"}
    return replace(record, event_id=None, clever_json=json.dumps(anonymous))


def test_an_event_without_an_id_is_applied_every_time() -> None:
    harness = Harness()
    created = without_id(event("users.created", v3_contact("c1", {"s1": PARENT})))
    deleted = without_id(event("users.deleted", v3_contact("c1", {"s1": PARENT})))

    outputs = harness.feed_all([created, deleted, created, deleted])

    assert [kinds(o) for o in outputs] == [
        [("GRANTED", "c1", "s1")],
        [("REVOKED", "c1", "s1")],
    ] * 2
    assert harness.store.events == {}


def test_a_deleted_student_is_granted_to_nobody_until_it_comes_back() -> None:
    harness = Harness()
    harness.feed(raw_event(event("users.created", v3_contact("c1", {"s1": PARENT}))))

    deleted = harness.feed(raw_event(event("users.deleted", v3_student("s1"))))
    # The contact still lists it: a phone change, then a change of its type, grant nothing.
    phone = harness.feed(
        contact_event("users.updated", {"s1": PARENT}, event_id="E-phone", phone="5550100")
    )
    retyped = harness.feed(contact_event("users.updated", {"s1": EMERGENCY}, event_id="E-type"))
    back = harness.feed(raw_event(event("users.created", v3_student("s1"), event_id="E-back")))

    assert kinds(deleted) == [("REVOKED", "c1", "s1")]
    assert deleted.changes[0].cause.clever_event_type == "users.deleted"
    assert phone.changes == retyped.changes == ()
    assert kinds(back) == [("GRANTED", "c1", "s1")]
    [grant] = back.changes
    assert grant.after == privilege_of(*EMERGENCY)
    assert grant.cause.clever_event_id == "E-back"


def test_a_contact_listing_a_student_before_it_exists_is_granted_at_its_creation() -> None:
    harness = Harness(store=existing("s1"))

    listed = harness.feed(
        raw_event(event("users.created", v3_contact("c1", {"s1": PARENT, "s7": AUNT})))
    )
    created = harness.feed(raw_event(event("users.created", v3_student("s7"))))
    again = harness.feed(raw_event(event("users.updated", v3_student("s7"))))

    assert kinds(listed) == [("GRANTED", "c1", "s1")]
    assert kinds(created) == [("GRANTED", "c1", "s7")]
    assert again.changes == ()


def test_a_cosmetic_rewrite_restates_the_pair_and_emits_no_change() -> None:
    harness = Harness()
    [granted] = harness.feed(
        raw_event(event("users.created", v3_contact("c1", {"s1": ("Parent", "Parent/Guardian")})))
    ).changes

    rewritten = harness.feed(
        raw_event(event("users.updated", v3_contact("c1", {"s1": (" PARENT", "parent/guardian")})))
    )
    changed = harness.feed(
        raw_event(event("users.updated", v3_contact("c1", {"s1": ("Parent", "Emergency")})))
    )

    assert rewritten.changes == ()
    [(key, state)] = rewritten.states
    assert key == pair_key(DISTRICT, "c1", "s1")
    assert state is not None
    assert state.privilege == privilege_of(" PARENT", "parent/guardian")
    assert state.last_change_id == granted.change_id
    assert state.granted_at == granted.emitted_at
    [change] = changed.changes
    assert change.kind is ChangeKind.CHANGED
    assert change.before == privilege_of(" PARENT", "parent/guardian")


def test_one_sync_changing_a_pair_twice_gives_each_change_its_own_id() -> None:
    """A snapshot that holds a contact twice (a page read again): grant, then revoke."""
    harness = Harness()
    harness.feed_all(
        [raw_sync_started("sync-1"), *(raw_snapshot(v3_student(s), "sync-1") for s in ("s1", "s2"))]
    )

    granted = harness.feed(raw_snapshot(v3_contact("c1", {"s1": PARENT, "s2": AUNT}), "sync-1"))
    revoked = harness.feed(raw_snapshot(v3_contact("c1", {"s1": PARENT}), "sync-1"))

    assert kinds(revoked) == [("REVOKED", "c1", "s2")]
    ids = [change.change_id for change in (*granted.changes, *revoked.changes)]
    assert len(set(ids)) == 3
    assert {change.cause.kind for change in revoked.changes} == {CauseKind.SYNC_SNAPSHOT}


def test_a_replay_of_the_raw_stream_gives_the_same_change_ids() -> None:
    records = [
        contact_event("users.created", {"s1": PARENT, "s2": AUNT}, event_id="E1"),
        raw_event(event("users.deleted", v3_student("s2"), event_id="E2")),
        contact_event("users.updated", {"s1": EMERGENCY, "s2": AUNT}, event_id="E3"),
        raw_event(event("users.created", v3_student("s2"), event_id="E4")),
    ]

    def ids() -> list[str]:
        harness = Harness()
        return [change.change_id for o in harness.feed_all(records) for change in o.changes]

    assert ids() == ids()
    assert len(set(ids())) == len(ids()) == 5


def dated(record: RawCleverRecord, days: float) -> RawCleverRecord:
    """``record`` as an event created (and fetched) ``days`` after the builders' time."""
    moment = FETCHED + timedelta(days=days)
    return replace(record, created_at=moment, fetched_at=moment)


def test_event_ids_are_remembered_for_the_window_of_event_time_then_forgotten() -> None:
    harness = Harness()
    old = dated(contact_event("users.created", {"s1": PARENT}, event_id="E-old"), 0)
    harness.feed(old)
    harness.feed(
        dated(contact_event("users.updated", {"s1": AUNT}, event_id="E-late"), WINDOW_DAYS)
    )

    repeat = harness.feed(old)  # still within the window: a repeat
    harness.feed(dated(contact_event("users.updated", {"s1": PARENT}, event_id="E-new"), 40))

    assert repeat.outcome == "repeated"
    assert set(harness.store.events) == {(DISTRICT, "E-late"), (DISTRICT, "E-new")}
    progress = harness.store.get_district(DISTRICT)
    assert progress is not None
    assert progress.event_day == harness.store.events[DISTRICT, "E-new"]


def test_an_event_older_than_the_window_is_dead_lettered_and_changes_nothing() -> None:
    harness = Harness()
    harness.feed(dated(contact_event("users.created", {"s1": PARENT}, event_id="E1"), 40))
    before = (dict(harness.store.contacts), dict(harness.store.events))

    stale = harness.feed(dated(contact_event("users.deleted", {"s1": PARENT}, event_id="E0"), 0))

    [letter] = stale.dead_letters
    assert letter.error_type == "StaleEventError"
    assert "E0" in letter.error_message
    assert (dict(harness.store.contacts), dict(harness.store.events)) == before
    assert set(harness.pairs()) == {(DISTRICT, "c1", "s1")}


def test_an_event_dated_ahead_of_its_fetch_counts_from_the_fetch() -> None:
    """A clock far ahead must not move the district's time past what later events reach."""
    harness = Harness()
    ahead = replace(
        contact_event("users.created", {"s1": PARENT}, event_id="E1"),
        created_at=FETCHED + timedelta(days=400),
        fetched_at=FETCHED,
    )
    harness.feed(ahead)

    later = harness.feed(dated(contact_event("users.updated", {"s1": AUNT}, event_id="E2"), 1))

    assert kinds(later) == [("CHANGED", "c1", "s1")]


def test_the_memory_of_a_district_holds_one_small_key_per_event_of_the_window() -> None:
    """The bound: a district remembers the events of its last WINDOW_DAYS days, no more."""
    store = existing("s1")
    harness = Harness(store=store)
    per_day = 5
    for day in range(3 * WINDOW_DAYS):
        for n in range(per_day):
            students = {"s1": PARENT if n % 2 else AUNT}
            harness.feed(
                dated(contact_event("users.updated", students, event_id=f"E{day}-{n}"), day)
            )

    assert isinstance(store, MemoryStore)
    assert len(store.events) <= (WINDOW_DAYS + 1) * per_day
    assert min(store.events.values()) >= max(store.events.values()) - WINDOW_DAYS
