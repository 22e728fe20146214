"""Hand-written examples of each documented privilege rule, run on the reference model."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from tests.model.reference import (
    CHANGED,
    CLEVER_EVENT,
    GRANTED,
    MISSING,
    REVOKED,
    SYNC_RECONCILIATION,
    SYNC_SNAPSHOT,
    Change,
    Privilege,
    ReferenceModel,
    privilege_from,
)

_event_ids = itertools.count(1)


def rel(student: str, relationship: object = "Parent", type_: object = "Parent/Guardian"):
    """One v3 StudentRelationship; MISSING leaves the key out."""
    entry: dict[str, Any] = {"student": student}
    if relationship is not MISSING:
        entry["relationship"] = relationship
    if type_ is not MISSING:
        entry["type"] = type_
    return entry


def contact(user_id: str, *relationships: object) -> dict[str, Any]:
    """A v3 user holding the contact role with these relationships."""
    return {
        "id": user_id,
        "roles": {"contact": {"phone": None, "student_relationships": list(relationships)}},
    }


def student(user_id: str) -> dict[str, Any]:
    """A v3 user holding the student role."""
    return {"id": user_id, "roles": {"student": {"grade": "5"}}}


def event(type_: str, obj: object, *, event_id: str | None = None) -> dict[str, Any]:
    """A Clever event envelope; a fresh ID unless one is given."""
    return {
        "id": event_id if event_id is not None else f"ev{next(_event_ids)}",
        "type": type_,
        "created": "2024-05-01T12:00:00.000Z",
        "data": {"object": obj},
    }


def summary(changes: list[Change]) -> list[tuple[str, str, str]]:
    return [(c.kind, c.contact_id, c.student_id) for c in changes]


def parent(relationship_raw: str | None = "Parent", type_raw: str | None = "Parent/Guardian"):
    return Privilege("PARENT", relationship_raw, "PARENT_GUARDIAN", type_raw)


@pytest.fixture
def model() -> ReferenceModel:
    """A district where students s1 and s2 exist and no contact yet."""
    model = ReferenceModel()
    for student_id in ("s1", "s2"):
        assert model.event(event("users.created", student(student_id))) == []
    return model


def test_grant_change_and_revoke_follow_the_listing(model: ReferenceModel) -> None:
    granting = event("users.created", contact("c1", rel("s1"), rel("s2", "Grandparent", "Family")))
    changes = model.event(granting)
    assert summary(changes) == [(GRANTED, "c1", "s1"), (GRANTED, "c1", "s2")]
    assert changes[0].before is None
    assert changes[0].after == parent()
    assert changes[0].cause == (CLEVER_EVENT, granting["id"])

    changes = model.event(event("users.updated", contact("c1", rel("s1", "Parent", "Emergency"))))
    assert summary(changes) == [(REVOKED, "c1", "s2"), (CHANGED, "c1", "s1")]
    assert changes[0].before == Privilege("GRANDPARENT", "Grandparent", "FAMILY", "Family")
    assert changes[0].after is None
    assert changes[1].before == parent()
    assert changes[1].after == Privilege("PARENT", "Parent", "EMERGENCY", "Emergency")

    assert summary(model.event(event("users.deleted", contact("c1")))) == [(REVOKED, "c1", "s1")]
    assert model.live == {}


def test_within_a_contact_revokes_then_changes_then_grants(model: ReferenceModel) -> None:
    model.event(event("users.created", student("s3")))
    model.event(event("users.created", contact("c1", rel("s2"), rel("s3"))))
    changes = model.event(event("users.updated", contact("c1", rel("s1"), rel("s2", "Self"))))
    assert summary(changes) == [
        (REVOKED, "c1", "s3"),
        (CHANGED, "c1", "s2"),
        (GRANTED, "c1", "s1"),
    ]


def test_cosmetic_rewrite_emits_nothing_but_updates_the_raw_text(model: ReferenceModel) -> None:
    model.event(event("users.created", contact("c1", rel("s1", "Aunt/Uncle", "family"))))
    rewrite = contact("c1", rel("s1", " aunt / uncle", "FAMILY"))
    assert model.event(event("users.updated", rewrite)) == []
    assert model.live[("c1", "s1")] == Privilege("AUNT_UNCLE", " aunt / uncle", "FAMILY", "FAMILY")

    # Null, "" and a missing key are the same UNSPECIFIED text.
    model.event(event("users.updated", contact("c1", rel("s1", None, "Family"))))
    for blank in ("", "  ", MISSING):
        assert model.event(event("users.updated", contact("c1", rel("s1", blank, "Family")))) == []


def test_unspecified_or_unrecognized_on_both_sides_compares_the_raw_text(
    model: ReferenceModel,
) -> None:
    model.event(event("users.created", contact("c1", rel("s1", "Step-parent", "Other"))))
    assert model.live[("c1", "s1")].relationship == "UNRECOGNIZED"
    rewrite = contact("c1", rel("s1", " STEP-PARENT ", "Other"))
    assert model.event(event("users.updated", rewrite)) == []
    changes = model.event(event("users.updated", contact("c1", rel("s1", "Stepparent", "Other"))))
    assert summary(changes) == [(CHANGED, "c1", "s1")]
    assert changes[0].before is not None
    assert changes[0].before.relationship_raw == " STEP-PARENT "


P = Privilege


@pytest.mark.parametrize(
    ("relationship", "type_", "expected"),
    [
        pytest.param(
            "", "Grandparent", P("GRANDPARENT", "", "UNSPECIFIED", "Grandparent"), id="type-word"
        ),
        pytest.param(
            None,
            "aunt_/_UNCLE",
            P("AUNT_UNCLE", None, "UNSPECIFIED", "aunt_/_UNCLE"),
            id="type-word-with-underscores-and-slash",
        ),
        pytest.param(
            "Parent",
            "Sibling",
            P("PARENT", "Parent", "UNSPECIFIED", "Sibling"),
            id="type-word-keeps-a-known-relationship",
        ),
        pytest.param(
            "Uncle",
            "Parent",
            P("UNRECOGNIZED", "Uncle", "UNSPECIFIED", "Parent"),
            id="type-word-keeps-an-unrecognized-relationship",
        ),
        pytest.param("", "other", P("UNSPECIFIED", "", "OTHER", "other"), id="other-type"),
        pytest.param(
            MISSING,
            "legal_guardian",
            P("UNSPECIFIED", None, "PARENT_GUARDIAN", "legal_guardian"),
            id="legal-guardian",
        ),
        pytest.param(
            "Other",
            "Emergency  Contact",
            P("OTHER", "Other", "EMERGENCY", "Emergency  Contact"),
            id="emergency-contact",
        ),
        pytest.param(
            "parent",
            "guardian",
            P("PARENT", "parent", "PARENT_GUARDIAN", "guardian"),
            id="guardian",
        ),
        pytest.param(
            7,
            {"b": 1, "a": [True]},
            P("UNRECOGNIZED", "7", "UNRECOGNIZED", '{"a":[true],"b":1}'),
            id="non-strings",
        ),
        pytest.param(
            MISSING, MISSING, P("UNSPECIFIED", None, "UNSPECIFIED", None), id="both-missing"
        ),
    ],
)
def test_privilege_from_text(relationship: object, type_: object, expected: Privilege) -> None:
    assert privilege_from(relationship, type_) == expected


def test_type_holding_a_relationship_word_through_an_event(model: ReferenceModel) -> None:
    changes = model.event(event("users.created", contact("c1", rel("s1", "", "Grandparent"))))
    assert changes[0].after == Privilege("GRANDPARENT", "", "UNSPECIFIED", "Grandparent")
    # Same symbols, but the UNSPECIFIED type's raw text went from "Grandparent" to "".
    changes = model.event(event("users.updated", contact("c1", rel("s1", "Grandparent", ""))))
    assert summary(changes) == [(CHANGED, "c1", "s1")]


def test_student_deleted_while_listed_then_recreated(model: ReferenceModel) -> None:
    model.event(event("users.created", contact("c1", rel("s1"))))
    deletion = event("users.deleted", student("s1"))
    changes = model.event(deletion)
    assert summary(changes) == [(REVOKED, "c1", "s1")]
    assert changes[0].cause == (CLEVER_EVENT, deletion["id"])
    # The listing is kept, but grants nothing while the student is gone.
    assert model.event(event("users.updated", contact("c1", rel("s1", "Self")))) == []
    recreation = event("users.created", student("s1"))
    changes = model.event(recreation)
    assert summary(changes) == [(GRANTED, "c1", "s1")]
    assert changes[0].after == Privilege("SELF", "Self", "PARENT_GUARDIAN", "Parent/Guardian")
    assert changes[0].cause == (CLEVER_EVENT, recreation["id"])


def test_contact_listing_a_student_before_it_exists(model: ReferenceModel) -> None:
    assert model.event(event("users.created", contact("c1", rel("s9")))) == []
    creation = event("users.updated", student("s9"))
    assert summary(model.event(creation)) == [(GRANTED, "c1", "s9")]


def test_an_event_id_applies_once(model: ReferenceModel) -> None:
    first = event("users.created", contact("c1", rel("s1")), event_id="dup")
    assert summary(model.event(first)) == [(GRANTED, "c1", "s1")]
    assert model.event(first) == []  # adjacent copy
    model.event(event("users.updated", contact("c1", rel("s1"), rel("s2"))))
    # A later copy changes nothing, whatever it holds.
    assert model.event(event("users.deleted", contact("c1"), event_id="dup")) == []
    assert set(model.live) == {("c1", "s1"), ("c1", "s2")}


def test_an_event_without_an_id_applies_every_time(model: ReferenceModel) -> None:
    no_id = event("users.deleted", student("s1"))
    del no_id["id"]
    model.event(event("users.created", contact("c1", rel("s1"))))
    assert summary(model.event(no_id)) == [(REVOKED, "c1", "s1")]
    model.event(event("users.created", student("s1")))
    changes = model.event(no_id)
    assert summary(changes) == [(REVOKED, "c1", "s1")]
    assert changes[0].cause == (CLEVER_EVENT, None)


def test_event_types_ignore_case_and_surrounding_whitespace(model: ReferenceModel) -> None:
    assert summary(model.event(event(" Users.CREATED ", contact("c1", rel("s1"))))) == [
        (GRANTED, "c1", "s1")
    ]
    assert model.event(event("schools.deleted", student("s1"))) == []
    assert model.event(event("users.archived", student("s1"))) == []


def test_resync_revokes_a_missing_contact_and_a_missing_student(model: ReferenceModel) -> None:
    model.event(event("users.created", contact("c1", rel("s1"), rel("s2"))))
    model.event(event("users.created", contact("c2", rel("s1"))))
    assert model.sync_started("sync1") == []
    assert model.snapshot("sync1", "users", student("s1")) == []
    assert model.snapshot("sync1", "users", contact("c1", rel("s1"), rel("s2"))) == []
    changes = model.sync_completed("sync1")
    assert summary(changes) == [(REVOKED, "c1", "s2"), (REVOKED, "c2", "s1")]
    assert {c.cause for c in changes} == {(SYNC_RECONCILIATION, "sync1")}
    assert set(model.live) == {("c1", "s1")}
    # The gone student comes back with an event: c1's kept listing grants it again.
    assert summary(model.event(event("users.created", student("s2")))) == [(GRANTED, "c1", "s2")]


def test_the_sync_rule_blocks_grants_from_stale_records(model: ReferenceModel) -> None:
    model.event(event("users.created", contact("c1", rel("s1"))))
    model.event(event("users.deleted", student("s1")))
    model.event(event("users.created", student("s3")))
    model.sync_started("sync1")
    # s1 is back in the snapshot, but c1's listing of it is stale until c1's record comes.
    assert model.snapshot("sync1", "users", student("s1")) == []
    # c1's snapshot record lists s3, which the snapshot has not shown (yet): no grant.
    assert model.snapshot("sync1", "users", contact("c1", rel("s3"))) == []
    # c2 lists s1, and both ends have been seen: granted, caused by the snapshot record.
    changes = model.snapshot("sync1", "users", contact("c2", rel("s1")))
    assert summary(changes) == [(GRANTED, "c2", "s1")]
    assert changes[0].cause == (SYNC_SNAPSHOT, "sync1")
    # s3 never shown: gone at the end, and nothing was ever granted for it.
    assert model.sync_completed("sync1") == []
    assert set(model.live) == {("c2", "s1")}


def test_sync_completed_of_another_sync_changes_nothing(model: ReferenceModel) -> None:
    model.event(event("users.created", contact("c1", rel("s1"))))
    model.sync_started("sync1")
    model.snapshot("sync1", "users", student("s1"))
    assert model.sync_completed("other") == []
    assert set(model.live) == {("c1", "s1")}
    # sync1 is still open: its own end reconciles.
    assert summary(model.sync_completed("sync1")) == [(REVOKED, "c1", "s1")]


def test_sync_started_while_open_abandons_the_open_sync(model: ReferenceModel) -> None:
    model.event(event("users.created", contact("c1", rel("s1"), rel("s2"))))
    model.sync_started("old")
    model.snapshot("old", "users", student("s2"))
    assert model.sync_started("new") == []
    assert model.sync_completed("old") == []
    model.snapshot("new", "users", student("s1"))
    model.snapshot("new", "users", contact("c1", rel("s1"), rel("s2")))
    # Only the new sync's snapshot counts: s2, shown by the abandoned one alone, is gone.
    assert summary(model.sync_completed("new")) == [(REVOKED, "c1", "s2")]


def test_v21_contact_gives_each_student_its_relationship_and_type() -> None:
    model = ReferenceModel()
    model.event(event("students.created", {"id": "s1", "name": {"first": "A"}}))
    v21 = {
        "id": "c1",
        "name": "Pat Doe",
        "relationship": "grandparent",
        "type": "Emergency",
        "students": ["s1", "s2", "", None],
    }
    changes = model.event(event("contacts.created", v21))
    grandparent = Privilege("GRANDPARENT", "grandparent", "EMERGENCY", "Emergency")
    assert [(c.kind, c.student_id, c.after) for c in changes] == [(GRANTED, "s1", grandparent)]
    assert summary(model.snapshot("x", "students", {"id": "s2"})) == [(GRANTED, "c1", "s2")]
    assert summary(model.event(event("contacts.deleted", {"id": "c1"}))) == [
        (REVOKED, "c1", "s1"),
        (REVOKED, "c1", "s2"),
    ]


def test_a_user_with_both_roles_and_a_deletion_without_roles() -> None:
    model = ReferenceModel()
    both = {"id": "u1", "roles": {"student": {}, "contact": {"student_relationships": []}}}
    model.event(event("users.created", both))
    changes = model.event(event("users.updated", contact("u1", rel("u1", "Self", "Primary"))))
    # An update without roles.student is no student event: the student stays.
    assert summary(changes) == [(GRANTED, "u1", "u1")]
    changes = model.event(event("users.deleted", {"id": "u1"}))
    assert summary(changes) == [(REVOKED, "u1", "u1")]
    assert model.event(event("users.created", student("u1"))) == []  # the contact went too


def test_a_null_contact_role_lists_no_students(model: ReferenceModel) -> None:
    model.event(event("users.created", contact("c1", rel("s1"), "junk", {"student": " "})))
    assert set(model.live) == {("c1", "s1")}
    changes = model.event(event("users.updated", {"id": "c1", "roles": {"contact": None}}))
    assert summary(changes) == [(REVOKED, "c1", "s1")]


def test_a_student_listed_twice_is_outside_the_model(model: ReferenceModel) -> None:
    with pytest.raises(ValueError, match="outside the model"):
        model.event(event("users.created", contact("c1", rel("s1"), rel("s1", "Other"))))
