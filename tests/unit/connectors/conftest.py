"""Factories for the client's unit tests: a scripted Clever behind ``httpx.MockTransport``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from connectors.client import CleverClient
from connectors.http import HttpOptions, new_http_client
from connectors.retry import RetryPolicy

#: A token shaped like a real one, so a leak into logs or errors is easy to spot.
TOKEN = "tok9f3c2a7be1d44e0b8c6a5f0d2e7b91aa"  # noqa: S105 - a made-up token

Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def envelope(
    objects: Sequence[dict[str, Any]],
    *,
    next_uri: str | None = None,
    links: bool = True,
    version: str = "v3.0",
) -> dict[str, Any]:
    """A list body as Clever sends it: items wrapped in ``data`` with their ``uri``."""
    body: dict[str, Any] = {
        "data": [{"data": obj, "uri": f"/{version}/things/{obj.get('id')}"} for obj in objects]
    }
    if links:
        body["links"] = [{"rel": "self", "uri": f"/{version}/things"}]
        if next_uri is not None:
            body["links"].append({"rel": "next", "uri": next_uri})
    return body


def ok(body: Any) -> httpx.Response:
    """A 200 with ``body`` as JSON."""
    return httpx.Response(200, content=json.dumps(body).encode())


def status(code: int, body: Any = None, **headers: str) -> httpx.Response:
    """A response with ``code``, an optional JSON body and headers."""
    content = b"" if body is None else json.dumps(body).encode()
    return httpx.Response(code, content=content, headers=headers)


@dataclass
class ScriptedClever:
    """Answers each request with the next scripted answer and keeps the requests."""

    answers: list[Answer]
    requests: list[httpx.Request] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self.answers:
            raise AssertionError(f"unexpected request {request.url}")
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx.Response):
            return answer
        return answer(request)

    @property
    def targets(self) -> list[str]:
        """``path?query`` of each request, decoded."""
        return [
            f"{r.url.path}?{r.url.query.decode()}" if r.url.query else r.url.path
            for r in self.requests
        ]


@dataclass
class Harness:
    """A client over a scripted Clever, with the waits it asked for."""

    client: CleverClient
    clever: ScriptedClever
    sleeps: list[float]


HarnessFactory = Callable[..., Harness]


@pytest.fixture
async def make_client() -> AsyncIterator[HarnessFactory]:
    """A factory: ``make_client(*answers, api_version=, retry=, sleep=)``; closes what it made."""
    opened: list[httpx.AsyncClient] = []

    def make(
        *answers: Answer,
        api_version: str = "v3.0",
        retry: RetryPolicy | None = None,
        district_label: str | None = "d-1",
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> Harness:
        clever = ScriptedClever(list(answers))
        http = new_http_client(HttpOptions(), transport=httpx.MockTransport(clever.handle))
        opened.append(http)
        sleeps: list[float] = []

        async def record(seconds: float) -> None:
            sleeps.append(seconds)

        client = CleverClient(
            http,
            token=TOKEN,
            api_version=api_version,
            retry=retry or RetryPolicy(),
            district_label=district_label,
            sleep=sleep or record,
        )
        return Harness(client=client, clever=clever, sleeps=sleeps)

    yield make
    for http in opened:
        await http.aclose()
