"""Clever's value sets: parsed case-insensitively, unknown text never an error."""

from __future__ import annotations

from typing import Any

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


def _from_clever_as_first_written(value_set: Any, raw: str | None) -> Any:
    """``from_clever`` before its lookup was cached: the value set's texts read every call."""
    if raw is None or not raw.strip():
        return value_set("UNSPECIFIED")
    symbol = value_set._clever_texts().get(" ".join(raw.split()).casefold())  # noqa: SLF001 - the reference implementation reads the texts
    return value_set(symbol or "UNRECOGNIZED")


clever_texts = st.sampled_from(
    [
        text
        for value_set in (Relationship, ContactType, PhoneType)
        for text in value_set._clever_texts()  # noqa: SLF001 - every text the value sets know
    ]
)


@given(
    raw=st.none()
    | st.text()
    | st.builds(
        lambda text, pad: f"{pad}{text.upper()}{pad}",
        clever_texts,
        st.sampled_from(["", " ", "\t"]),
    )
)
def test_the_cached_lookup_parses_as_the_texts_do(raw: str | None) -> None:
    for value_set in (Relationship, ContactType, PhoneType):
        assert value_set.from_clever(raw) is _from_clever_as_first_written(value_set, raw)
