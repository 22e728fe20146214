"""Turn SIGINT and SIGTERM into an orderly stop, in blocking code and in asyncio alike."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Make SIGTERM raise KeyboardInterrupt like Ctrl-C, so ``finally`` blocks run on both."""
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


async def run_until_signalled(main: Coroutine[Any, Any, T]) -> T | None:
    """Run ``main``; SIGINT or SIGTERM cancels it, and then None is returned.

    Cancelling (rather than raising KeyboardInterrupt somewhere inside) lets every
    ``async with`` and ``finally`` of ``main`` close its clients in order.
    """
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(main)
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, task.cancel)
    try:
        return await task
    except asyncio.CancelledError:
        if task.cancelled() and not _cancelling_us():
            return None
        raise
    finally:
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)


def _cancelling_us() -> bool:
    current = asyncio.current_task()
    return current is not None and current.cancelling() > 0
