"""Query views on the worker's web server, answered by the worker that owns the district.

The answers are built here for both engines; this module serves them on Faust's web
server, ``streams.engine.web`` on the engine's. Under Faust, ``table_route`` sends a
request to the worker holding the partition of its district key (the raw topic's key), so
any worker can be asked. Answers carry IDs, relationships and
contact types: what a consumer needs to decide access, and no personal data.
"""

from __future__ import annotations

from typing import Any

import faust
from faust.web import Request, Response, View

from schemas.records import ContactSnapshot, Privilege
from streams.store import TableStore
from streams.tables import WorkerTables


def _privilege(privilege: Privilege) -> dict[str, Any]:
    return {
        "relationship": str(privilege.relationship),
        "relationship_raw": privilege.relationship_raw,
        "contact_type": str(privilege.contact_type),
        "contact_type_raw": privilege.contact_type_raw,
    }


def _live_students(store: TableStore, district: str, contact: str) -> frozenset[str]:
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


def contacts_of_student_body(store: TableStore, district: str, student: str) -> dict[str, Any]:
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


def students_of_contact_body(store: TableStore, district: str, contact: str) -> dict[str, Any]:
    """The answer of ``/districts/{district}/contacts/{contact}/students``."""
    snapshot = store.get_contact(district, contact)
    live = _live_students(store, district, contact)
    students = students_of(snapshot, live) if snapshot else []
    return {"district_id": district, "contact_id": contact, "students": students}


def register_views(app: faust.App, *, tables: WorkerTables, store: TableStore) -> None:
    """``/districts/{district}/students/{student}/contacts`` and ``.../contacts/{c}/students``."""

    @app.page("/districts/{district}/students/{student}/contacts")
    @app.table_route(table=tables.contacts, match_info="district")
    async def contacts_of_student(
        web: View, request: Request, district: str, student: str
    ) -> Response:
        return web.json(contacts_of_student_body(store, district, student))

    @app.page("/districts/{district}/contacts/{contact}/students")
    @app.table_route(table=tables.contacts, match_info="district")
    async def students_of_contact(
        web: View, request: Request, district: str, contact: str
    ) -> Response:
        return web.json(students_of_contact_body(store, district, contact))
