"""Hypothesis strategies for the privilege core: any JSON, messy contacts, overlapping pairs."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from schemas.records import Privilege
from schemas.values import ContactType, Relationship
from tests.strategies import privileges

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(["", " ", "Parent", "parent", "guardian", "Emergency", "Other", "other"])
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)

#: Clever's values, SIS spellings of them, and junk, for relationship and type fields.
RELATIONSHIP_TEXTS = ("Parent", "Grandparent", "Self", "Aunt/Uncle", "Sibling", "Other", "")
TYPE_TEXTS = ("Parent/Guardian", "Emergency", "Primary", "Secondary", "Family", "Other", "")
SIS_TEXTS = ("guardian", "legal_guardian", "emergency_contact", "emergency", "parent", "Mother")
field_values = st.sampled_from((*RELATIONSHIP_TEXTS, *TYPE_TEXTS, *SIS_TEXTS)) | json_values

STUDENT_IDS = ("s1", "s2", "s3", "s4", "s5")
student_ids = st.sampled_from(STUDENT_IDS)

relationship_entries = (
    st.fixed_dictionaries(
        {},
        optional={
            "student": student_ids | json_values,
            "relationship": field_values,
            "type": field_values,
        },
    )
    | json_values
)

USER_KEYS = ("id", "district", "roles", "name", "email", "contact", "student", "teacher")
ROLE_KEYS = ("student_relationships", "sis_id", "legacy_id", "phone_type", "phone")


def _messy_dict(keys: tuple[str, ...], values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.dictionaries(st.sampled_from(keys) | st.text(max_size=6), values, max_size=6)


contact_roles = st.fixed_dictionaries(
    {},
    optional={
        "student_relationships": st.lists(relationship_entries, max_size=6) | json_values,
        "sis_id": json_values,
        "legacy_id": json_values,
        "phone_type": field_values,
    },
) | _messy_dict(ROLE_KEYS, json_values)

#: v3 users, mostly shaped like one, with anything anywhere.
v3_users = st.fixed_dictionaries(
    {},
    optional={
        "id": st.sampled_from(["c1", "c2", "", " "]) | json_values,
        "district": json_values,
        "roles": st.fixed_dictionaries(
            {}, optional={"contact": contact_roles | json_values, "student": json_values}
        )
        | json_values,
    },
) | _messy_dict(USER_KEYS, json_values)

#: A few privileges, so that old and new states share students and privileges.
FEW_PRIVILEGES = (
    Privilege(
        relationship=Relationship.PARENT,
        relationship_raw="Parent",
        contact_type=ContactType.PARENT_GUARDIAN,
        contact_type_raw="Parent/Guardian",
    ),
    Privilege(
        relationship=Relationship.PARENT,
        relationship_raw="parent",
        contact_type=ContactType.PARENT_GUARDIAN,
        contact_type_raw="Parent/Guardian",
    ),
    Privilege(relationship=Relationship.UNSPECIFIED, contact_type=ContactType.EMERGENCY),
)
some_privileges = st.sampled_from(FEW_PRIVILEGES) | privileges
pair_states = st.dictionaries(student_ids | st.text(max_size=4), some_privileges, max_size=6)
