"""The pair diff: its changes and restatements turn the old pairs into the new, cosmetic
rewrites are no change, and change IDs are unique by construction."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.records import Cause, Privilege
from schemas.values import CauseKind, ChangeKind
from streams.core.diff import (
    PairChange,
    apply,
    diff,
    restated,
    revoke_all,
    to_privilege_changes,
)
from streams.core.normalise import equivalent, privilege_of
from tests.strategies import causes, clever_ids, times
from tests.unit.streams.core.strategies import pair_states

PARENT = privilege_of("Parent", "Parent/Guardian")
EMERGENCY = privilege_of("Parent", "Emergency")
FAMILY = privilege_of("Aunt/Uncle", "Family")
EVENT = Cause(kind=CauseKind.CLEVER_EVENT, clever_event_id="e1", clever_event_type="users.updated")
NOW = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)


def test_grants_revokes_and_changes_sorted_by_student() -> None:
    old = {"s3": PARENT, "s1": FAMILY, "s2": PARENT}
    new = {"s2": EMERGENCY, "s1": FAMILY, "s4": PARENT}

    assert diff(old, new) == [
        PairChange(ChangeKind.CHANGED, "s2", PARENT, EMERGENCY),
        PairChange(ChangeKind.REVOKED, "s3", PARENT, None),
        PairChange(ChangeKind.GRANTED, "s4", None, PARENT),
    ]


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (("Parent", "Parent/Guardian"), ("PARENT", " parent/guardian ")),
        (("Aunt/Uncle", "Family"), ("aunt / uncle", "family")),
        (("", "Grandparent"), (None, "grandparent")),  # a type word; null and "" alike
        (("Step-dad", "Other"), (" step-DAD", "Other")),  # unrecognised: case and blanks only
        ((None, None), ("", "  ")),
        ((5, "Other"), ("5", "Other")),  # any JSON value is kept as its JSON text
    ],
    ids=["case-and-blanks", "spaces-around-slash", "type-word", "unrecognised", "blank", "json"],
)
def test_a_cosmetic_rewrite_is_no_change_but_is_restated(
    before: tuple[object, object], after: tuple[object, object]
) -> None:
    """Clever's text moved, the privilege did not: the state topic keeps the new text."""
    old, new = privilege_of(*before), privilege_of(*after)

    assert equivalent(old, new)
    assert diff({"s1": old}, {"s1": new}) == []
    assert restated({"s1": old}, {"s1": new}) == ([("s1", new)] if old != new else [])


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (("Parent", "Parent/Guardian"), ("Parent", "Emergency")),
        (("Step-dad", "Other"), ("Stepdad", "Other")),  # unrecognised text is all it says
        (("", "Grandparent"), ("Grandparent", "")),  # the type's text went
        (("Parent", ""), ("Parent", "Mother")),  # unspecified to unrecognised
    ],
    ids=["symbol", "unrecognised-text", "type-text", "unspecified-to-unrecognised"],
)
def test_a_change_of_meaning_is_changed(
    before: tuple[object, object], after: tuple[object, object]
) -> None:
    old, new = privilege_of(*before), privilege_of(*after)

    assert not equivalent(old, new)
    assert diff({"s1": old}, {"s1": new}) == [PairChange(ChangeKind.CHANGED, "s1", old, new)]
    assert restated({"s1": old}, {"s1": new}) == []


def test_revoke_all_revokes_every_pair() -> None:
    assert revoke_all({"s2": PARENT, "s1": FAMILY}) == [
        PairChange(ChangeKind.REVOKED, "s1", FAMILY, None),
        PairChange(ChangeKind.REVOKED, "s2", PARENT, None),
    ]


@pytest.mark.parametrize(
    ("kind", "before", "after"),
    [
        (ChangeKind.GRANTED, PARENT, PARENT),
        (ChangeKind.GRANTED, None, None),
        (ChangeKind.REVOKED, None, PARENT),
        (ChangeKind.CHANGED, PARENT, PARENT),
        (ChangeKind.CHANGED, None, PARENT),
        (ChangeKind.UNRECOGNIZED, PARENT, FAMILY),
    ],
)
def test_a_pair_change_must_make_sense(
    kind: ChangeKind, before: Privilege | None, after: Privilege | None
) -> None:
    with pytest.raises(ValueError, match="cannot go"):
        PairChange(kind, "s1", before, after)


def _step(old: dict[str, Privilege], new: dict[str, Privilege]) -> dict[str, Privilege]:
    """``old`` with ``diff`` and ``restated`` applied: what the state topic holds next."""
    return {**apply(old, diff(old, new)), **dict(restated(old, new))}


@given(old=pair_states, new=pair_states)
def test_the_changes_and_restatements_turn_the_old_pairs_into_the_new(
    old: dict[str, Privilege], new: dict[str, Privilege]
) -> None:
    changes = diff(old, new)

    assert _step(old, new) == new
    assert all(not equivalent(c.before, c.after) for c in changes if c.before and c.after)
    assert {student for student, _ in restated(old, new)}.isdisjoint(
        {change.student_id for change in changes}
    )
    assert [change.student_id for change in changes] == sorted({c.student_id for c in changes})
    assert diff(new, old) == [
        PairChange(_reverse(c.kind), c.student_id, c.after, c.before) for c in changes
    ]


