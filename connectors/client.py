"""The Clever API client of one district: paging, the Events API, and the Data API sync.

Every district has its own ``CleverClient`` (its token, API version and label) over the
process's one shared ``httpx.AsyncClient`` and its one ``TokenPacer``. Requests carry the
token in their own ``Authorization`` header; logs and errors name the district and the path,
never the token.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from connectors.exceptions import (
    CleverApiError,
    CleverAuthError,
    CleverResponseError,
    CursorExpiredError,
)
from connectors.mapping import usable_id
from connectors.metrics import PollerMetrics, endpoint_of
from connectors.pacing import TokenPacer
from connectors.pages import Page, decode_json, parse_page
from connectors.retry import (
    RetryableFailure,
    RetryPolicy,
    call_with_retries,
    parse_rate_limit_reset,
    parse_retry_after,
)

logger = logging.getLogger(__name__)

Params = Mapping[str, str | int | Sequence[str]]

MAX_LIMIT = 10_000  # Clever answers 413 above this
_RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
_API_VERSION = re.compile(r"v\d+\.\d+")
_V3_ROLES = frozenset({"contact", "district_admin", "staff", "student", "teacher"})
_V2_ROLE_PATHS = {"contact": "/contacts", "student": "/students"}
#: The policy of a client not given one; frozen, so one instance serves every client.
DEFAULT_RETRY = RetryPolicy()
_TOKEN_CHARS = re.compile(r"[!-~]+")  # visible ASCII: what a header can carry unmangled


class CleverClient:
    """One district's view of Clever, retried and paged."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        token: str,
        api_version: str = "v3.0",
        retry: RetryPolicy = DEFAULT_RETRY,
        district_label: str | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        metrics: PollerMetrics | None = None,
        pacer: TokenPacer | None = None,
    ) -> None:
        if not _TOKEN_CHARS.fullmatch(token):
            # Say nothing of the value: it is a secret even when malformed.
            raise ValueError("token is empty or has characters an HTTP header cannot carry")
        if not _API_VERSION.fullmatch(api_version):
            raise ValueError(f"api_version must look like v3.0, not {api_version!r}")
        self._http = http
        self._authorization = f"Bearer {token}"
        self._token = token
        self.api_version = api_version
        self._retry = retry
        self._label = f"district {district_label}" if district_label else "a district"
        self._sleep = sleep if sleep is not None else asyncio.sleep
        self._metrics = metrics
        self._pacer = pacer

    def __repr__(self) -> str:
        return f"CleverClient({self._label}, {self.api_version})"

    async def get_page(self, path: str, params: Params | None = None) -> Page:
        """One page of ``path`` (without the version, e.g. ``/users``) under this version."""
        if not path.startswith("/") or path.startswith("//"):
            raise ValueError(f"path must start with a single '/', not {path!r}")
        return await self._get(f"/{self.api_version}{path}", _query(params))

    async def follow(self, next_path: str) -> Page:
        """The page a ``links`` URI points at (it already has the version and query)."""
        if not next_path.startswith("/") or next_path.startswith("//"):
            raise ValueError("a links URI must be a path on Clever's host")
        return await self._get(next_path, [])

    def iterate(
        self, path: str, params: Params | None = None, *, limit: int
    ) -> AsyncIterator[Page]:
        """Every non-empty page of ``path``, following ``next`` links.

        Without ``links`` (some v2.1 revisions) it asks for ``starting_after`` the last ID for
        as long as pages come back full. It stops at an empty page, or when ``next`` is absent.
        """
        _check_limit(limit)
        return self._pages(path, dict(params or {}), limit)

    async def district(self) -> dict[str, Any]:
        """The one district a district-app token sees (``GET /districts``)."""
        page = await self.get_page("/districts")
        if len(page.items) != 1:
            raise CleverApiError(
                f"GET /{self.api_version}/districts for {self._label} listed "
                f"{len(page.items)} districts, not one",
                hint="use a district-app token: it sees exactly one district",
            )
        return page.items[0]

    async def newest_event_id(self) -> str | None:
        """The ID of the district's newest event, or None if it has none (the bookmark)."""
        page = await self.get_page("/events", {"ending_before": "last", "limit": 1})
        if not page.size:
            return None
        event_id = _last_id(page)
        if event_id is None:
            raise CleverResponseError(
                f"GET /{self.api_version}/events for {self._label}: the newest event has no ID"
            )
        return event_id

    async def events_after(self, event_id: str | None, *, limit: int) -> Page:
        """Up to ``limit`` events after ``event_id`` (from the oldest kept if None).

        Raises ``CursorExpiredError`` when Clever no longer knows ``event_id``.
        """
        _check_limit(limit)
        params: dict[str, str | int] = {"limit": limit}
        if event_id is not None:
            params["starting_after"] = event_id
        return await self.get_page("/events", params)

    def snapshot_pages(
        self, role: str, *, starting_after: str | None, limit: int
    ) -> AsyncIterator[Page]:
        """The Data API's pages of one role (``contact`` or ``student``; v3 takes all roles).

        v3.x reads ``/users?role=<role>``; v2.1 has ``/contacts`` and ``/students`` instead.
        ``starting_after`` resumes an interrupted sync after that record ID.
        """
        _check_limit(limit)
        params: dict[str, str | int] = {}
        if self.api_version.startswith("v2"):
            if role not in _V2_ROLE_PATHS:
                raise ValueError(f"{self.api_version} has no Data API path for role {role!r}")
            path = _V2_ROLE_PATHS[role]
        else:
            if role not in _V3_ROLES:
                raise ValueError(f"unknown Clever role {role!r}")
            path = "/users"
            params["role"] = role
        if starting_after is not None:
            params["starting_after"] = starting_after
        return self.iterate(path, params, limit=limit)

    async def _pages(
        self, path: str, params: dict[str, str | int | Sequence[str]], limit: int
    ) -> AsyncIterator[Page]:
        params["limit"] = limit
        page = await self.get_page(path, params)
        requested = f"/{self.api_version}{path}"
        while page.size:
            yield page
            if page.next_path is not None:
                if page.next_path == requested:
                    raise CleverResponseError(
                        f"{self._describe(requested)}: the next link points at the same page"
                    )
                requested = page.next_path
                page = await self.follow(page.next_path)
            elif page.has_links or page.size < limit:
                return
            else:
                last_id = _last_id(page)
                if last_id is None:
                    raise CleverResponseError(
                        f"{self._describe(requested)}: cannot page on, the last item has no ID"
                    )
                if params.get("starting_after") == last_id:
                    raise CleverResponseError(
                        f"{self._describe(requested)}: Clever ignored starting_after={last_id}"
                    )
                params["starting_after"] = last_id
                page = await self.get_page(path, params)

    async def _get(self, target: str, query: list[tuple[str, str]]) -> Page:
        params = httpx.QueryParams(tuple(query)) if query else None

        def request() -> httpx.Request:
            return self._http.build_request(
                "GET", target, params=params, headers={"Authorization": self._authorization}
            )

        # The request as logs and errors name it; not parsed again as a URL (every request).
        what = self._describe(f"{target}?{params}" if params else target)
        endpoint = endpoint_of(target)

        async def attempt() -> Page:
            if self._pacer is not None:
                await self._pacer.wait_turn(self._token)
            started = time.perf_counter()
            try:
                response = await self._http.send(request())
            except httpx.TimeoutException as error:
                self._observe(endpoint, "timeout", started)
                raise RetryableFailure(f"timed out ({type(error).__name__})") from None
            except httpx.TransportError as error:
                self._observe(endpoint, "transport", started)
                raise RetryableFailure(f"transport error ({type(error).__name__})") from None
            self._observe(endpoint, str(response.status_code), started)
            return self._page_of(response, what)

        return await call_with_retries(
            attempt, policy=self._retry, sleep=self._sleep, what=what, on_retry=self._retried
        )

    def _observe(self, endpoint: str, status: str, started: float) -> None:
        if self._metrics is not None:
            self._metrics.request_duration.labels(endpoint).observe(time.perf_counter() - started)
            self._metrics.responses.labels(status).inc()

    def _retried(self, failure: RetryableFailure) -> None:
        if self._pacer is not None and failure.status == 429 and failure.retry_after_s:
            # Every request of the token waits, not only this one's next attempt.
            self._pacer.hold(self._token, min(failure.retry_after_s, self._retry.max_retry_after_s))
        if self._metrics is not None:
            status = "none" if failure.status is None else str(failure.status)
            self._metrics.retries.labels(status).inc()

    def _page_of(self, response: httpx.Response, what: str) -> Page:
        status = response.status_code
        logger.debug("%s: HTTP %d, %d bytes", what, status, len(response.content))
        if status == 200:
            try:
                return parse_page(decode_json(response.content))
            except CleverResponseError as error:
                raise RetryableFailure(str(error), status=status, unreadable_body=True) from None
        if status in _RETRIED_STATUSES:
            raise RetryableFailure(
                f"HTTP {status}", status=status, retry_after_s=_wait_asked(response)
            )
        if status in (401, 403):
            raise CleverAuthError(
                f"{what}: Clever refused the token (HTTP {status})",
                hint="the district-app token is wrong, revoked, or of the wrong type; "
                "replace it in the poller's districts",
            )
        if status == 404 and _is_events_cursor(response.request.url):
            raise CursorExpiredError(
                f"{what}: Clever no longer knows the event the cursor points at (HTTP 404)",
                hint="events are kept 30 days; the district needs a full resync",
            )
        raise CleverApiError(f"{what}: HTTP {status}{self._message(response)}")

    def _message(self, response: httpx.Response) -> str:
        try:
            body = decode_json(response.content)
        except CleverResponseError:
            return ""
        message = body.get("message") if isinstance(body, dict) else None
        if not isinstance(message, str) or not message.strip():
            return ""
        # Clever's own words, bounded, and scrubbed in case an error ever echoes the token.
        return ": " + message.strip()[:300].replace(self._token, "<token>")

    def _describe(self, path: str) -> str:
        return f"GET {path} ({self._label})"


