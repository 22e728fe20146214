"""The poller's HTTP endpoints: ``/metrics`` for Prometheus, ``/health`` and ``/ready``.

``/health`` answers while the process runs. ``/ready`` answers 200 when every district polls
(Clever answered it within a few poll intervals) and 503 otherwise, with each district's
state in the body, so an orchestrator and an operator both see which district is failing
and why (a refused token, say).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from connectors.runner import PollerRunner
from foundation.exceptions import ConfigurationError
from foundation.probes import add_probes


class PollerEndpoints:
    """An aiohttp server of one runner's metrics and probes."""

    def __init__(self, runner: PollerRunner) -> None:
        app = web.Application()

        def readiness() -> tuple[bool, dict[str, Any]]:
            ready, districts = runner.readiness()
            return ready, {"districts": districts}

        add_probes(app, registry=runner.metrics.registry, readiness=readiness)
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
