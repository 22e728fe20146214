"""`clever-stream resync` resyncs the named districts once, whether their poller runs or not;
`clever-stream status` shows the requests pending until taken up, and a district whose token
Clever refuses as failing, until it recovers."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from connectors.publisher import PollerTopics
from fakeclever import FakeClever, FakeDistrict
from foundation.console import PROJECT_ERROR
from schemas.values import RawRecordKind, RecordSource
from tests.e2e.conftest import CommandEnv, clever_stream
from tests.e2e.processes import module_process, poller_env
from tests.integration.connectors.poller_harness import caught_up, poller_settings
from tests.raw_stream import of_district, read_raw
from tests.waiting import eventually

pytestmark = pytest.mark.e2e


@asynccontextmanager
async def poller(env: dict[str, str], log: Path) -> AsyncIterator[None]:
    """``clever-stream poll`` as a process, stopped with SIGTERM (and asserted to exit 0)."""
    async with module_process("clever_stream", "-v", "poll", env=env, log=log) as process:
        yield
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 60) == 0


async def status_of(env: dict[str, str]) -> dict[str, dict[str, Any]]:
    shown = await clever_stream(env, "status", "--json")
    assert shown.code == 0, shown.output
    return {district["district_id"]: district for district in json.loads(shown.output)["districts"]}


async def resyncs(bootstrap_servers: str, prefix: str, district: FakeDistrict) -> int:
    """How many resyncs of ``district`` the raw topic holds."""
    raw = await read_raw(bootstrap_servers, PollerTopics.for_prefix(prefix).raw)
    return sum(
        1
        for record in of_district(raw, district.id)
        if record.kind == RawRecordKind.SYNC_STARTED and record.source == RecordSource.RESYNC
    )


async def test_a_resync_request_is_taken_up_once_by_a_running_or_a_started_poller(
    command_env: CommandEnv,
    bootstrap_servers: str,
    unique_name: Callable[[str], str],
    tmp_path: Path,
) -> None:
    fake = FakeClever()
    first, second = (fake.add_district(seed=seed, contacts=8) for seed in (61, 62))
    prefix = unique_name("resync")
    env = command_env(KAFKA_BOOTSTRAP_SERVERS=bootstrap_servers, CLEVER_STREAM_TOPIC_PREFIX=prefix)
    log = tmp_path / "poller.log"
    async with fake.serve() as base_url:
        settings = poller_settings(bootstrap_servers, base_url, prefix, [])
        polling = poller_env(bootstrap_servers, base_url, prefix, [first, second])

        async def resynced(district: FakeDistrict, times: int) -> None:
            async def done() -> bool:
                return await resyncs(bootstrap_servers, prefix, district) == times

            await eventually(done, timeout_s=60, what=f"{times} resyncs of {district.id}")
            await caught_up(settings, district, timeout_s=60)

        async with poller(polling, log):
            await caught_up(settings, first)
            await caught_up(settings, second)
            running = await clever_stream(
                env, "resync", "--district", first.id, "--reason", "custody fix"
            )
            await resynced(first, 1)
        stopped = await clever_stream(env, "resync", "--district", second.id)
        pending = await status_of(env)
        text = await clever_stream(env, "status")
        async with poller(polling, log):
            await resynced(second, 1)
            first.random_changes(3, seed=7)
            await caught_up(settings, first)
            taken = await status_of(env)
        unknown = await clever_stream(env, "resync", "--district", "nope")
        neither = await clever_stream(env, "resync")

    assert running.code == 0, running.output
    assert f"  {first.id} (request " in running.output
    assert stopped.code == 0, stopped.output
    assert pending[first.id]["resync"]["pending"] is False
    assert pending[first.id]["resync"]["reason"] == "custody fix"
    assert pending[second.id]["resync"]["pending"] is True
    assert "(operator request): pending" in text.output
    assert taken[second.id]["resync"]["pending"] is False
    # Each request was taken up once: not again by the restarted poller.
    assert await resyncs(bootstrap_servers, prefix, first) == 1
    assert await resyncs(bootstrap_servers, prefix, second) == 1
    assert unknown.code == PROJECT_ERROR
    assert "has a cursor for nope" in unknown.output
    assert neither.code == PROJECT_ERROR
    assert "--district <id>" in neither.output
    for shown in (unknown, neither):
        assert "Traceback" not in shown.output


async def test_status_shows_a_district_whose_token_is_refused_failing_until_it_recovers(
    command_env: CommandEnv,
    bootstrap_servers: str,
    unique_name: Callable[[str], str],
    tmp_path: Path,
) -> None:
    fake = FakeClever()
    district = fake.add_district(seed=63, contacts=8)
    prefix = unique_name("failing")
    env = command_env(KAFKA_BOOTSTRAP_SERVERS=bootstrap_servers, CLEVER_STREAM_TOPIC_PREFIX=prefix)
    log = tmp_path / "poller.log"
    async with fake.serve() as base_url:
        settings = poller_settings(bootstrap_servers, base_url, prefix, [])
        good = poller_env(bootstrap_servers, base_url, prefix, [district])
        refused = dict(good)
        refused["CLEVER_POLLER_DISTRICTS"] = json.dumps(
            [{"token": "not-the-token", "district_id": district.id}]
        )
        found: dict[str, Any] = {}

        async def failing() -> bool:
            found.update(await status_of(env))
            return district.id in found and found[district.id]["failing"] is not None

        async with poller(refused, log):
            await eventually(failing, timeout_s=60, what="the district shown failing")
            text = await clever_stream(env, "status")
        async with poller(good, log):
            await caught_up(settings, district)
            recovered = await status_of(env)

    shown = found[district.id]
    assert shown["phase"] is None  # no cursor: it never got as far as a sync
    assert shown["failing"]["error_type"] == "CleverAuthError"
    assert "refused the token" in shown["failing"]["error_message"]
    assert shown["failing"]["since"] is not None
    assert text.code == 0, text.output
    assert f"  {district.id}  no cursor yet" in text.output
    assert "FAILING since" in text.output
    assert "not-the-token" not in text.output + json.dumps(found)
    assert recovered[district.id]["failing"] is None
    assert recovered[district.id]["phase"] == "POLLING"