def _reverse(kind: ChangeKind) -> ChangeKind:
    return {ChangeKind.GRANTED: ChangeKind.REVOKED, ChangeKind.REVOKED: ChangeKind.GRANTED}.get(
        kind, kind
    )


@given(state=pair_states)
def test_the_diff_of_a_state_with_itself_is_empty(state: dict[str, Privilege]) -> None:
    assert diff(state, state) == []
    assert diff(state, dict(reversed(state.items()))) == []


@given(old=pair_states, middle=pair_states, new=pair_states)
def test_applying_diffs_in_sequence_composes(
    old: dict[str, Privilege], middle: dict[str, Privilege], new: dict[str, Privilege]
) -> None:
    """States compose: each step is computed from the whole state, never from the last one."""
    assert _step(_step(old, middle), new) == new


def test_privilege_changes_carry_the_pair_and_the_cause() -> None:
    changes = diff({"s1": PARENT, "s2": FAMILY}, {"s1": EMERGENCY, "s3": PARENT})

    records = to_privilege_changes(
        changes,
        district_id="d1",
        contact_id="c2",
        cause=EVENT,
        record_number=7,
        first_ordinal=0,
        occurred_at=NOW,
        emitted_at=NOW,
        reissued_from_contact_id="c1",
    )

    assert [(r.kind, r.student_id, r.before, r.after) for r in records] == [
        (ChangeKind.CHANGED, "s1", PARENT, EMERGENCY),
        (ChangeKind.REVOKED, "s2", FAMILY, None),
        (ChangeKind.GRANTED, "s3", None, PARENT),
    ]
    assert [r.reissued_from_contact_id for r in records] == [None, None, "c1"]
    assert {(r.district_id, r.contact_id, r.cause, r.occurred_at) for r in records} == {
        ("d1", "c2", EVENT, NOW)
    }
    assert len({r.change_id for r in records}) == 3


@given(
    district=clever_ids,
    contact=clever_ids,
    state=pair_states,
    cause=causes,
    emitted=times,
    emitted_again=times,
)
def test_change_ids_are_deterministic(
    district: str,
    contact: str,
    state: dict[str, Privilege],
    cause: Cause,
    emitted: datetime,
    emitted_again: datetime,
) -> None:
    changes = revoke_all(state)

    def ids(emitted_at: datetime) -> list[str]:
        records = to_privilege_changes(
            changes,
            district_id=district,
            contact_id=contact,
            cause=cause,
            record_number=3,
            first_ordinal=2,
            occurred_at=None,
            emitted_at=emitted_at,
        )
        return [record.change_id for record in records]

    assert ids(emitted) == ids(emitted_again), "a replay, emitted later, has the same IDs"
    assert len(set(ids(emitted))) == len(changes), "one ID per pair"


@given(
    pairs=st.lists(st.tuples(clever_ids, clever_ids, clever_ids), min_size=1, max_size=4),
    identities=st.lists(
        st.tuples(st.sampled_from(CauseKind), clever_ids), min_size=1, max_size=4, unique=True
    ),
)
def test_change_ids_are_distinct_per_pair_and_cause(
    pairs: list[tuple[str, str, str]], identities: list[tuple[CauseKind, str]]
) -> None:
    unique_pairs = set(pairs)
    ids = set()
    for district, contact, student in unique_pairs:
        for kind, identity in identities:
            is_event = kind is CauseKind.CLEVER_EVENT
            cause = Cause(
                kind=kind,
                clever_event_id=identity if is_event else None,
                sync_id=None if is_event else identity,
            )
            [record] = to_privilege_changes(
                [PairChange(ChangeKind.GRANTED, student, None, PARENT)],
                district_id=district,
                contact_id=contact,
                cause=cause,
                record_number=1,
                first_ordinal=0,
                occurred_at=None,
                emitted_at=NOW,
            )
            ids.add(record.change_id)

    assert len(ids) == len(unique_pairs) * len(identities)


def test_one_cause_changing_a_pair_twice_gives_two_ids() -> None:
    """A sync whose snapshot holds a contact twice, first with a student and then without:
    the grant and the revoke share the pair and the cause, not the record or the place."""
    sync = Cause(kind=CauseKind.SYNC_SNAPSHOT, sync_id="sync-1")

    def record(change: PairChange, number: int) -> str:
        [found] = to_privilege_changes(
            [change], district_id="d", contact_id="c", cause=sync, record_number=number,
            first_ordinal=0, occurred_at=None, emitted_at=NOW,
        )  # fmt: skip
        return found.change_id

    granted = record(PairChange(ChangeKind.GRANTED, "s1", None, PARENT), 10)
    revoked = record(PairChange(ChangeKind.REVOKED, "s1", PARENT, None), 11)

    assert granted != revoked
