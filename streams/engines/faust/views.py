"""The query views, metrics and probes on Faust's web server.

``table_route`` sends a request to the worker holding the partition of its district key
(the raw topic's key), so any worker can be asked; the answers are ``streams.views``'s.
"""

from __future__ import annotations

from collections.abc import Callable

import faust
from faust.web import Request, Response, View
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from streams.engines.faust.tables import WorkerTables
from streams.metrics import WorkerMetrics
from streams.views import (
    UNAUTHORIZED,
    CommittedState,
    authorized,
    contacts_of_student_body,
    students_of_contact_body,
)


def register_views(
    app: faust.App, *, tables: WorkerTables, store: CommittedState, token: str | None = None
) -> None:
    """``/districts/{district}/students/{student}/contacts`` and ``.../contacts/{c}/students``,
    refused (401) without ``token`` as a bearer token when one is set. Faust forwards a
    request to the partition's owner with its headers, the token included."""

    def refused(web: View, request: Request) -> Response | None:
        if authorized(request.headers.get("Authorization"), token):
            return None
        return web.json(UNAUTHORIZED, status=401, headers={"WWW-Authenticate": "Bearer"})

    @app.page("/districts/{district}/students/{student}/contacts")
    @app.table_route(table=tables.contacts, match_info="district")
    async def contacts_of_student(
        web: View, request: Request, district: str, student: str
    ) -> Response:
        return refused(web, request) or web.json(contacts_of_student_body(store, district, student))

    @app.page("/districts/{district}/contacts/{contact}/students")
    @app.table_route(table=tables.contacts, match_info="district")
    async def students_of_contact(
        web: View, request: Request, district: str, contact: str
    ) -> Response:
        return refused(web, request) or web.json(students_of_contact_body(store, district, contact))


def register_probes(app: faust.App, *, metrics: WorkerMetrics, ready: Callable[[], bool]) -> None:
    """``/metrics`` (Prometheus), ``/health``, and ``/ready`` (200 once the worker's
    partitions are recovered, 503 while they are not)."""

    @app.page("/metrics")
    async def metrics_page(web: View, request: Request) -> Response:
        # In the headers: aiohttp takes no parameters (the version, the charset) in
        # content_type.
        body = generate_latest(metrics.registry)
        return web.bytes(body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    @app.page("/health")
    async def health(web: View, request: Request) -> Response:
        return web.json({"status": "ok"})

    @app.page("/ready")
    async def readiness(web: View, request: Request) -> Response:
        now = ready()
        return web.json({"ready": now}, status=200 if now else 503)
