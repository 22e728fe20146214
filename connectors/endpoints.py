"""The poller's HTTP endpoints: ``/metrics`` for Prometheus, ``/health`` and ``/ready``.

``/health`` answers while the process runs. ``/ready`` answers 200 when every district polls
(Clever answered it within a few poll intervals) and 503 otherwise, with each district's
state in the body, so an orchestrator and an operator both see which district is failing
and why (a refused token, say).
"""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from connectors.runner import PollerRunner
from foundation.exceptions import ConfigurationError


class PollerEndpoints:
    """An aiohttp server of one runner's metrics and probes."""

    def __init__(self, runner: PollerRunner) -> None:
        self._runner = runner
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/health", self._health)
        app.router.add_get("/ready", self._ready)
        self._site_runner = web.AppRunner(app, access_log=None)

    async def start(self, host: str, port: int) -> None:
        await self._site_runner.setup()
        try:
            await web.TCPSite(self._site_runner, host, port).start()
        except OSError as error:
            await self._site_runner.cleanup()
            raise ConfigurationError(
                f"the poller cannot listen on {host}:{port} ({error.strerror})",
                hint="set CLEVER_POLLER_HTTP_PORT to a free port (0 turns the endpoints off)",
            ) from None

    async def stop(self) -> None:
        await self._site_runner.cleanup()

    async def _metrics(self, request: web.Request) -> web.Response:
        body = generate_latest(self._runner.metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _ready(self, request: web.Request) -> web.Response:
        ready, districts = self._runner.readiness()
        return web.json_response(
            {"ready": ready, "districts": districts}, status=200 if ready else 503
        )
