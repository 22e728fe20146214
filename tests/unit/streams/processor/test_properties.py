"""Properties of the processor over any sequence of raw records from a small district.

A few contacts, students and privileges, so that records collide: contacts re-created,
students deleted under their contacts, syncs that miss contacts, repeats and junk between.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.keys import pair_key
from schemas.records import Privilege, RawCleverRecord
from schemas.values import ChangeKind, RawRecordKind
from streams.processor import MemoryStore, Outputs
from tests.unit.streams.processor.builders import (
    AUNT,
    DISTRICT,
    EMERGENCY,
    PARENT,
    Harness,
    Pairs,
    listed_and_existing,
    raw_event,
    raw_snapshot,
    raw_sync_completed,
    raw_sync_started,
    v3_contact,
    v3_student,
    v21_contact,
)

CONTACTS = ("c1", "c2", "c3", "c4")
STUDENTS = ("s1", "s2", "s3")
SYNCS = ("sync-1", "sync-2")

contact_ids = st.sampled_from(CONTACTS)
student_ids = st.sampled_from(STUDENTS)
relationships = st.dictionaries(student_ids, st.sampled_from([PARENT, AUNT, EMERGENCY]))
sis_ids = st.sampled_from(["", "", "sis-9"])
v3_contacts = st.builds(
    lambda contact_id, students, sis_id: v3_contact(contact_id, students, sis_id=sis_id),
    contact_ids,
    relationships,
    sis_ids,
)


def _envelope(event_type: str, obj: Any) -> dict[str, Any]:
    """An event; IDs are filled in per sequence, so a repeat is a new ID with the same content."""
    return {"type": event_type, "created": "2025-03-04T05:00:00Z", "data": {"object": obj}}


events = st.one_of(
    st.builds(_envelope, st.sampled_from(["users.created", "users.updated"]), v3_contacts),
    st.builds(_envelope, st.just("users.deleted"), v3_contacts),
    st.builds(
        _envelope, st.sampled_from(["users.created", "users.deleted"]), student_ids.map(v3_student)
    ),
    st.builds(
        _envelope,
        st.sampled_from(["contacts.created", "contacts.updated", "contacts.deleted"]),
        st.builds(v21_contact, contact_ids, st.lists(student_ids, max_size=3)),
    ),
    st.builds(_envelope, st.just("sections.updated"), st.just({"id": "sec1"})),
)
syncs = st.one_of(
    st.builds(raw_sync_started, st.sampled_from(SYNCS)),
    st.builds(raw_sync_completed, st.sampled_from(SYNCS)),
    st.builds(raw_snapshot, v3_contacts, st.sampled_from(SYNCS)),
)
#: An event whose JSON is cut short: a dead letter.
junk = st.just(replace(raw_sync_started("x"), kind=RawRecordKind.EVENT, clever_json="{"))


def _reissue(
    old: str, new: str, students: dict[str, tuple[str, str]], back: bool
) -> list[dict[str, Any]]:
    """Clever re-creating a contact without an SIS ID: a contact, deleted, then created again
    under another ID (seeds/000); ``back``: created again under its own ID first."""
    return [
        _envelope("users.updated", v3_contact(old, students)),
        _envelope("users.deleted", v3_contact(old, students)),
        *([_envelope("users.created", v3_contact(old, students))] if back else []),
        _envelope("users.created", v3_contact(new, students)),
    ]


reissues = st.builds(
    _reissue,
    contact_ids,
    contact_ids,
    st.dictionaries(student_ids, st.sampled_from([PARENT, AUNT, EMERGENCY]), min_size=1),
    st.booleans(),
)
steps = st.lists((events | syncs | junk).map(lambda step: [step]) | reissues, max_size=20).map(
    lambda groups: [step for group in groups for step in group]
)


def records_of(steps: list[Any]) -> list[RawCleverRecord]:
    """The raw records of ``steps``, events numbered in order."""
    numbers = itertools.count()
    return [
        step
        if isinstance(step, RawCleverRecord)
        else raw_event({**step, "id": f"e{next(numbers)}"})
        for step in steps
    ]


def fold_changes(pairs: Pairs, outputs: Outputs) -> Pairs:
    result = dict(pairs)
    for change in outputs.changes:
        key = (change.district_id, change.contact_id, change.student_id)
        assert result.get(key) == change.before
        assert (change.kind is ChangeKind.GRANTED) == (key not in result)
        # A reissue replaces a contact that is gone.
        reissued = change.reissued_from_contact_id
        assert reissued is None or all(contact != reissued for _, contact, _ in pairs)
        if change.after is None:
            del result[key]
        else:
            result[key] = change.after
    return result


def listings_of(store: MemoryStore) -> dict[tuple[str, str], frozenset[str]]:
    """Which contacts list each student, as the stored contacts say."""
    index: dict[tuple[str, str], set[str]] = {}
    for (district, contact), snapshot in store.contacts.items():
        for relation in snapshot.relationships:
            index.setdefault((district, relation.student_id), set()).add(contact)
    return {key: frozenset(contacts) for key, contacts in index.items()}


def listed_by(store: MemoryStore) -> dict[tuple[str, str], frozenset[str]]:
    """Which contacts list each student, as the students' entries say."""
    return {key: entry.listed_by for key, entry in store.students.items() if entry.listed_by}


