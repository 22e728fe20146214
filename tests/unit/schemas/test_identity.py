"""Change IDs: the same pair and cause give the same ID, anything else another."""

from __future__ import annotations

from hypothesis import given

from schemas.identity import change_id
from schemas.records import Cause
from schemas.values import CauseKind
from tests.strategies import causes, clever_ids


@given(district=clever_ids, contact=clever_ids, student=clever_ids, cause=causes)
def test_the_same_pair_and_cause_give_the_same_id(
    district: str, contact: str, student: str, cause: Cause
) -> None:
    first = change_id(district_id=district, contact_id=contact, student_id=student, cause=cause)
    again = change_id(district_id=district, contact_id=contact, student_id=student, cause=cause)

    assert first == again
    assert len(first) == 32
    assert int(first, 16) >= 0


def test_another_pair_or_cause_gives_another_id() -> None:
    event = Cause(kind=CauseKind.CLEVER_EVENT, clever_event_id="e1")
    base = {"district_id": "d", "contact_id": "c", "student_id": "s"}
    ids = {
        change_id(**base, cause=event),
        change_id(**{**base, "student_id": "s2"}, cause=event),
        change_id(**{**base, "contact_id": "c2"}, cause=event),
        change_id(**base, cause=Cause(kind=CauseKind.CLEVER_EVENT, clever_event_id="e2")),
        change_id(**base, cause=Cause(kind=CauseKind.SYNC_SNAPSHOT, sync_id="e1")),
        change_id(**base, cause=Cause(kind=CauseKind.SYNC_RECONCILIATION, sync_id="e1")),
    }

    assert len(ids) == 6


def test_ids_cannot_be_forged_by_moving_text_between_fields() -> None:
    cause = Cause(kind=CauseKind.CLEVER_EVENT, clever_event_id="e")

    assert change_id(district_id="ab", contact_id="c", student_id="s", cause=cause) != change_id(
        district_id="a", contact_id="bc", student_id="s", cause=cause
    )
