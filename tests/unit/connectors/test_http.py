"""The shared HTTP client: Clever's host, the timeouts and pool as set, no token on it, and
its failures named as httpx names them (a refused connection is no timeout)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from aiohttp import web

from connectors.http import HttpOptions, new_http_client


async def test_the_client_carries_the_options_and_no_token() -> None:
    options = HttpOptions(
        base_url="http://127.0.0.1:9", connect_timeout_s=1.5, read_timeout_s=7.0, pool_timeout_s=2.0
    )
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"data": []})

    async with new_http_client(options, transport=httpx.MockTransport(handle)) as http:
        assert str(http.base_url).rstrip("/") == "http://127.0.0.1:9"
        assert http.timeout == httpx.Timeout(7.0, connect=1.5, pool=2.0)
        assert not http.follow_redirects
        assert "authorization" not in http.headers
        await http.get("/v3.0/users")

    assert seen[0].url == httpx.URL("http://127.0.0.1:9/v3.0/users")
    assert seen[0].headers["accept"] == "application/json"


async def test_the_default_is_clevers_host() -> None:
    async with new_http_client(HttpOptions()) as http:
        assert http.base_url == httpx.URL("https://api.clever.com")


@pytest.mark.parametrize(
    "changes",
    [
        {"connect_timeout_s": 0},
        {"read_timeout_s": -1},
        {"max_connections": 0},
        {"base_url": "api.clever.com"},
    ],
    ids=["connect-timeout", "read-timeout", "pool", "no-scheme"],
)
def test_nonsense_options_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="must"):
        HttpOptions(**changes)  # type: ignore[arg-type]  # values of several types on purpose


@asynccontextmanager
async def serving(routes: web.RouteTableDef) -> AsyncIterator[str]:
    """A loopback HTTP server of ``routes``; its base URL."""
    app = web.Application()
    app.add_routes(routes)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then let go)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_the_pooled_client_reads_answers_and_reuses_its_connections() -> None:
    routes = web.RouteTableDef()
    peers: set[object] = set()

    @routes.get("/v3.0/events")
    async def events(request: web.Request) -> web.Response:
        peers.add(request.transport.get_extra_info("peername") if request.transport else None)
        return web.json_response({"data": [], "links": []})

    async with (
        serving(routes) as base_url,
        new_http_client(HttpOptions(base_url=base_url, max_connections=2)) as http,
    ):
        answers = await asyncio.gather(*(http.get("/v3.0/events") for _ in range(20)))
    assert {answer.status_code for answer in answers} == {200}
    assert answers[0].json() == {"data": [], "links": []}
    assert len(peers) <= 2  # the pool's bound: 20 requests over at most 2 connections


async def test_a_refused_connection_is_a_connect_error_not_a_timeout() -> None:
    options = HttpOptions(base_url=f"http://127.0.0.1:{closed_port()}")
    async with new_http_client(options) as http:
        with pytest.raises(httpx.ConnectError):
            await http.get("/v3.0/events")


async def test_a_body_cut_short_is_a_transport_error_not_a_timeout() -> None:
    routes = web.RouteTableDef()

    @routes.get("/v3.0/events")
    async def cut(request: web.Request) -> web.StreamResponse:
        answer = web.StreamResponse(headers={"Content-Length": "100"})
        await answer.prepare(request)
        await answer.write(b'{"data": [')
        assert request.transport is not None
        request.transport.close()
        return answer

    async with (
        serving(routes) as base_url,
        new_http_client(HttpOptions(base_url=base_url)) as http,
    ):
        with pytest.raises(httpx.TransportError) as raised:
            await http.get("/v3.0/events")
    assert not isinstance(raised.value, httpx.TimeoutException)


async def test_a_slow_answer_is_a_read_timeout() -> None:
    routes = web.RouteTableDef()
    answered = asyncio.Event()

    @routes.get("/v3.0/events")
    async def slow(request: web.Request) -> web.Response:
        await answered.wait()  # until the client gave up
        return web.json_response({"data": []})

    async with serving(routes) as base_url:
        options = HttpOptions(base_url=base_url, read_timeout_s=0.2)
        async with new_http_client(options) as http:
            with pytest.raises(httpx.ReadTimeout):
                await http.get("/v3.0/events")
        answered.set()
