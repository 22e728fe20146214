"""What each Clever event means for privileges: contacts and students acted on, the rest skipped."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.core.classify import (
    NO_ROLE,
    NOT_TEXT,
    OTHER_RECORD_TYPE,
    UNKNOWN_ACTION,
    Action,
    DeleteContact,
    DeleteStudent,
    Skip,
    UpsertContact,
    UpsertStudent,
    classify,
    classify_snapshot,
    skip_of_type,
)
from streams.core.contacts import contact_from_v3_user, contact_from_v21
from streams.core.exceptions import MalformedRecordError
from tests.unit.streams.core.strategies import json_values, v3_users

CONTACT: dict[str, Any] = {
    "id": "c1",
    "district": "d1",
    "roles": {"contact": {"student_relationships": [{"student": "s1", "type": "Family"}]}},
}
STUDENT: dict[str, Any] = {"id": "s1", "district": "d1", "roles": {"student": {"grade": "3"}}}
V21_CONTACT: dict[str, Any] = {"id": "v2c", "relationship": "Parent", "students": ["s1"]}
V21_STUDENT: dict[str, Any] = {"id": "s1", "name": {"first": "A", "last": "B"}}


def _v3_contact() -> UpsertContact:
    contact = contact_from_v3_user(CONTACT)
    assert contact is not None
    return UpsertContact(contact)


@pytest.mark.parametrize(
    ("event_type", "obj", "expected"),
    [
        pytest.param("users.created", CONTACT, (_v3_contact(),), id="v3 contact created"),
        pytest.param("users.updated", CONTACT, (_v3_contact(),), id="v3 contact updated"),
        pytest.param("users.deleted", CONTACT, (DeleteContact("c1"),), id="v3 contact deleted"),
        pytest.param("users.created", STUDENT, (UpsertStudent("s1"),), id="v3 student created"),
        pytest.param("users.deleted", STUDENT, (DeleteStudent("s1"),), id="v3 student deleted"),
        pytest.param(
            "contacts.updated",
            V21_CONTACT,
            (UpsertContact(contact_from_v21(V21_CONTACT)),),
            id="v2.1 contact updated",
        ),
        pytest.param("contacts.deleted", V21_CONTACT, (DeleteContact("v2c"),), id="v2.1 deleted"),
        pytest.param(
            "studentcontacts.created",
            {"id": "v1c", "student": "s1"},
            (UpsertContact(contact_from_v21({"id": "v1c", "student": "s1"})),),
            id="v1.2 studentcontact created",
        ),
        pytest.param(
            "studentcontacts.deleted", {"id": "v1c"}, (DeleteContact("v1c"),), id="v1.2 deleted"
        ),
        pytest.param("students.created", V21_STUDENT, (UpsertStudent("s1"),), id="v2.1 student"),
        pytest.param(
            "students.deleted", V21_STUDENT, (DeleteStudent("s1"),), id="v2.1 student deleted"
        ),
        pytest.param(" Users.Updated ", CONTACT, (_v3_contact(),), id="case and blanks"),
    ],
)
def test_contact_and_student_events(event_type: str, obj: object, expected: tuple[Action]) -> None:
    assert classify(event_type, obj) == expected


@pytest.mark.parametrize(
    ("event_type", "expected"),
    [
        ("sections.created", Skip("sections", OTHER_RECORD_TYPE)),
        ("schools.updated", Skip("schools", OTHER_RECORD_TYPE)),
        ("teachers.deleted", Skip("teachers", OTHER_RECORD_TYPE)),
        ("districts.created", Skip("districts", OTHER_RECORD_TYPE)),
        ("terms.updated", Skip("terms", OTHER_RECORD_TYPE)),
        ("courses.created", Skip("courses", OTHER_RECORD_TYPE)),
        ("resources.updated", Skip("resources", OTHER_RECORD_TYPE)),
        ("gizmos.exploded", Skip("gizmos", OTHER_RECORD_TYPE)),
        ("", Skip("", OTHER_RECORD_TYPE)),
        ("users.merged", Skip("users", UNKNOWN_ACTION)),
        ("users", Skip("users", UNKNOWN_ACTION)),
        (None, Skip("", NOT_TEXT)),
        (7, Skip("", NOT_TEXT)),
    ],
)
def test_everything_else_is_skipped_without_reading_the_object(
    event_type: object, expected: Skip
) -> None:
    # The object is not even an object: a skip by type never looks at it.
    assert classify(event_type, object()) == (expected,)


@pytest.mark.parametrize(
    "user",
    [
        pytest.param({"id": "t1", "roles": {"teacher": {}}}, id="teacher"),
        pytest.param({"id": "a1", "roles": {"district_admin": {}}}, id="admin"),
        pytest.param({"id": "u1"}, id="no roles"),
    ],
)
def test_a_user_neither_contact_nor_student_is_skipped(user: dict[str, Any]) -> None:
    assert classify("users.updated", user) == (Skip("users", NO_ROLE),)


def test_a_deleted_teacher_is_skipped() -> None:
    assert classify("users.deleted", {"id": "t1", "roles": {"teacher": {}}}) == (
        Skip("users", NO_ROLE),
    )


def test_a_deleted_user_without_roles_is_deleted_both_ways() -> None:
    """A revoke must never wait: an ID that was neither revokes nothing downstream."""
    assert classify("users.deleted", {"id": "u1"}) == (DeleteContact("u1"), DeleteStudent("u1"))


def test_a_user_with_both_roles_gives_both_actions() -> None:
    both = {"id": "u1", "roles": {**CONTACT["roles"], **STUDENT["roles"]}}

    upserts = classify("users.updated", both)
    deletes = classify("users.deleted", both)

    assert [type(action) for action in upserts] == [UpsertContact, UpsertStudent]
    assert deletes == (DeleteContact("u1"), DeleteStudent("u1"))


@pytest.mark.parametrize(
    ("event_type", "obj"),
    [
        pytest.param("users.updated", None, id="null object"),
        pytest.param("users.deleted", ["c1"], id="list object"),
        pytest.param("users.updated", {"roles": {"contact": {}}}, id="contact without id"),
        pytest.param("users.deleted", {"roles": None}, id="deleted without id"),
        pytest.param("contacts.created", {"students": ["s1"]}, id="v2.1 contact without id"),
        pytest.param("students.updated", {"id": ""}, id="v2.1 student without id"),
    ],
)
def test_a_contact_or_student_without_an_id_is_malformed(event_type: str, obj: object) -> None:
    with pytest.raises(MalformedRecordError):
        classify(event_type, obj)


@pytest.mark.parametrize(
    ("record_type", "obj", "expected"),
    [
        pytest.param("users", CONTACT, (_v3_contact(),), id="v3 contact"),
        pytest.param("users", STUDENT, (UpsertStudent("s1"),), id="v3 student"),
        pytest.param("students", V21_STUDENT, (UpsertStudent("s1"),), id="v2.1 student"),
        pytest.param("sections", {}, (Skip("sections", OTHER_RECORD_TYPE),), id="section"),
        pytest.param(None, CONTACT, (Skip("", NOT_TEXT),), id="no record type"),
    ],
)
def test_snapshot_records_are_upserts(
    record_type: object, obj: object, expected: tuple[Action]
) -> None:
    assert classify_snapshot(record_type, obj) == expected


@given(
    event_type=st.sampled_from(
        ["users", "contacts", "studentcontacts", "students", "terms"]
    ).flatmap(lambda family: st.sampled_from([f"{family}.created", f"{family}.deleted"]))
    | json_values,
    obj=v3_users | json_values,
)
def test_classify_never_raises_anything_but_malformed_record(
    event_type: object, obj: object
) -> None:
    try:
        actions = classify(event_type, obj)
    except MalformedRecordError:
        return
    assert actions
    assert all(
        isinstance(action, UpsertContact | DeleteContact | UpsertStudent | DeleteStudent | Skip)
        for action in actions
    )


event_types = (
    st.sampled_from(
        [
            "users.created",
            " Users.UPDATED ",
            "contacts.deleted",
            "studentcontacts.created",
            "students.updated",
            "sections.created",
            "users.merged",
            "users",
            "",
        ]
    )
    | st.text(max_size=30)
    | json_values
)


@given(event_type=event_types, obj=st.none() | json_values)
def test_the_skip_of_a_type_is_what_classify_gives_without_reading_the_object(
    event_type: object, obj: object
) -> None:
    skip = skip_of_type(event_type)
    try:
        actions: tuple[Action, ...] | None = classify(event_type, obj)
    except MalformedRecordError:
        actions = None
    if skip is not None:
        assert actions == (skip,)
    else:
        # The object decides: without one, classify refuses the event.
        with pytest.raises(MalformedRecordError):
            classify(event_type, None)