def _check_limit(limit: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be an integer within 1..{MAX_LIMIT}, not {limit!r}")


def _last_id(page: Page) -> str | None:
    """The ID of the page's last entry, if that entry is an object with a usable one (paging
    on after an earlier entry would serve the ones after it again)."""
    if not page.items or (page.unreadable and page.unreadable[-1][0] == page.size - 1):
        return None
    return usable_id(page.items[-1].get("id"))


def _query(params: Params | None) -> list[tuple[str, str]]:
    """Query pairs in order; a sequence repeats its key (``record_type=a&record_type=b``)."""
    pairs: list[tuple[str, str]] = []
    for key, value in (params or {}).items():
        if isinstance(value, bool):
            pairs.append((key, "true" if value else "false"))
        elif isinstance(value, str | int):
            pairs.append((key, str(value)))
        else:
            pairs.extend((key, str(each)) for each in value)
    return pairs


def _is_events_cursor(url: httpx.URL) -> bool:
    return url.path.rstrip("/").endswith("/events") and "starting_after" in url.params


def _wait_asked(response: httpx.Response) -> float | None:
    """How long Clever asked us to wait: ``Retry-After``, else the rate-limit reset (on 429)."""
    asked = parse_retry_after(response.headers.get("Retry-After"), now=datetime.now(UTC))
    if asked is None and response.status_code == 429:
        asked = parse_rate_limit_reset(response.headers.get("X-RateLimit-Reset"), now_s=time.time())
    return asked
