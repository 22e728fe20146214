"""``python -m connectors run`` as operators run it: SIGKILLed mid-run, restarted, SIGTERMed.

A read_committed consumer must then see every Clever event, and every record of the one sync,
exactly once: what a killed poller had not committed is aborted, and its cursor (committed
with the pages it covers) says where to carry on.
"""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from connectors.publisher import PollerTopics
from fakeclever import FakeClever
from schemas.records import PollerCursor
from schemas.values import CursorPhase, RawRecordKind, RecordSource
from tests.e2e.processes import module_process, poller_env
from tests.integration.connectors.poller_harness import (
    caught_up,
    committed_cursor,
    district_entry,
    poller_settings,
)
from tests.raw_stream import fold_pairs, of_district, read_raw
from tests.waiting import eventually

pytestmark = pytest.mark.e2e


@asynccontextmanager
async def poller_process(
    env: dict[str, str], log: Path
) -> AsyncIterator[asyncio.subprocess.Process]:
    """The poller, logging to ``log``."""
    async with module_process("connectors", "--verbose", "run", env=env, log=log) as process:
        yield process


async def kill_when(
    process: asyncio.subprocess.Process,
    condition: Callable[[], object],
    what: str,
) -> None:
    async def probe() -> bool:
        assert process.returncode is None, "the poller exited on its own (see its log)"
        return bool(await condition())  # type: ignore[misc]

    await eventually(probe, timeout_s=90, what=what)
    process.send_signal(signal.SIGKILL)
    assert await asyncio.wait_for(process.wait(), 10) == -signal.SIGKILL


async def test_sigkill_mid_sync_and_mid_polling_loses_and_duplicates_nothing(
    bootstrap_servers: str, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    log = tmp_path / "poller.log"
    fake = FakeClever()
    district = fake.add_district(seed=81, contacts=1500)
    district.random_changes(40, seed=1)
    # Every page takes a moment, so the kills land mid-run rather than after it.
    fake.faults.add("slow", times=100_000, path_prefix="/v3.0/users", delay=0.04)
    fake.faults.add("slow", times=100_000, path_prefix="/v3.0/events", delay=0.04)
    async with fake.serve() as base_url:
        prefix = unique_name("p")
        settings = poller_settings(bootstrap_servers, base_url, prefix, [district_entry(district)])
        env = poller_env(bootstrap_servers, base_url, prefix, [district])

        async def mid_sync() -> PollerCursor | None:
            cursor = await committed_cursor(settings, district.id)
            if cursor is None or cursor.phase != CursorPhase.SYNCING:
                return None
            return cursor if (cursor.sync_records or 0) >= 600 else None

        async with poller_process(env, log) as process:
            await kill_when(process, mid_sync, "the sync half done")

        synced_events = {event["id"] for event in district.events()}
        district.random_changes(800, seed=2)
        newest = district.events()[-1]["id"]

        async def mid_polling() -> PollerCursor | None:
            cursor = await committed_cursor(settings, district.id)
            if cursor is None or cursor.phase != CursorPhase.POLLING:
                return None
            # Some of the new events published, not all of them.
            midway = cursor.last_event_id not in (synced_events | {None, newest})
            return cursor if midway else None

        async with poller_process(env, log) as process:
            await kill_when(process, mid_polling, "polling half done")

        async with poller_process(env, log) as process:
            await caught_up(settings, district, timeout_s=120)
            process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(process.wait(), 30) == 0

    raw = await read_raw(bootstrap_servers, PollerTopics.for_prefix(prefix).raw)
    records = of_district(raw, district.id)
    kinds = Counter(record.kind for record in records)
    assert kinds[RawRecordKind.SYNC_STARTED] == kinds[RawRecordKind.SYNC_COMPLETED] == 1
    snapshot = [r.record_id for r in records if r.kind == RawRecordKind.SNAPSHOT]
    completed = next(r for r in records if r.kind == RawRecordKind.SYNC_COMPLETED)
    assert len(snapshot) == len(set(snapshot)) == completed.snapshot_records
    bookmark = records[0].event_id
    all_ids = [event["id"] for event in district.events()]
    expected = all_ids[all_ids.index(bookmark) + 1 :] if bookmark else all_ids
    published = [r.event_id for r in records if r.kind == RawRecordKind.EVENT]
    assert published == expected
    assert fold_pairs(records) == district.ground_truth()


async def test_sigterm_stops_the_poller_cleanly(
    bootstrap_servers: str, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    log_path = tmp_path / "poller.log"
    fake = FakeClever()
    district = fake.add_district(seed=82, contacts=40)
    async with fake.serve() as base_url:
        prefix = unique_name("p")
        settings = poller_settings(bootstrap_servers, base_url, prefix, [district_entry(district)])
        env = poller_env(bootstrap_servers, base_url, prefix, [district])
        async with poller_process(env, log_path) as process:
            await caught_up(settings, district)
            process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(process.wait(), 30) == 0
    log = log_path.read_text()
    assert "started" in log
    assert district.token not in log
    assert "Traceback" not in log


async def test_sigusr1_resyncs_every_district_of_the_process(
    bootstrap_servers: str, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    fake = FakeClever()
    district = fake.add_district(seed=83, contacts=40)
    async with fake.serve() as base_url:
        prefix = unique_name("p")
        settings = poller_settings(bootstrap_servers, base_url, prefix, [district_entry(district)])
        env = poller_env(bootstrap_servers, base_url, prefix, [district])
        async with poller_process(env, tmp_path / "poller.log") as process:
            first = await caught_up(settings, district)
            process.send_signal(signal.SIGUSR1)

            async def resynced() -> PollerCursor | None:
                cursor = await committed_cursor(settings, district.id)
                if cursor is None or cursor.phase != CursorPhase.POLLING:
                    return None
                return cursor if cursor.sync_id != first.sync_id else None

            await eventually(resynced, timeout_s=60, what="the operator's resync")
            process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(process.wait(), 30) == 0

    records = of_district(
        await read_raw(bootstrap_servers, PollerTopics.for_prefix(prefix).raw), district.id
    )
    starts = [r.source for r in records if r.kind == RawRecordKind.SYNC_STARTED]
    assert starts == [RecordSource.SYNC, RecordSource.RESYNC]
    assert "operator request" in (tmp_path / "poller.log").read_text()
