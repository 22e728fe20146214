"""A fetch that a rebalance overtakes loses nothing (native engine).

The engine drops a fetch begun before a rebalance, since it may hold records of partitions it
no longer owns. But the consumer may return, from that fetch, records of the new assignment,
and its position has then moved past them: dropped and not read again, they were lost (the
chaos run found two districts' changes missing after the first rebalance of a run). Here
the worker's fetch is held until a second worker's join has rebalanced the group and the
poller has published every district, so that it returns exactly such records.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fakeclever import FakeClever
from streams.engines.native.service import NativeEngine
from tests.integration.connectors.poller_harness import (
    caught_up,
    district_entry,
    poller_settings,
    running_poller,
)
from tests.integration.streams.worker_harness import converge, running_worker, worker_settings
from tests.waiting import eventually

pytestmark = pytest.mark.integration


async def test_records_of_a_fetch_overtaken_by_a_rebalance_are_read_again(
    bootstrap_servers: str, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    fake = FakeClever()
    districts = [fake.add_district(seed=300 + n, contacts=20) for n in range(6)]
    prefix, app_id = unique_name("p"), unique_name("app")
    first = worker_settings(bootstrap_servers, prefix, app_id, tmp_path / "first")
    second = worker_settings(bootstrap_servers, prefix, app_id, tmp_path / "second")
    async with fake.serve() as base_url, running_worker(first) as worker:
        assert isinstance(worker, NativeEngine)
        engine = worker.engine
        consumer = engine._consumer  # noqa: SLF001 - the fetch to hold back is the engine's own
        assert consumer is not None
        before = engine._generation  # noqa: SLF001 - revoked and assigned each count one
        held, release = asyncio.Event(), asyncio.Event()
        fetch = consumer.getmany

        async def held_fetch(*args: Any, **kwargs: Any) -> Any:
            consumer.getmany = fetch  # type: ignore[method-assign]
            held.set()
            await release.wait()
            return await fetch(*args, **kwargs)

        consumer.getmany = held_fetch  # type: ignore[method-assign]
        await asyncio.wait_for(held.wait(), 30)  # the fetch begins before the rebalance
        async with running_worker(second):
            await eventually(
                lambda: asyncio.sleep(0, engine._generation >= before + 2),  # noqa: SLF001
                timeout_s=60,
                what="the first worker's rebalance",
            )
            poller = poller_settings(
                bootstrap_servers, base_url, prefix, [district_entry(d) for d in districts]
            )
            async with running_poller(poller):
                for district in districts:
                    await caught_up(poller, district)
                release.set()  # the held fetch now returns records of the new assignment

                def truth() -> frozenset[tuple[str, str, str | None, str | None]]:
                    return frozenset(pair for d in districts for pair in d.ground_truth())

                await converge(bootstrap_servers, prefix, truth, timeout_s=60)
