"""The shared HTTP client: Clever's host, the timeouts and pool as set, and no token on it."""

from __future__ import annotations

import httpx
import pytest

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
        {"max_keepalive_connections": 21},
        {"base_url": "api.clever.com"},
    ],
    ids=["connect-timeout", "read-timeout", "pool", "keepalive-over-pool", "no-scheme"],
)
def test_nonsense_options_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="must"):
        HttpOptions(**changes)  # type: ignore[arg-type]  # values of several types on purpose
