"""Bounded waits on a condition, for tests: never a bare sleep."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")
_POLL_S = 0.05


async def eventually(probe: Callable[[], Awaitable[T | None]], *, timeout_s: float, what: str) -> T:
    """Await ``probe`` until it returns something truthy; fail after ``timeout_s``."""

    async def poll() -> T:
        while True:
            if value := await probe():
                return value
            await asyncio.sleep(_POLL_S)

    try:
        return await asyncio.wait_for(poll(), timeout_s)
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout_s}s waiting for {what}") from None


def wait_until(probe: Callable[[], T | None], *, timeout_s: float, what: str) -> T:
    """Blocking form of :func:`eventually`, for synchronous tests of processes."""
    deadline = time.monotonic() + timeout_s
    while not (value := probe()):
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(_POLL_S)
    return value
