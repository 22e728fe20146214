"""Clever's rate limit, kept per token: requests paced ahead of it, and its Retry-After shared.

Clever allows each token 1,200 requests a minute and answers 429 beyond. A district's pages,
the page it reads ahead and its retries all draw on one token's allowance, so the allowance is
kept per token (its hash: a pacer never holds a token), in one place the process shares. Each
request waits for its turn in a leaky bucket (``aiolimiter``) a little below the limit, so a
429 is an exception, not the way the limit is found; when Clever does ask for a pause
(``Retry-After``), every request of that token waits it out, not only the one refused.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable

from aiolimiter import AsyncLimiter

#: Clever's limit, requests per token per minute.
CLEVER_LIMIT_PER_MINUTE = 1200
#: The bucket holds this many seconds' worth of requests: a short burst, never a minute's.
_BURST_S = 1.0


class TokenPacer:
    """Paces the requests of every token of the process at ``per_minute`` each."""

    def __init__(self, per_minute: int, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self.per_minute = per_minute
        self._monotonic = monotonic
        self._limiters: dict[str, AsyncLimiter] = {}
        # Until when (monotonic) Clever asked each token to wait.
        self._held_until: dict[str, float] = {}

    async def wait_turn(self, token: str) -> None:
        """Return when a request of ``token`` may go: after any pause Clever asked for, and
        in its turn within the pace."""
        key = _key(token)
        while (wait := self._held_until.get(key, 0.0) - self._monotonic()) > 0:  # noqa: ASYNC110 - a deadline that hold() may push later, not an event
            await asyncio.sleep(wait)
        self._held_until.pop(key, None)
        await self._limiter(key).acquire()

    def hold(self, token: str, seconds: float) -> None:
        """Clever asked ``token``'s requests to wait ``seconds`` (a 429's Retry-After)."""
        key = _key(token)
        until = self._monotonic() + max(seconds, 0.0)
        self._held_until[key] = max(until, self._held_until.get(key, 0.0))

    def forget(self, token: str) -> None:
        """Drop the token's allowance (its district left the process)."""
        key = _key(token)
        self._limiters.pop(key, None)
        self._held_until.pop(key, None)

    def _limiter(self, key: str) -> AsyncLimiter:
        limiter = self._limiters.get(key)
        if limiter is None:
            burst = max(1.0, self.per_minute / 60 * _BURST_S)
            limiter = self._limiters[key] = AsyncLimiter(burst, burst * 60 / self.per_minute)
        return limiter


def _key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:32]
