"""Thousands of districts stepped by a few slots: earliest due first, one step at a time each.

Each district is a key with a due time. ``slots`` tasks take the earliest due key, run one
step of it (a page, or a poll) in a task of its own, and put it back due again after the wait
the step returned; a district with more to read is due at once and so queues behind the ones
already due. That is the fairness: a district in a million-record sync takes a turn per page,
and an idle district waits no more than the slots' backlog. Tasks stay bounded by the slots,
not the districts; a district is never stepped twice at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import time
from collections.abc import Callable, Coroutine, Hashable, Iterable
from typing import Any, Generic, TypeVar

logger = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
#: The wait before a key whose step raised is stepped again.
_AFTER_A_FAULT_S = 5.0


class StepScheduler(Generic[K]):
    """Steps keys when due, ``slots`` at a time; ``step(key)`` returns the wait until its next."""

    def __init__(
        self,
        step: Callable[[K], Coroutine[Any, Any, float]],
        *,
        slots: int,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if slots < 1:
            raise ValueError("slots must be at least 1")
        self._step = step
        self._slots = slots
        self._monotonic = monotonic
        self._order = itertools.count()
        # (due, order, key); an entry whose order is no longer _entries[key] is stale.
        self._heap: list[tuple[float, int, K]] = []
        self._entries: dict[K, int] = {}
        self._known: set[K] = set()
        self._running: dict[K, asyncio.Task[float]] = {}
        self._changed: asyncio.Future[None] | None = None

    def __len__(self) -> int:
        """How many keys are scheduled (waiting or being stepped)."""
        return len(self._known)

    @property
    def running(self) -> int:
        """How many steps are under way."""
        return len(self._running)

    def add(self, key: K, *, delay: float = 0.0) -> None:
        """Schedule ``key`` (again) ``delay`` seconds from now, unless it is being stepped (it
        is put back when its step ends)."""
        self._known.add(key)
        if key in self._running:
            return
        self._push(key, self._monotonic() + delay)

    def wake(self, key: K) -> None:
        """Step ``key`` as soon as a slot is free, if it is scheduled and waiting."""
        if key in self._entries:
            self._push(key, self._monotonic())

    async def remove(self, keys: Iterable[K]) -> None:
        """Unschedule ``keys``; a step under way is cancelled and waited for."""
        steps = []
        for key in keys:
            self._known.discard(key)
            self._entries.pop(key, None)
            step = self._running.pop(key, None)
            if step is not None:
                step.cancel()
                steps.append(step)
        if steps:
            # wait() neither raises the steps' errors nor swallows a cancellation of our own.
            await asyncio.wait(steps)

    async def run(self) -> None:
        """Step keys until cancelled; then the steps under way are cancelled too."""
        try:
            async with asyncio.TaskGroup() as group:
                for slot in range(self._slots):
                    group.create_task(self._slot(), name=f"poll-slot-{slot}")
        finally:
            await self.remove(list(self._running))

    async def _slot(self) -> None:
        while True:
            key = await self._next_due()
            step = asyncio.create_task(self._step(key), name=f"step-{key}")
            self._running[key] = step
            try:
                wait = await asyncio.shield(step)
            except asyncio.CancelledError:
                if not step.cancelled():
                    # The slot itself is being cancelled: so is its step.
                    step.cancel()
                    await asyncio.wait([step])
                    raise
                continue  # the step was cancelled by remove(): the key is gone
            except Exception:
                # Steps handle their own failures; one that did not must not stop the slot.
                logger.exception("a step of %s failed unexpectedly; it is tried again", key)
                wait = _AFTER_A_FAULT_S
            finally:
                if self._running.get(key) is step:
                    del self._running[key]
            self._push(key, self._monotonic() + max(wait, 0.0), only_if_known=True)

    async def _next_due(self) -> K:
        while True:
            while self._heap:
                due, order, key = self._heap[0]
                if self._entries.get(key) != order:
                    heapq.heappop(self._heap)
                    continue
                wait = due - self._monotonic()
                if wait > 0:
                    break
                heapq.heappop(self._heap)
                del self._entries[key]
                return key
            else:
                wait = None
            changed = self._changed
            if changed is None or changed.done():
                changed = self._changed = asyncio.get_running_loop().create_future()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(changed), wait)

    def _push(self, key: K, due: float, *, only_if_known: bool = False) -> None:
        if only_if_known and key not in self._known:
            return
        order = next(self._order)
        self._entries[key] = order
        heapq.heappush(self._heap, (due, order, key))
        if self._changed is not None and not self._changed.done():
            self._changed.set_result(None)
