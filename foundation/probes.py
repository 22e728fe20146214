"""``/metrics``, ``/health`` and ``/ready`` on an aiohttp application: one shape for every
process served by aiohttp (the poller, the native worker; Faust serves its own).

``/health`` answers 200 while the process runs. ``/ready`` answers 200 or 503 as the
process's readiness says, with its body; ``/metrics`` is Prometheus' text format of the
process's registry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

#: Whether the process is ready, and what ``/ready`` says besides.
Readiness = Callable[[], tuple[bool, Mapping[str, Any]]]


def add_probes(app: web.Application, *, registry: CollectorRegistry, readiness: Readiness) -> None:
    """Add ``/metrics``, ``/health`` and ``/ready`` to ``app``."""

    async def metrics(request: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def ready(request: web.Request) -> web.Response:
        now, body = readiness()
        return web.json_response({"ready": now, **body}, status=200 if now else 503)

    app.router.add_get("/metrics", metrics)
    app.router.add_get("/health", health)
    app.router.add_get("/ready", ready)
