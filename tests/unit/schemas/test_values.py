"""Clever's value sets: parsed case-insensitively, unknown text never an error."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.values import ContactType, PhoneType, Relationship


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("Parent", Relationship.PARENT, id="as-documented"),
        pytest.param("  aunt/UNCLE ", Relationship.AUNT_UNCLE, id="case-and-space"),
        pytest.param("Other", Relationship.OTHER, id="clevers-other"),
        pytest.param("", Relationship.UNSPECIFIED, id="empty"),
        pytest.param(None, Relationship.UNSPECIFIED, id="missing"),
        pytest.param("Guardian", Relationship.UNRECOGNIZED, id="not-a-relationship"),
    ],
)
def test_relationships(raw: str | None, expected: Relationship) -> None:
    assert Relationship.from_clever(raw) is expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("Parent/Guardian", ContactType.PARENT_GUARDIAN, id="parent-guardian"),
        pytest.param("emergency", ContactType.EMERGENCY, id="lower-case"),
        pytest.param("Parent / Guardian", ContactType.UNRECOGNIZED, id="spaced-slash"),
    ],
)
def test_contact_types(raw: str, expected: ContactType) -> None:
    assert ContactType.from_clever(raw) is expected


def test_phone_types() -> None:
    assert [PhoneType.from_clever(raw) for raw in ("Cell", "HOME", "work", "Other", "Pager")] == [
        PhoneType.CELL,
        PhoneType.HOME,
        PhoneType.WORK,
        PhoneType.OTHER,
        PhoneType.UNRECOGNIZED,
    ]


@given(raw=st.none() | st.text())
def test_parsing_never_raises(raw: str | None) -> None:
    for value_set in (Relationship, ContactType, PhoneType):
        assert value_set.from_clever(raw) in value_set
