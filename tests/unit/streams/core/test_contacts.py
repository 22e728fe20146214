"""Contacts read from v3 users and v2.1 contacts: one privilege per student, mess counted."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.records import Privilege
from schemas.values import ContactType, PhoneType, Relationship
from streams.core.contacts import (
    ContactRecord,
    contact_from_snapshot,
    contact_from_v3_user,
    contact_from_v21,
    student_id_of,
)
from streams.core.exceptions import MalformedRecordError
from streams.core.normalise import privilege_of
from streams.core.pairs import FrozenPairs
from tests.unit.streams.core.strategies import relationship_entries, v3_users

#: The v3 contact of seeds/003 (Clever's migration guide), as Clever sends it.
SEED_CONTACT: dict[str, Any] = {
    "created": "2022-11-28T18:46:36.819Z",
    "district": "6385008f69df036e83e984a3",
    "email": "[email protected]",
    "last_modified": "2024-11-04T21:05:06.631Z",
    "name": {"last": "Aaron Collins"},
    "id": "63850203bfb8460546071ef6",
    "roles": {
        "contact": {
            "phone": "1-(330) 280-1898",
            "phone_type": "Other",
            "sis_id": "",
            "student_relationships": [
                {
                    "relationship": "Aunt/Uncle",
                    "student": "63850203bfb8460546071e62",
                    "type": "Family",
                },
                {
                    "relationship": "Aunt/Uncle",
                    "student": "672936fc65fc4500ced13260",
                    "type": "Family",
                },
                {
                    "relationship": "Parent",
                    "student": "63850203bfb8460546071e6e",
                    "type": "Parent/Guardian",
                },
            ],
            "legacy_id": "63850203bfb8460546071e7e",
        }
    },
}


def v3_contact(*entries: object, **role: object) -> dict[str, Any]:
    """A v3 contact user with these relationship entries (and role fields)."""
    return {
        "id": "c1",
        "district": "d1",
        "roles": {"contact": {"student_relationships": list(entries), **role}},
    }


def test_the_seed_contact_has_three_relationships() -> None:
    contact = contact_from_v3_user(SEED_CONTACT)

    assert contact is not None
    aunt = Privilege(
        relationship=Relationship.AUNT_UNCLE,
        relationship_raw="Aunt/Uncle",
        contact_type=ContactType.FAMILY,
        contact_type_raw="Family",
    )
    assert contact == ContactRecord(
        contact_id="63850203bfb8460546071ef6",
        district_id="6385008f69df036e83e984a3",
        sis_id=None,  # "" is no SIS ID: this contact is re-created on any change
        legacy_id="63850203bfb8460546071e7e",
        phone_type=PhoneType.OTHER,
        phone_type_raw="Other",
        relationships={
            "63850203bfb8460546071e62": aunt,
            "672936fc65fc4500ced13260": aunt,
            "63850203bfb8460546071e6e": Privilege(
                relationship=Relationship.PARENT,
                relationship_raw="Parent",
                contact_type=ContactType.PARENT_GUARDIAN,
                contact_type_raw="Parent/Guardian",
            ),
        },
    )
    assert list(contact.relationships) == [
        "63850203bfb8460546071e62",
        "672936fc65fc4500ced13260",
        "63850203bfb8460546071e6e",
    ], "Clever's order is kept"


def test_messy_entries_are_normalised_per_student() -> None:
    contact = contact_from_v3_user(
        v3_contact(
            {"student": "s1", "relationship": "", "type": "Grandparent"},
            {"student": "s2", "type": "guardian"},
            {"student": "s3", "relationship": None, "type": "emergency_contact"},
            {"student": "s4", "relationship": "Mother", "type": "other"},
        )
    )

    assert contact is not None
    assert {sid: (p.relationship, p.contact_type) for sid, p in contact.relationships.items()} == {
        "s1": (Relationship.GRANDPARENT, ContactType.UNSPECIFIED),
        "s2": (Relationship.UNSPECIFIED, ContactType.PARENT_GUARDIAN),
        "s3": (Relationship.UNSPECIFIED, ContactType.EMERGENCY),
        "s4": (Relationship.UNRECOGNIZED, ContactType.OTHER),
    }
    assert contact.relationships["s4"].relationship_raw == "Mother"
    assert contact.skipped_entries == 0


@pytest.mark.parametrize(
    ("entry"),
    [
        pytest.param({"relationship": "Parent", "type": "Parent/Guardian"}, id="no student"),
        pytest.param({"student": "", "type": "Family"}, id="empty student"),
        pytest.param({"student": "  "}, id="blank student"),
        pytest.param({"student": None}, id="null student"),
        pytest.param({"student": ["s9"]}, id="student not text"),
        pytest.param("s9", id="entry not an object"),
        pytest.param(None, id="null entry"),
    ],
)
def test_unusable_entries_are_skipped_and_counted(entry: object) -> None:
    contact = contact_from_v3_user(v3_contact(entry, {"student": "s1", "type": "Family"}, entry))

    assert contact is not None
    assert list(contact.relationships) == ["s1"]
    assert contact.skipped_entries == 2


@pytest.mark.parametrize(
    ("relationships", "skipped"),
    [
        pytest.param("s1", 1, id="a string"),
        pytest.param({"student": "s1"}, 1, id="an object"),
        pytest.param(None, 0, id="null"),
    ],
)
def test_a_relationships_field_that_is_not_a_list(relationships: object, skipped: int) -> None:
    user = v3_contact()
    user["roles"]["contact"]["student_relationships"] = relationships

    contact = contact_from_v3_user(user)

    assert contact is not None
    assert contact.relationships == {}
    assert contact.skipped_entries == skipped


def test_a_contact_role_of_null_is_a_contact_without_students() -> None:
    contact = contact_from_v3_user({"id": "c1", "roles": {"contact": None}})

    assert contact == ContactRecord(contact_id="c1")


@pytest.mark.parametrize(
    "user",
    [
        pytest.param({"id": "s1", "roles": {"student": {"grade": "3"}}}, id="student"),
        pytest.param({"id": "t1", "roles": {"teacher": {}}}, id="teacher"),
        pytest.param({"id": "u1"}, id="no roles"),
        pytest.param({"id": "u1", "roles": ["contact"]}, id="roles not an object"),
        pytest.param({"roles": {"student": {}}}, id="student without id"),
    ],
)
def test_users_without_the_contact_role_are_not_contacts(user: dict[str, Any]) -> None:
    assert contact_from_v3_user(user) is None


@pytest.mark.parametrize(
    "user_id",
    [pytest.param(None, id="null"), "", " ", 42, ["c1"]],
)
def test_a_contact_without_a_usable_id_is_malformed(user_id: object) -> None:
    user = v3_contact({"student": "s1"})
    user["id"] = user_id

    with pytest.raises(MalformedRecordError, match="id"):
        contact_from_v3_user(user)


@pytest.mark.parametrize("user", [None, "c1", ["c1"], 3])
def test_a_user_that_is_not_an_object_is_malformed(user: Any) -> None:
    with pytest.raises(MalformedRecordError, match="object"):
        contact_from_v3_user(user)


def test_a_student_listed_twice_keeps_the_most_specific_entry() -> None:
    vague = {"student": "s1", "relationship": "", "type": ""}
    guardian = {"student": "s1", "relationship": "Parent", "type": "Parent/Guardian"}
    emergency = {"student": "s1", "relationship": "Parent", "type": "Emergency"}

    for order in ([vague, guardian, emergency], [emergency, vague, guardian]):
        contact = contact_from_v3_user(v3_contact(*order))
        assert contact is not None
        assert contact.relationships == {"s1": privilege_of("Parent", "Parent/Guardian")}
        assert contact.skipped_entries == 0


@given(entries=st.lists(relationship_entries, max_size=8), data=st.data())
def test_duplicates_resolve_the_same_in_any_order(
    entries: list[object], data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(entries))

    first = contact_from_v3_user(v3_contact(*entries))
    second = contact_from_v3_user(v3_contact(*shuffled))

    assert first is not None
    assert second is not None
    assert first.relationships == second.relationships
    assert first.skipped_entries == second.skipped_entries
    usable = [e for e in entries if isinstance(e, dict) and isinstance(e.get("student"), str)]
    usable = [e for e in usable if e["student"].strip()]
    assert first.skipped_entries == len(entries) - len(usable)
    assert set(first.relationships) == {e["student"] for e in usable}


@given(user=v3_users)
def test_any_json_user_gives_a_contact_none_or_malformed_record(user: dict[str, Any]) -> None:
    before = copy.deepcopy(user)
    try:
        contact = contact_from_v3_user(user)
    except MalformedRecordError:
        contact = None
    assert user == before, "the record is not modified"
    assert contact is None or isinstance(contact, ContactRecord)
    if contact is not None:
        assert isinstance(contact.contact_id, str)
        assert contact.contact_id.strip()
        assert contact.skipped_entries >= 0
        assert all(isinstance(sid, str) and sid.strip() for sid in contact.relationships)
        hash(contact)


def test_a_v21_contact_gives_each_student_its_one_privilege() -> None:
    contact = contact_from_v21(
        {
            "id": "v2c",
            "district": "d1",
            "name": "Aaron Collins",
            "phone_type": "cell",
            "relationship": "Grandparent",
            "type": "Emergency",
            "sis_id": "sis-7",
            "students": ["s1", "s2", "s1", "", 5],
        }
    )

    grandparent = privilege_of("Grandparent", "Emergency")
    assert contact == ContactRecord(
        contact_id="v2c",
        district_id="d1",
        sis_id="sis-7",
        phone_type=PhoneType.CELL,
        phone_type_raw="cell",
        relationships={"s1": grandparent, "s2": grandparent},
        skipped_entries=2,
    )


@pytest.mark.parametrize(
    ("record", "students", "skipped"),
    [
        pytest.param({"student": "s1", "type": "guardian"}, ["s1"], 0, id="v1.2 student"),
        pytest.param({"students": ["s1"], "student": "s2"}, ["s1", "s2"], 0, id="both fields"),
        pytest.param({"students": "s1"}, [], 1, id="students not a list"),
        pytest.param({"student": ""}, [], 1, id="empty student"),
        pytest.param({"students": None, "student": None}, [], 0, id="null students"),
        pytest.param({}, [], 0, id="no students"),
    ],
)
def test_v21_and_v12_student_fields(
    record: dict[str, Any], students: list[str], skipped: int
) -> None:
    contact = contact_from_v21({"id": "v2c", **record})

    assert list(contact.relationships) == students
    assert contact.skipped_entries == skipped


def test_a_v21_contact_with_a_type_holding_a_relationship_word() -> None:
    contact = contact_from_v21(
        {"id": "v2c", "relationship": None, "type": "parent", "student": "s"}
    )

    assert contact.relationships["s"] == Privilege(
        relationship=Relationship.PARENT,
        relationship_raw=None,
        contact_type=ContactType.UNSPECIFIED,
        contact_type_raw="parent",
    )


@pytest.mark.parametrize("record", [{}, {"id": ""}, {"id": None}, {"id": 1}])
def test_a_v21_contact_without_a_usable_id_is_malformed(record: dict[str, Any]) -> None:
    with pytest.raises(MalformedRecordError):
        contact_from_v21(record)


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        pytest.param({"id": "s1", "roles": {"student": {"grade": "3"}}}, "s1", id="v3 student"),
        pytest.param({"id": "s1", "roles": {"student": None}}, "s1", id="v3 null role"),
        pytest.param({"id": "c1", "roles": {"contact": {}}}, None, id="v3 contact"),
        pytest.param({"id": "c1", "roles": None}, None, id="v3 null roles"),
        pytest.param({"id": "s1", "name": {"first": "A"}}, "s1", id="v2.1 student"),
    ],
)
def test_student_ids(record: dict[str, Any], expected: str | None) -> None:
    assert student_id_of(record) == expected


@pytest.mark.parametrize("record", [{"roles": {"student": {}}}, {"id": ""}, {"name": "x"}])
def test_a_student_without_a_usable_id_is_malformed(record: dict[str, Any]) -> None:
    with pytest.raises(MalformedRecordError):
        student_id_of(record)


def test_a_contact_survives_the_round_trip_through_its_snapshot() -> None:
    contact = contact_from_v3_user(SEED_CONTACT)
    assert contact is not None
    now = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)

    snapshot = contact.to_snapshot(
        district_id="6385008f69df036e83e984a3", updated_at=now, last_event_id="e1"
    )

    assert [entry.student_id for entry in snapshot.relationships] == list(contact.relationships)
    assert (snapshot.last_event_id, snapshot.updated_at) == ("e1", now)
    assert contact_from_snapshot(snapshot) == contact


def test_records_are_frozen_all_the_way_down() -> None:
    parent = privilege_of("Parent", "Parent/Guardian")
    pairs = {"s1": parent}
    contact = ContactRecord(contact_id="c1", relationships=pairs)
    pairs["s2"] = privilege_of("", "")

    assert list(contact.relationships) == ["s1"]
    assert isinstance(contact.relationships, FrozenPairs)
    assert hash(contact) == hash(ContactRecord(contact_id="c1", relationships={"s1": parent}))
    assert FrozenPairs(pairs) == pairs
    assert pairs == FrozenPairs(reversed(pairs.items()))
    assert hash(FrozenPairs(pairs)) == hash(FrozenPairs(reversed(pairs.items())))
