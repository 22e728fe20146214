"""SIS values normalised by the rules of the value sets: lenient, raw text kept, never raising."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.records import Privilege
from schemas.values import ContactType, PhoneType, Relationship
from streams.core.normalise import (
    _key,
    _privilege_of,
    phone_type_of,
    preferred,
    privilege_of,
    raw_text,
)
from tests.strategies import privileges
from tests.unit.streams.core.strategies import (
    RELATIONSHIP_TEXTS,
    TYPE_TEXTS,
    field_values,
    json_values,
)

R, T = Relationship, ContactType

CASES = [
    # Clever's own values (seeds/002)
    ("Parent", "Parent/Guardian", R.PARENT, T.PARENT_GUARDIAN, "clever values"),
    ("Aunt/Uncle", "Family", R.AUNT_UNCLE, T.FAMILY, "aunt uncle family"),
    ("Self", "Other", R.SELF, T.OTHER, "self other"),
    # Case and whitespace
    ("  PARENT ", "parent/guardian", R.PARENT, T.PARENT_GUARDIAN, "case and blanks"),
    (" aunt / UNCLE ", "Parent / Guardian", R.AUNT_UNCLE, T.PARENT_GUARDIAN, "spaces at slash"),
    # A relationship word in type, relationship blank: moved (seeds/000)
    ("", "Grandparent", R.GRANDPARENT, T.UNSPECIFIED, "type grandparent, rel empty"),
    (None, "parent", R.PARENT, T.UNSPECIFIED, "type parent, rel null"),
    ("  ", "Sibling", R.SIBLING, T.UNSPECIFIED, "type sibling, rel blank"),
    # ... but a relationship given wins, and the type is still not a type
    ("Parent", "Grandparent", R.PARENT, T.UNSPECIFIED, "type word, rel given"),
    ("Mother", "Parent", R.UNRECOGNIZED, T.UNSPECIFIED, "type word, rel unknown"),
    # "other" is a valid type: Infinite Campus "always other" stays a type
    ("", "other", R.UNSPECIFIED, T.OTHER, "infinite campus other"),
    # Tyler SIS spellings (seeds/000)
    ("", "guardian", R.UNSPECIFIED, T.PARENT_GUARDIAN, "tyler guardian"),
    ("Parent", "legal_guardian", R.PARENT, T.PARENT_GUARDIAN, "tyler legal_guardian"),
    (None, "emergency_contact", R.UNSPECIFIED, T.EMERGENCY, "tyler emergency_contact"),
    ("other", "emergency", R.OTHER, T.EMERGENCY, "tyler emergency"),
    ("", "Legal Guardian", R.UNSPECIFIED, T.PARENT_GUARDIAN, "legal guardian spaced"),
    # Missing, null, empty
    (None, None, R.UNSPECIFIED, T.UNSPECIFIED, "both null"),
    ("", "", R.UNSPECIFIED, T.UNSPECIFIED, "both empty"),
    ("Parent", "", R.PARENT, T.UNSPECIFIED, "type empty"),
    # Unknown text and other JSON
    ("Mother", "Custodial", R.UNRECOGNIZED, T.UNRECOGNIZED, "unknown text"),
    (3, ["Emergency"], R.UNRECOGNIZED, T.UNRECOGNIZED, "not strings"),
    (True, {"a": 1}, R.UNRECOGNIZED, T.UNRECOGNIZED, "boolean and object"),
]


@pytest.mark.parametrize(
    ("relationship", "type_", "expected_relationship", "expected_type"),
    [case[:4] for case in CASES],
    ids=[case[4] for case in CASES],
)
def test_messy_values_follow_the_rules(
    relationship: object,
    type_: object,
    expected_relationship: Relationship,
    expected_type: ContactType,
) -> None:
    privilege = privilege_of(relationship, type_)

    assert (privilege.relationship, privilege.contact_type) == (
        expected_relationship,
        expected_type,
    )


def test_moved_words_keep_both_raw_texts_as_sent() -> None:
    privilege = privilege_of("", "Grandparent")

    assert privilege.relationship_raw == ""
    assert privilege.contact_type_raw == "Grandparent"
    assert privilege_of(None, " guardian ").relationship_raw is None
    assert privilege_of(None, " guardian ").contact_type_raw == " guardian "


def test_other_json_values_are_kept_as_compact_json() -> None:
    privilege = privilege_of({"b": [1, None], "a": True}, 2.5)

    assert privilege.relationship_raw == '{"a":true,"b":[1,null]}'
    assert privilege.contact_type_raw == "2.5"
    assert (raw_text(object()) or "").startswith("<object")


@pytest.mark.parametrize(
    ("relationship", "type_"),
    list(itertools.product(RELATIONSHIP_TEXTS, TYPE_TEXTS)),
)
def test_clever_values_agree_with_the_contract_parsers(relationship: str, type_: str) -> None:
    privilege = privilege_of(relationship, type_)

    assert privilege.relationship is Relationship.from_clever(relationship)
    assert privilege.contact_type is ContactType.from_clever(type_)
    assert (privilege.relationship_raw, privilege.contact_type_raw) == (relationship, type_)


@given(relationship=json_values, type_=json_values)
def test_normalisation_never_raises_and_keeps_the_raw_values(
    relationship: object, type_: object
) -> None:
    privilege = privilege_of(relationship, type_)

    assert isinstance(privilege, Privilege)
    assert privilege.relationship_raw == raw_text(relationship)
    assert privilege.contact_type_raw == raw_text(type_)
    if isinstance(relationship, str):
        assert privilege.relationship_raw == relationship
    if relationship is None:
        assert privilege.relationship_raw is None


@given(
    relationship=st.sampled_from(RELATIONSHIP_TEXTS),
    type_=st.sampled_from(TYPE_TEXTS),
    pad=st.sampled_from(["", " ", "\t", "  \n"]),
    upper=st.booleans(),
)
def test_case_and_surrounding_whitespace_do_not_matter(
    relationship: str, type_: str, pad: str, upper: bool
) -> None:
    def messy(text: str) -> str:
        return pad + (text.upper() if upper else text.lower()) + pad

    clean, dirty = (
        privilege_of(relationship, type_),
        privilege_of(messy(relationship), messy(type_)),
    )

    assert (dirty.relationship, dirty.contact_type) == (clean.relationship, clean.contact_type)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Cell", PhoneType.CELL),
        ("cell", PhoneType.CELL),
        (" Work ", PhoneType.WORK),
        ("", PhoneType.UNSPECIFIED),
        (None, PhoneType.UNSPECIFIED),
        ("Mobile", PhoneType.UNRECOGNIZED),
        (7, PhoneType.UNRECOGNIZED),
    ],
)
def test_phone_types(raw: object, expected: PhoneType) -> None:
    assert phone_type_of(raw) == (expected, raw_text(raw))


@given(value=json_values)
def test_phone_type_never_raises(value: object) -> None:
    phone_type, raw = phone_type_of(value)

    assert isinstance(phone_type, PhoneType)
    assert raw == raw_text(value)


def test_the_more_specific_entry_is_preferred() -> None:
    known = privilege_of("Parent", "Parent/Guardian")
    half = privilege_of("Parent", "")
    unrecognised = privilege_of("Mother", "")
    nothing = privilege_of(None, None)

    assert preferred(half, known) is known
    assert preferred(unrecognised, half) is half
    assert preferred(nothing, unrecognised) is unrecognised
    assert preferred(privilege_of("", "Emergency"), privilege_of("", "Parent/Guardian")) == (
        privilege_of("", "Parent/Guardian")
    )


@given(first=privileges, second=privileges, third=privileges)
def test_preference_is_a_total_order(first: Privilege, second: Privilege, third: Privilege) -> None:
    assert preferred(first, second) == preferred(second, first)
    assert preferred(first, first) == first
    assert preferred(preferred(first, second), third) == preferred(first, preferred(second, third))


@given(relationship=field_values, type_=field_values)
def test_the_cache_of_clevers_text_gives_what_working_it_out_gives(
    relationship: object, type_: object
) -> None:
    # Twice: the first call may fill the cache, the second reads it.
    for _ in range(2):
        assert privilege_of(relationship, type_) == _privilege_of(relationship, type_)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param(1, True, id="one-and-true"),
        pytest.param(1, 1.0, id="int-and-float"),
        pytest.param(0, False, id="zero-and-false"),
    ],
)
def test_values_a_cache_would_confuse_keep_their_own_raw_text(
    first: object, second: object
) -> None:
    assert privilege_of(first, first).relationship_raw == raw_text(first)
    assert privilege_of(second, second).relationship_raw == raw_text(second)
    assert phone_type_of(first)[1] == raw_text(first)
    assert phone_type_of(second)[1] == raw_text(second)


@given(value=field_values)
def test_the_cached_phone_type_is_the_parsed_one(value: object) -> None:
    for _ in range(2):
        found, raw = phone_type_of(value)
        if isinstance(value, str):
            assert (found, raw) == (PhoneType.from_clever(_key(value)), value)
        else:
            assert raw == raw_text(value)
