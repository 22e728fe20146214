"""The poll slots: bounded, fair, never stepping a district twice at once."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator

from connectors.scheduler import StepScheduler
from tests.waiting import eventually

LATER = 1000.0


@contextlib.asynccontextmanager
async def running(scheduler: StepScheduler[str]) -> AsyncIterator[None]:
    task = asyncio.create_task(scheduler.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_busy_district_takes_turns_with_the_others_and_none_starves() -> None:
    order: list[str] = []

    async def step(key: str) -> float:
        order.append(key)
        return 0.0 if key == "busy" else LATER

    scheduler: StepScheduler[str] = StepScheduler(step, slots=1)
    scheduler.add("busy")
    for n in range(5):
        scheduler.add(f"idle-{n}")
    async with running(scheduler):

        async def all_stepped() -> bool:
            return len(set(order)) == 6

        await eventually(all_stepped, timeout_s=10, what="every district stepped")
    last_first_step = max(order.index(f"idle-{n}") for n in range(5))
    # With one slot, the busy district goes back behind the ones already due: every idle
    # district is stepped before the busy one's second turn.
    assert last_first_step <= 5
    assert order[: last_first_step + 1].count("busy") <= 1


async def test_steps_stay_within_the_slots_and_a_district_is_never_stepped_twice_at_once() -> None:
    running_now: Counter[str] = Counter()
    peak = 0
    steps = 0
    release = asyncio.Event()

    async def step(key: str) -> float:
        nonlocal peak, steps
        running_now[key] += 1
        assert running_now[key] == 1, f"{key} stepped twice at once"
        peak = max(peak, sum(running_now.values()))
        steps += 1
        try:
            await release.wait()
        finally:
            running_now[key] -= 1
        return 0.0

    scheduler: StepScheduler[str] = StepScheduler(step, slots=3)
    for n in range(20):
        scheduler.add(f"d{n}")
    async with running(scheduler):

        async def three_running() -> bool:
            return scheduler.running == 3

        await eventually(three_running, timeout_s=10, what="three steps under way")
        assert scheduler.running == 3
        assert len(asyncio.all_tasks()) < 20
        release.set()

        async def many_steps() -> bool:
            return steps > 60

        await eventually(many_steps, timeout_s=10, what="steps going on")
    assert peak == 3


async def test_a_removed_district_is_cancelled_mid_step_and_not_stepped_again() -> None:
    started = asyncio.Event()
    stepped: Counter[str] = Counter()

    async def step(key: str) -> float:
        stepped[key] += 1
        if key == "gone":
            started.set()
            await asyncio.Event().wait()
        return 0.0

    scheduler: StepScheduler[str] = StepScheduler(step, slots=2)
    scheduler.add("gone")
    scheduler.add("stays")
    async with running(scheduler):
        await asyncio.wait_for(started.wait(), 10)
        await scheduler.remove(["gone"])
        assert scheduler.running <= 1
        before = stepped["stays"]

        async def stays_stepped() -> bool:
            return stepped["stays"] > before + 10

        await eventually(stays_stepped, timeout_s=10, what="the other district stepped on")
    assert stepped["gone"] == 1
    assert len(scheduler) == 1


async def test_a_woken_district_is_stepped_before_its_wait_is_over() -> None:
    stepped: Counter[str] = Counter()

    async def step(key: str) -> float:
        stepped[key] += 1
        return LATER

    scheduler: StepScheduler[str] = StepScheduler(step, slots=1)
    scheduler.add("d1")
    async with running(scheduler):

        async def once() -> bool:
            return stepped["d1"] == 1

        await eventually(once, timeout_s=10, what="the first step")
        scheduler.wake("d1")

        async def twice() -> bool:
            return stepped["d1"] == 2

        await eventually(twice, timeout_s=10, what="the step after the wake")


async def test_a_step_that_raises_does_not_stop_its_slot() -> None:
    stepped: Counter[str] = Counter()

    async def step(key: str) -> float:
        stepped[key] += 1
        if key == "broken":
            raise RuntimeError("a bug")
        return 0.0

    scheduler: StepScheduler[str] = StepScheduler(step, slots=1)
    scheduler.add("broken")
    scheduler.add("fine")
    async with running(scheduler):

        async def going_on() -> bool:
            return stepped["fine"] > 20

        await eventually(going_on, timeout_s=10, what="the other district stepped on")
    assert stepped["broken"] == 1