def grants_of(store: MemoryStore) -> dict[tuple[str, str], tuple[object, ...]]:
    """The grants without their last change's ID, which depends on the record's position."""
    return {
        key: tuple(replace(grant, last_change_id="") for grant in grants.grants)
        for key, grants in store.grants.items()
    }


def what(outputs: Outputs) -> list[tuple[object, ...]]:
    """The changes of ``outputs`` without their IDs and times, which depend on the position."""
    return [
        (c.kind, c.contact_id, c.student_id, c.before, c.after, c.cause) for c in outputs.changes
    ]


@settings(max_examples=300)
@given(steps)
def test_changes_fold_into_the_stored_pairs_and_the_state_topic_mirrors_them(
    steps: list[Any],
) -> None:
    harness = Harness()
    pairs: Pairs = {}
    topic: dict[bytes, Privilege] = {}
    for record in records_of(steps):
        outputs = harness.feed(record)
        pairs = fold_changes(pairs, outputs)
        assert pairs == harness.pairs()
        for key, state in outputs.states:
            if state is None:
                del topic[key]
            else:
                topic[key] = state.privilege
        assert topic == {pair_key(*pair): privilege for pair, privilege in pairs.items()}
        assert listed_by(harness.store) == listings_of(harness.store)
        live = set(pairs)
        assert live <= listed_and_existing(harness.store)
        progress = harness.store.get_district(DISTRICT)
        if progress is None or progress.sync_id is None:
            assert live == listed_and_existing(harness.store)
        assert {
            (district, contact, grant.student_id)
            for (district, contact), grants in harness.store.grants.items()
            for grant in grants.grants
        } == set(pairs)


@settings(max_examples=200)
@given(steps, st.data())
def test_replayed_positions_give_the_outputs_once(steps: list[Any], data: st.DataObject) -> None:
    records = records_of(steps)
    once = Harness()
    expected = [once.at(offset, record) for offset, record in enumerate(records)]

    replaying = Harness()
    seen: list[Outputs] = []
    for offset, record in enumerate(records):
        seen.append(replaying.at(offset, record))
        earlier = data.draw(st.integers(0, offset), label="replayed offset")
        assert replaying.at(earlier, records[earlier]) == Outputs(replayed=True)
    # A restart from the beginning replays everything, and changes nothing.
    assert all(replaying.at(offset, record).replayed for offset, record in enumerate(records))

    assert seen == expected
    assert replaying.store.contacts == once.store.contacts
    assert replaying.store.grants == once.store.grants


@settings(max_examples=200)
@given(steps)
def test_every_record_twice_changes_nothing_more(steps: list[Any]) -> None:
    records = records_of(steps)
    once = Harness()
    expected = [once.at(offset, record) for offset, record in enumerate(records)]

    twice = Harness()
    for offset, record in enumerate(records):
        first = twice.at(2 * offset, record)
        again = twice.at(2 * offset + 1, record)
        assert what(first) == what(expected[offset])
        assert (again.changes, again.states, again.replayed) == ((), (), False)
    assert twice.store.contacts == once.store.contacts
    assert grants_of(twice.store) == grants_of(once.store)
    assert twice.store.students == once.store.students
