"""The retry policy: what is retried, how long each wait is, and what is raised at the end."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.client import CleverClient
from connectors.exceptions import (
    CleverApiError,
    CleverAuthError,
    CleverResponseError,
    CleverUnavailableError,
    CursorExpiredError,
)
from connectors.http import HttpOptions, new_http_client
from connectors.retry import (
    RetryableFailure,
    RetryPolicy,
    parse_rate_limit_reset,
    parse_retry_after,
)
from tests.unit.connectors.conftest import TOKEN, HarnessFactory, envelope, ok, status

NOW = datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC)
PAGE = envelope([{"id": "u1"}])


# The policy's arithmetic.


@given(
    attempt=st.integers(min_value=1, max_value=200),
    rand=st.floats(min_value=0.0, max_value=1.0, exclude_max=True),
    initial=st.floats(min_value=0.0, max_value=10.0),
    cap=st.floats(min_value=0.0, max_value=100.0),
    jitter=st.floats(min_value=0.0, max_value=1.0),
)
def test_a_backoff_is_jittered_down_and_never_over_the_cap(
    attempt: int, rand: float, initial: float, cap: float, jitter: float
) -> None:
    policy = RetryPolicy(initial_backoff_s=initial, max_backoff_s=cap, jitter=jitter)
    base = min(cap, initial * 2 ** min(attempt - 1, 62))

    wait = policy.backoff_s(attempt, rand=rand)

    assert base * (1 - jitter) - 1e-9 <= wait <= base + 1e-9
    assert wait <= cap + 1e-9


def test_backoff_doubles_up_to_the_cap() -> None:
    policy = RetryPolicy(initial_backoff_s=0.5, max_backoff_s=30.0, jitter=0.5)

    assert [policy.backoff_s(n, rand=0.0) for n in range(1, 9)] == [
        0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0,
    ]  # fmt: skip
    assert policy.backoff_s(3, rand=0.5) == 1.5


@pytest.mark.parametrize(
    ("asked", "waited"),
    [(45.0, 45.0), (500.0, 120.0), (0.0, 0.0), (-3.0, 0.0)],
    ids=["over-backoff-cap", "over-retry-after-cap", "zero", "negative"],
)
def test_clevers_wait_is_honoured_up_to_its_own_cap(asked: float, waited: float) -> None:
    failure = RetryableFailure("HTTP 429", status=429, retry_after_s=asked)

    assert RetryPolicy().delay_s(failure, 1, rand=0.9) == waited


@pytest.mark.parametrize(
    "changes",
    [{"max_attempts": 0}, {"jitter": 1.5}, {"jitter": -0.1}, {"initial_backoff_s": -1.0}],
    ids=["no-attempts", "jitter-over-one", "negative-jitter", "negative-backoff"],
)
def test_nonsense_policies_are_refused(changes: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must"):
        RetryPolicy(**changes)  # type: ignore[arg-type]  # ints and floats on purpose


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("7", 7.0),
        (" 2.5 ", 2.5),
        (format_datetime(NOW + timedelta(seconds=90), usegmt=True), 90.0),
        ("Mon, 02 Mar 2026 12:00:30 GMT", 30.0),
        (format_datetime(NOW - timedelta(hours=1), usegmt=True), 0.0),
        ("soon", None),
        ("", None),
        (None, None),
        ("inf", None),
    ],
    ids=[
        "seconds",
        "fraction",
        "http-date",
        "literal-date",
        "past",
        "word",
        "empty",
        "absent",
        "inf",
    ],
)
def test_retry_after_is_seconds_or_an_http_date(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, now=NOW) == seconds


def test_rate_limit_reset_counts_only_in_the_future() -> None:
    assert parse_rate_limit_reset("1030", now_s=1000.0) == 30.0
    assert parse_rate_limit_reset("990", now_s=1000.0) is None
    assert parse_rate_limit_reset("later", now_s=1000.0) is None
    assert parse_rate_limit_reset(None, now_s=1000.0) is None


# The client's requests under that policy.


async def test_429_waits_as_long_as_retry_after_says(make_client: HarnessFactory) -> None:
    run = make_client(status(429, **{"Retry-After": "7"}), ok(PAGE))

    page = await run.client.get_page("/users")

    assert page.items == ({"id": "u1"},)
    assert run.sleeps == [7.0]
    assert len(run.clever.requests) == 2


async def test_429_with_an_http_date_far_ahead_waits_the_longest_allowed(
    make_client: HarnessFactory,
) -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(hours=2), usegmt=True)
    run = make_client(
        status(429, **{"Retry-After": later}),
        ok(PAGE),
        retry=RetryPolicy(max_retry_after_s=60.0),
    )

    await run.client.get_page("/users")

    assert run.sleeps == [60.0]


async def test_429_without_retry_after_waits_for_the_rate_limit_reset(
    make_client: HarnessFactory,
) -> None:
    reset = str(int(time.time()) + 3600)  # far enough that the cap, not the clock, decides
    run = make_client(status(429, **{"X-RateLimit-Reset": reset}), ok(PAGE))

    await run.client.get_page("/users")

    assert run.sleeps == [120.0]


async def test_429_with_no_hint_backs_off(make_client: HarnessFactory) -> None:
    run = make_client(status(429), status(429), ok(PAGE))

    await run.client.get_page("/users")

    first, second = run.sleeps
    assert 0.25 <= first <= 0.5
    assert 0.5 <= second <= 1.0


@pytest.mark.parametrize("code", [500, 502, 503, 504])
async def test_a_5xx_is_retried(make_client: HarnessFactory, code: int) -> None:
    run = make_client(status(code, {"message": "internal"}), ok(PAGE))

    page = await run.client.get_page("/users")

    assert page.items == ({"id": "u1"},)
    assert len(run.sleeps) == 1


@pytest.mark.parametrize(
    "error",
    [
        httpx.ReadTimeout("slow"),
        httpx.ConnectTimeout("slow"),
        httpx.PoolTimeout("busy"),
        httpx.ConnectError("refused"),
        httpx.RemoteProtocolError("peer closed connection without sending complete message body"),
    ],
    ids=["read-timeout", "connect-timeout", "pool-timeout", "connect-error", "cut-short"],
)
async def test_timeouts_and_transport_errors_are_retried(
    make_client: HarnessFactory, error: Exception
) -> None:
    run = make_client(error, ok(PAGE))

    assert (await run.client.get_page("/users")).items == ({"id": "u1"},)
    assert len(run.sleeps) == 1


@pytest.mark.parametrize(
    "content",
    [b'{"data": [{"data": {"id": "u', b"<!doctype html><p>oops</p>", b'{"users": []}'],
    ids=["truncated", "html", "not-the-envelope"],
)
async def test_an_unreadable_200_is_retried(make_client: HarnessFactory, content: bytes) -> None:
    run = make_client(httpx.Response(200, content=content), ok(PAGE))

    assert (await run.client.get_page("/users")).items == ({"id": "u1"},)
    assert len(run.sleeps) == 1


async def test_an_unreadable_200_that_stays_so_is_a_response_error(
    make_client: HarnessFactory,
) -> None:
    run = make_client(*[httpx.Response(200, content=b"{")] * 3, retry=RetryPolicy(max_attempts=3))

    with pytest.raises(CleverResponseError, match="after 3 attempts"):
        await run.client.get_page("/users")


async def test_exhausted_retries_say_how_many_attempts_and_the_last_status(
    make_client: HarnessFactory,
) -> None:
    run = make_client(
        status(429), httpx.ReadTimeout("slow"), status(503), retry=RetryPolicy(max_attempts=3)
    )

    with pytest.raises(CleverUnavailableError) as caught:
        await run.client.get_page("/users")

    message = str(caught.value)
    assert "3 attempts" in message
    assert "HTTP 503" in message
    assert "GET /v3.0/users" in message
    assert "district d-1" in message
    assert len(run.clever.requests) == 3
    assert len(run.sleeps) == 2


async def test_the_default_policy_makes_eight_capped_attempts(make_client: HarnessFactory) -> None:
    run = make_client(*[status(502)] * 8)

    with pytest.raises(CleverUnavailableError, match="8 attempts"):
        await run.client.get_page("/users")

    assert len(run.sleeps) == 7
    for attempt, wait in enumerate(run.sleeps, start=1):
        base = min(30.0, 0.5 * 2 ** (attempt - 1))
        assert base / 2 <= wait <= base


@pytest.mark.parametrize("code", [401, 403])
async def test_a_refused_token_is_not_retried(make_client: HarnessFactory, code: int) -> None:
    run = make_client(status(code, {"message": "Unauthorized"}))

    with pytest.raises(CleverAuthError, match=f"refused the token.*{code}") as caught:
        await run.client.get_page("/users")

    assert "GET /v3.0/users (district d-1)" in str(caught.value)
    assert run.sleeps == []
    assert len(run.clever.requests) == 1


async def test_404_on_an_events_cursor_means_it_expired(make_client: HarnessFactory) -> None:
    run = make_client(status(404, {"message": "Entity Not Found"}))

    with pytest.raises(CursorExpiredError, match="starting_after=e-old"):
        await run.client.events_after("e-old", limit=100)

    assert run.sleeps == []


@pytest.mark.parametrize(
    ("path", "params"),
    [("/events", {"limit": 1}), ("/users/u404", None)],
    ids=["events-without-cursor", "unknown-user"],
)
async def test_other_404s_are_api_errors(
    make_client: HarnessFactory, path: str, params: dict[str, int] | None
) -> None:
    run = make_client(status(404, {"message": "Entity Not Found"}))

    with pytest.raises(CleverApiError, match="HTTP 404: Entity Not Found") as caught:
        await run.client.get_page(path, params)

    assert not isinstance(caught.value, CursorExpiredError)


@pytest.mark.parametrize(
    ("response", "text"),
    [
        (status(413, {"message": "limit too large"}), "HTTP 413: limit too large"),
        (status(400, {"message": "bad role"}), "HTTP 400: bad role"),
        (status(501), "HTTP 501"),
        (httpx.Response(404, content=b"<html>Not here</html>"), "HTTP 404"),
    ],
    ids=["413", "400", "501", "html-404"],
)
async def test_other_statuses_fail_at_once_with_clevers_message(
    make_client: HarnessFactory, response: httpx.Response, text: str
) -> None:
    run = make_client(response)

    with pytest.raises(CleverApiError, match=text) as caught:
        await run.client.get_page("/users")

    assert type(caught.value) is CleverApiError
    assert "<html>" not in str(caught.value)
    assert len(run.clever.requests) == 1


async def test_a_wait_can_be_cancelled(make_client: HarnessFactory) -> None:
    waiting = asyncio.Event()

    async def sleep_forever(seconds: float) -> None:
        waiting.set()
        await asyncio.Event().wait()

    run = make_client(status(503), ok(PAGE), sleep=sleep_forever)
    task = asyncio.create_task(run.client.get_page("/users"))
    await asyncio.wait_for(waiting.wait(), 5)
    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)
    assert len(run.clever.requests) == 1


async def test_a_request_in_flight_can_be_cancelled() -> None:
    sent = asyncio.Event()

    async def hang(request: httpx.Request) -> httpx.Response:
        sent.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async with new_http_client(HttpOptions(), transport=httpx.MockTransport(hang)) as http:
        client = CleverClient(http, token=TOKEN)
        task = asyncio.create_task(client.get_page("/users"))
        await asyncio.wait_for(sent.wait(), 5)
        task.cancel()

        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 5)
