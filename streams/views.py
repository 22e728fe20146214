"""The query views' answers, built from a partition's committed tables (both engines).

Each engine serves them on its own web server, from the worker that owns the district
(``streams.engines.native.web``, ``streams.engines.faust.views``). Answers carry IDs,
relationships and contact types: what a consumer needs to decide access, and no personal
data.
"""

from __future__ import annotations

import hmac
from typing import Any, Protocol

from schemas.records import ContactSnapshot, Privilege
from streams.processor.store import ContactGrants, StudentEntry


def authorized(header: str | None, token: str | None) -> bool:
    """Whether an ``Authorization`` header carries ``token`` as a bearer token (always, when
    no token is required); compared in constant time, so timing tells nothing of it."""
    if token is None:
        return True
    expected = f"Bearer {token}".encode()
    return hmac.compare_digest((header or "").encode(), expected)


#: The answer to a request without the right token.
UNAUTHORIZED = {"error": "the query views need Authorization: Bearer <CLEVER_WORKER_VIEWS_TOKEN>"}


class CommittedState(Protocol):
    """The reads the views make of a partition's committed tables."""

    def get_contact(self, district_id: str, contact_id: str) -> ContactSnapshot | None: ...

    def get_student(self, district_id: str, student_id: str) -> StudentEntry | None: ...

    def get_grants(self, district_id: str, contact_id: str) -> ContactGrants | None: ...


def _privilege(privilege: Privilege) -> dict[str, Any]:
    return {
        "relationship": str(privilege.relationship),
        "relationship_raw": privilege.relationship_raw,
        "contact_type": str(privilege.contact_type),
        "contact_type_raw": privilege.contact_type_raw,
    }


def _live_students(store: CommittedState, district: str, contact: str) -> frozenset[str]:
    """The students a contact may see: its live pairs (a listed student may not exist)."""
    grants = store.get_grants(district, contact)
    return frozenset(grant.student_id for grant in grants.grants) if grants else frozenset()


def students_of(snapshot: ContactSnapshot, live: frozenset[str]) -> list[dict[str, Any]]:
    """The students of ``live`` that a contact lists, with the privilege for each."""
    return [
        {"student_id": relation.student_id, **_privilege(relation.privilege)}
        for relation in sorted(snapshot.relationships, key=lambda r: r.student_id)
        if relation.student_id in live
    ]


def contacts_of_student_body(store: CommittedState, district: str, student: str) -> dict[str, Any]:
    """The answer of ``/districts/{district}/students/{student}/contacts``: the contacts
    that may see the student (none while it does not exist)."""
    contacts = []
    entry = store.get_student(district, student)
    for contact_id in sorted(entry.listed_by if entry is not None and entry.exists else ()):
        snapshot = store.get_contact(district, contact_id)
        if snapshot is None or student not in _live_students(store, district, contact_id):
            continue
        relation = next((r for r in snapshot.relationships if r.student_id == student), None)
        if relation is not None:
            contacts.append({"contact_id": contact_id, **_privilege(relation.privilege)})
    return {"district_id": district, "student_id": student, "contacts": contacts}


def students_of_contact_body(store: CommittedState, district: str, contact: str) -> dict[str, Any]:
    """The answer of ``/districts/{district}/contacts/{contact}/students``."""
    snapshot = store.get_contact(district, contact)
    live = _live_students(store, district, contact)
    students = students_of(snapshot, live) if snapshot else []
    return {"district_id": district, "contact_id": contact, "students": students}
