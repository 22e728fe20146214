"""The one HTTP client of a poller process, shared by every district.

Connections to Clever are pooled across districts, so the pool and its timeouts are set once
here. The client carries no token: each district's bearer token goes on its own requests
(``CleverClient``), so one district can never send another's.

The client is httpx's API over aiohttp's connections (``httpx-aiohttp``): a poller of
thousands of districts spends its CPU at rest on small events polls, and httpx's own
transport takes 2.5 times the CPU per request (``python -m bench.http_client``), in anyio's
cancel scopes and in its pool checking every idle connection's socket on each request.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

_PRODUCT = "clever-stream-poller/0.1"


@dataclass(frozen=True, kw_only=True)
class HttpOptions:
    """Plain values of the HTTP client; the poller's settings fill them."""

    base_url: str = "https://api.clever.com"
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 30.0
    pool_timeout_s: float = 10.0
    #: Connections to Clever at most; each is kept open while it is used at least every 5 s.
    max_connections: int = 20
    #: Names this poller in its User-Agent, so Clever's logs (and the fake's) tell the
    #: pollers of a fleet apart.
    instance_id: str | None = None

    def __post_init__(self) -> None:
        for name in ("connect_timeout_s", "read_timeout_s", "pool_timeout_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        if not self.base_url.startswith(("https://", "http://")):
            raise ValueError("base_url must be an http(s) URL")


def user_agent(instance_id: str | None) -> str:
    """``clever-stream-poller/<version> (<instance id>)``, or without the instance."""
    return f"{_PRODUCT} ({instance_id})" if instance_id else _PRODUCT


class CleverTransport(AiohttpTransport):
    """aiohttp's connections under httpx, failures named as httpx names them.

    ``httpx-aiohttp`` maps every aiohttp connection error to ``httpx.ConnectTimeout``, so a
    refused connection or a server closing one mid-answer would be reported as a timeout;
    those are re-raised as the errors httpx's own transport raises for them.
    """

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await super().handle_async_request(request)
        except httpx.ConnectTimeout as error:
            cause = error.__cause__
            if isinstance(cause, TimeoutError):  # aiohttp's timeouts are TimeoutErrors
                raise
            if isinstance(cause, aiohttp.ServerDisconnectedError):
                raise httpx.RemoteProtocolError(str(cause)) from cause
            if isinstance(cause, aiohttp.ClientConnectorError):
                raise httpx.ConnectError(str(cause)) from cause
            if isinstance(cause, aiohttp.ClientConnectionError):
                raise httpx.NetworkError(str(cause)) from cause
            raise


def new_transport(options: HttpOptions) -> httpx.AsyncBaseTransport:
    """The pooled connections to Clever: at most ``max_connections``, idle ones kept 5 s."""
    return CleverTransport(limits=httpx.Limits(max_connections=options.max_connections))


def new_http_client(
    options: HttpOptions, *, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """The process's ``httpx.AsyncClient`` for Clever; close it (``async with``) on shutdown.

    ``transport`` replaces the network (``httpx.MockTransport`` in tests). Redirects are not
    followed: Clever does not redirect API calls, and following one would carry a district's
    token to wherever it pointed.
    """
    return httpx.AsyncClient(
        base_url=options.base_url,
        # Writes are small GETs: the read timeout bounds them too.
        timeout=httpx.Timeout(
            options.read_timeout_s,
            connect=options.connect_timeout_s,
            pool=options.pool_timeout_s,
        ),
        headers={"Accept": "application/json", "User-Agent": user_agent(options.instance_id)},
        follow_redirects=False,
        transport=transport if transport is not None else new_transport(options),
    )
