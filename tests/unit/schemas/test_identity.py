"""Change IDs: the same pair, cause and place give the same ID, anything else another."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from schemas.identity import change_id
from schemas.records import Cause
from schemas.values import CauseKind
from tests.strategies import causes, clever_ids

numbers = st.integers(min_value=0, max_value=2**40)


@given(
    district=clever_ids,
    contact=clever_ids,
    student=clever_ids,
    cause=causes,
    number=numbers,
    ordinal=numbers,
)
def test_the_same_pair_cause_and_place_give_the_same_id(
    district: str, contact: str, student: str, cause: Cause, number: int, ordinal: int
) -> None:
    def identify() -> str:
        return change_id(
            district_id=district, contact_id=contact, student_id=student, cause=cause,
            record_number=number, ordinal=ordinal,
        )  # fmt: skip

    first = identify()

    assert first == identify()
    assert len(first) == 32
    assert int(first, 16) >= 0


def test_another_pair_cause_or_place_gives_another_id() -> None:
    event = Cause(kind=CauseKind.CLEVER_EVENT, clever_event_id="e1")

    def identify(
        cause: Cause = event, contact: str = "c", student: str = "s", number: int = 1, nth: int = 0
    ) -> str:
        return change_id(
            district_id="d", contact_id=contact, student_id=student, cause=cause,
            record_number=number, ordinal=nth,
        )  # fmt: skip

    ids = {
        identify(),
        identify(student="s2"),
        identify(contact="c2"),
        identify(Cause(kind=CauseKind.CLEVER_EVENT, clever_event_id="e2")),
        identify(Cause(kind=CauseKind.SYNC_SNAPSHOT, sync_id="e1")),
        identify(Cause(kind=CauseKind.SYNC_RECONCILIATION, sync_id="e1")),
        identify(number=2),
        identify(nth=1),
    }

    assert len(ids) == 8


def test_ids_cannot_be_forged_by_moving_text_between_fields() -> None:
    cause = Cause(kind=CauseKind.CLEVER_EVENT, clever_event_id="e")

    def identify(district: str, contact: str, number: int, ordinal: int) -> str:
        return change_id(
            district_id=district, contact_id=contact, student_id="s", cause=cause,
            record_number=number, ordinal=ordinal,
        )  # fmt: skip

    assert identify("ab", "c", 1, 0) != identify("a", "bc", 1, 0)
    assert identify("d", "c", 11, 0) != identify("d", "c", 1, 10)
