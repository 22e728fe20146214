"""The engine's web server: the query views, answered by the worker that owns the district.

Any worker can be asked. A district's raw partition is found as the poller's producer finds
it (Kafka's default partitioner on the district key); the worker owning that partition
answers from its committed tables, never from an open transaction. Any other worker
forwards the request to the owner's URL, which the group's assignor shares with every
member (``streams.engines.native.assignor``). A partition being taken over (restored) or owned by
nobody yet answers 503 with ``Retry-After``: a caller deciding access must not get a
guess. ``/router`` shows the assignment, for operators and tests.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final, Protocol

import aiohttp
from aiohttp import web
from aiokafka.partitioner import DefaultPartitioner

from foundation.probes import add_probes
from schemas.keys import district_key
from streams.metrics import WorkerMetrics
from streams.views import (
    UNAUTHORIZED,
    CommittedState,
    authorized,
    contacts_of_student_body,
    students_of_contact_body,
)

logger = logging.getLogger(__name__)

#: Set on a forwarded request, so that a worker never forwards it again.
FORWARDED_HEADER: Final = "X-Clever-Stream-Forwarded"
_RETRY_AFTER_S: Final = "1"
_FORWARD_TIMEOUT_S: Final = 10.0


class Owners(Protocol):
    """Who owns which raw partition, as the last assignment said."""

    def owner_url(self, topic: str, partition: int) -> str | None: ...


class LocalState(Protocol):
    """The engine, as the views see it."""

    @property
    def raw_topic(self) -> str: ...

    @property
    def metrics(self) -> WorkerMetrics: ...

    def is_ready(self) -> bool: ...

    def committed_store(self, partition: int) -> CommittedState | None: ...


Body = Callable[[CommittedState, str, str], dict[str, Any]]


class ViewsServer:
    """An aiohttp server of the query views over one engine."""

    def __init__(
        self,
        engine: LocalState,
        owners: Owners,
        *,
        raw_partitions: int,
        token: str | None = None,
    ) -> None:
        self._engine = engine
        self._token = token
        self._owners = owners
        self._partitions = list(range(raw_partitions))
        self._partitioner = DefaultPartitioner()
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None
        app = web.Application()
        app.router.add_get(
            "/districts/{district}/students/{student}/contacts",
            self._view(contacts_of_student_body, "student"),
        )
        app.router.add_get(
            "/districts/{district}/contacts/{contact}/students",
            self._view(students_of_contact_body, "contact"),
        )
        app.router.add_get("/router", self._router)
        # Ready: every partition this worker owns is restored and processing runs.
        add_probes(app, registry=engine.metrics.registry, readiness=lambda: (engine.is_ready(), {}))
        self.app = app

    async def start(self, host: str, port: int) -> None:
        self._client = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=_FORWARD_TIMEOUT_S)
        )
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        logger.info("query views on http://%s:%d", host, port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._client is not None:
            await self._client.close()
            self._client = None

    def partition_of(self, district: str) -> int:
        """The raw partition of ``district``'s records."""
        partition: int = self._partitioner(
            district_key(district), self._partitions, self._partitions
        )
        return partition

    def _view(
        self, body: Body, subject: str
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def view(request: web.Request) -> web.StreamResponse:
            if not authorized(request.headers.get("Authorization"), self._token):
                return web.json_response(
                    UNAUTHORIZED, status=401, headers={"WWW-Authenticate": "Bearer"}
                )
            district = request.match_info["district"]
            partition = self.partition_of(district)
            store = self._engine.committed_store(partition)
            if store is not None:
                return web.json_response(body(store, district, request.match_info[subject]))
            return await self._forward(request, partition)

        return view

    async def _forward(self, request: web.Request, partition: int) -> web.StreamResponse:
        owner = self._owners.owner_url(self._engine.raw_topic, partition)
        if owner is None or request.headers.get(FORWARDED_HEADER) or self._client is None:
            return _unavailable(f"raw partition {partition} has no ready owner; retry shortly")
        try:
            async with self._client.get(
                owner.rstrip("/") + request.rel_url.raw_path_qs,
                headers=_forwarded(request.headers.get("Authorization")),
            ) as answer:
                return web.Response(
                    status=answer.status,
                    body=await answer.read(),
                    content_type=answer.content_type,
                    headers={k: v for k, v in answer.headers.items() if k == "Retry-After"},
                )
        except (aiohttp.ClientError, TimeoutError) as error:
            logger.warning("forwarding to the owner of raw partition %d failed: %s",
                           partition, type(error).__name__)  # fmt: skip
            return _unavailable(f"the owner of raw partition {partition} did not answer")

    async def _router(self, request: web.Request) -> web.StreamResponse:
        topic = self._engine.raw_topic
        owners = {str(p): self._owners.owner_url(topic, p) for p in self._partitions}
        local = [p for p in self._partitions if self._engine.committed_store(p) is not None]
        return web.json_response({"partitions": owners, "ready_here": local})


def _forwarded(authorization: str | None) -> dict[str, str]:
    """The headers of a request forwarded to the owner: marked, with the caller's token."""
    headers = {FORWARDED_HEADER: "1"}
    if authorization is not None:
        headers["Authorization"] = authorization
    return headers


def _unavailable(reason: str) -> web.Response:
    return web.json_response({"error": reason}, status=503, headers={"Retry-After": _RETRY_AFTER_S})
