"""The one HTTP client of a poller process, shared by every district.

Connections to Clever are pooled across districts, so the pool and its timeouts are set once
here. The client carries no token: each district's bearer token goes on its own requests
(``CleverClient``), so one district can never send another's.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

_PRODUCT = "clever-stream-poller/0.1"


@dataclass(frozen=True, kw_only=True)
class HttpOptions:
    """Plain values of the HTTP client; the poller's settings fill them."""

    base_url: str = "https://api.clever.com"
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 30.0
    pool_timeout_s: float = 10.0
    max_connections: int = 20
    max_keepalive_connections: int = 10
    #: Names this poller in its User-Agent, so Clever's logs (and the fake's) tell the
    #: pollers of a fleet apart.
    instance_id: str | None = None

    def __post_init__(self) -> None:
        for name in ("connect_timeout_s", "read_timeout_s", "pool_timeout_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        if not 0 <= self.max_keepalive_connections <= self.max_connections:
            raise ValueError("max_keepalive_connections must be within 0..max_connections")
        if not self.base_url.startswith(("https://", "http://")):
            raise ValueError("base_url must be an http(s) URL")


def user_agent(instance_id: str | None) -> str:
    """``clever-stream-poller/<version> (<instance id>)``, or without the instance."""
    return f"{_PRODUCT} ({instance_id})" if instance_id else _PRODUCT


def new_http_client(
    options: HttpOptions, *, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """The process's ``httpx.AsyncClient`` for Clever; close it (``async with``) on shutdown.

    ``transport`` replaces the network (``httpx.MockTransport`` in tests); the pool limits
    then belong to that transport. Redirects are not followed: Clever does not redirect API
    calls, and following one would carry a district's token to wherever it pointed.
    """
    return httpx.AsyncClient(
        base_url=options.base_url,
        # Writes are small GETs: the read timeout bounds them too.
        timeout=httpx.Timeout(
            options.read_timeout_s,
            connect=options.connect_timeout_s,
            pool=options.pool_timeout_s,
        ),
        limits=httpx.Limits(
            max_connections=options.max_connections,
            max_keepalive_connections=options.max_keepalive_connections,
        ),
        headers={"Accept": "application/json", "User-Agent": user_agent(options.instance_id)},
        follow_redirects=False,
        transport=transport,
    )
