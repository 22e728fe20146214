"""A contact without an SIS ID, deleted and created again, is labelled as the one it replaces."""

from __future__ import annotations

from dataclasses import replace

import pytest

from streams.core.contacts import ContactRecord
from streams.core.normalise import privilege_of
from streams.core.reissue import reissued_from

PAIRS = {
    "s1": privilege_of("Parent", "Parent/Guardian"),
    "s2": privilege_of("Aunt/Uncle", "Family"),
}
CREATED = ContactRecord(contact_id="new", district_id="d1", relationships=PAIRS)


def deleted(contact_id: str, **changes: object) -> tuple[str, ContactRecord]:
    record = replace(CREATED, contact_id=contact_id)
    return contact_id, replace(record, **changes)  # type: ignore[arg-type] # test overrides


def test_the_same_students_and_privileges_make_a_reissue() -> None:
    assert reissued_from(CREATED, [deleted("old")]) == "old"


def test_the_most_recent_match_wins() -> None:
    window = [deleted("older"), deleted("other", relationships={}), deleted("newer")]

    assert reissued_from(CREATED, window) == "newer"


def test_the_order_of_the_students_does_not_matter() -> None:
    shuffled = dict(reversed(PAIRS.items()))

    assert reissued_from(CREATED, [deleted("old", relationships=shuffled)]) == "old"


@pytest.mark.parametrize(
    "candidate",
    [
        pytest.param(deleted("old", sis_id="sis-1"), id="deleted had an SIS ID"),
        pytest.param(deleted("old", district_id="d2"), id="another district"),
        pytest.param(deleted("old", district_id=None), id="district unknown"),
        pytest.param(deleted("old", relationships={"s1": PAIRS["s1"]}), id="fewer students"),
        pytest.param(
            deleted("old", relationships={**PAIRS, "s2": privilege_of("Aunt/Uncle", "Emergency")}),
            id="another privilege",
        ),
        pytest.param(
            deleted("old", relationships={**PAIRS, "s2": privilege_of("aunt/uncle", "Family")}),
            id="other raw text",
        ),
        pytest.param(deleted("new"), id="itself"),
    ],
)
def test_no_reissue(candidate: tuple[str, ContactRecord]) -> None:
    assert reissued_from(CREATED, [candidate]) is None


def test_a_created_contact_with_an_sis_id_is_never_a_reissue() -> None:
    assert reissued_from(replace(CREATED, sis_id="sis-1"), [deleted("old")]) is None


def test_a_contact_without_students_is_never_a_reissue() -> None:
    empty = replace(CREATED, relationships={})

    assert reissued_from(empty, [deleted("old", relationships={})]) is None


def test_nothing_recently_deleted() -> None:
    assert reissued_from(CREATED, []) is None
