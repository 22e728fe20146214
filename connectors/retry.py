"""When the client tries a Clever request again, and how long it waits first.

Clever rate-limits each token (1200 requests a minute, then 429 with ``Retry-After``) and has
transient 5xx and truncated transfers. Those are retried with capped, jittered exponential
backoff, or exactly as long as Clever asked; everything else fails at once. The waiting is
injectable so tests never sleep, and every wait is an ``await``, so cancelling the task stops
the retries at once.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt

from connectors.exceptions import CleverApiError, CleverResponseError, CleverUnavailableError

logger = logging.getLogger(__name__)

T = TypeVar("T")

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How many attempts one request gets, and the waits between them."""

    max_attempts: int = 8
    initial_backoff_s: float = 0.5
    #: Cap of one backoff wait. A longer ``Retry-After`` is still honoured, up to the next.
    max_backoff_s: float = 30.0
    max_retry_after_s: float = 120.0
    #: A wait is shortened by up to this fraction at random, so districts throttled together
    #: do not come back together.
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if min(self.initial_backoff_s, self.max_backoff_s, self.max_retry_after_s) < 0:
            raise ValueError("backoff and Retry-After bounds must not be negative")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError("jitter must be a fraction within 0..1")

    def backoff_s(self, attempt: int, *, rand: float) -> float:
        """The wait after failed attempt ``attempt`` (from 1) when Clever named none.

        ``initial * 2**(attempt-1)``, capped at ``max_backoff_s``, then reduced by up to
        ``jitter`` of itself (``rand`` in [0, 1)): never above the cap.
        """
        exponent = min(max(attempt - 1, 0), 62)  # 2**62 s is already past any cap
        base = min(self.max_backoff_s, self.initial_backoff_s * 2.0**exponent)
        return base * (1.0 - self.jitter * min(max(rand, 0.0), 1.0))

    def delay_s(self, failure: RetryableFailure, attempt: int, *, rand: float) -> float:
        """The wait before the next attempt: Clever's own (bounded) if it named one."""
        if failure.retry_after_s is not None:
            return min(max(failure.retry_after_s, 0.0), self.max_retry_after_s)
        return self.backoff_s(attempt, rand=rand)


class RetryableFailure(Exception):
    """One attempt failed in a way that another attempt may fix.

    Internal to the client: it never escapes ``call_with_retries``.
    """

    def __init__(
        self,
        reason: str,
        *,
        status: int | None = None,
        retry_after_s: float | None = None,
        unreadable_body: bool = False,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after_s = retry_after_s
        self.unreadable_body = unreadable_body


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP-date.

    None when absent or unreadable; a date in the past gives 0.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT
        when = when.replace(tzinfo=now.tzinfo)
    return max((when - now).total_seconds(), 0.0)


def parse_rate_limit_reset(value: str | None, *, now_s: float) -> float | None:
    """Seconds until Clever's ``X-RateLimit-Reset`` (Unix seconds); None unless in the future."""
    if value is None:
        return None
    try:
        reset = float(value.strip())
    except ValueError:
        return None
    if not math.isfinite(reset) or reset <= now_s:
        return None
    return reset - now_s


async def call_with_retries(
    attempt: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy,
    sleep: Sleep,
    what: str,
    rand: Callable[[], float] = random.random,
    on_retry: Callable[[RetryableFailure], None] | None = None,
) -> T:
    """Await ``attempt()`` until it stops raising ``RetryableFailure`` or attempts run out.

    ``what`` names the request in logs and errors (method, path and district; never the
    token). Exhausted retries raise ``CleverUnavailableError``, or ``CleverResponseError``
    when the last failure was a body that could not be read. Any other exception, and
    cancellation, passes through at once.
    """
    attempts = 0

    async def counted() -> T:
        nonlocal attempts
        attempts += 1
        return await attempt()

    def wait(state: RetryCallState) -> float:
        failure = state.outcome.exception() if state.outcome is not None else None
        if not isinstance(failure, RetryableFailure):  # pragma: no cover - retry= filters
            return policy.backoff_s(state.attempt_number, rand=rand())
        return policy.delay_s(failure, state.attempt_number, rand=rand())

    def log_retry(state: RetryCallState) -> None:
        failure = state.outcome.exception() if state.outcome is not None else None
        if on_retry is not None and isinstance(failure, RetryableFailure):
            on_retry(failure)
        wait_s = state.next_action.sleep if state.next_action is not None else 0.0
        logger.warning(
            "%s: %s; attempt %d of %d, next in %.2fs",
            what,
            failure.reason if isinstance(failure, RetryableFailure) else "failed",
            state.attempt_number,
            policy.max_attempts,
            wait_s,
        )

    retrying = AsyncRetrying(
        stop=stop_after_attempt(policy.max_attempts),
        wait=wait,
        retry=retry_if_exception_type(RetryableFailure),
        sleep=sleep,
        before_sleep=log_retry,
        reraise=True,
    )
    try:
        return await retrying(counted)
    except RetryableFailure as failure:
        raise _exhausted(failure, attempts=attempts, what=what) from failure


def _exhausted(failure: RetryableFailure, *, attempts: int, what: str) -> CleverApiError:
    tries = f"{attempts} attempt{'s' if attempts != 1 else ''}"
    if failure.unreadable_body:
        return CleverResponseError(
            f"{what}: Clever's answer could not be read after {tries}; last: {failure.reason}",
            hint="Clever sent a body that is not its JSON envelope (a truncated transfer, "
            "or an HTML page for a wrong token type or path); try again later",
        )
    return CleverUnavailableError(
        f"{what}: Clever kept failing, gave up after {tries}; last: {failure.reason}",
        hint="Clever is down or rate-limiting this token; the request is tried again later",
    )
