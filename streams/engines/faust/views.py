"""The query views on Faust's web server.

``table_route`` sends a request to the worker holding the partition of its district key
(the raw topic's key), so any worker can be asked; the answers are ``streams.views``'s.
"""

from __future__ import annotations

import faust
from faust.web import Request, Response, View

from streams.engines.faust.tables import WorkerTables
from streams.views import CommittedState, contacts_of_student_body, students_of_contact_body


def register_views(app: faust.App, *, tables: WorkerTables, store: CommittedState) -> None:
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
