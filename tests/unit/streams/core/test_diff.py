"""The pair diff: applying its changes to the old pairs gives the new, and replays give nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.records import Cause, Privilege
from schemas.values import CauseKind, ChangeKind
from streams.core.diff import PairChange, apply, diff, revoke_all, to_privilege_changes
from streams.core.normalise import privilege_of
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


def test_a_change_of_clevers_text_alone_is_a_change() -> None:
    """The state downstream keeps Clever's current text; the symbols show nothing moved."""
    shouted = privilege_of("PARENT", "Parent/Guardian")

    [change] = diff({"s1": PARENT}, {"s1": shouted})

    assert change.kind is ChangeKind.CHANGED
    assert change.before is not None
    assert change.after is not None
    assert change.before.relationship is change.after.relationship


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


@given(old=pair_states, new=pair_states)
def test_applying_the_diff_to_the_old_pairs_gives_the_new(
    old: dict[str, Privilege], new: dict[str, Privilege]
) -> None:
    changes = diff(old, new)

    assert apply(old, changes) == new
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
    """An event replayed after later ones changes nothing it should not: states compose."""
    assert apply(apply(old, diff(old, middle)), diff(middle, new)) == new


def test_privilege_changes_carry_the_pair_and_the_cause() -> None:
    changes = diff({"s1": PARENT, "s2": FAMILY}, {"s1": EMERGENCY, "s3": PARENT})

    records = to_privilege_changes(
        changes,
        district_id="d1",
        contact_id="c2",
        cause=EVENT,
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
                occurred_at=None,
                emitted_at=NOW,
            )
            ids.add(record.change_id)

    assert len(ids) == len(unique_pairs) * len(identities)
