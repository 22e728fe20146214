"""A fleet of pollers shares the districts: three processes, one SIGKILLed, one joining.

Three ``python -m connectors run`` processes with the same settings share 200 districts
through their consumer group, while Clever keeps changing. A third joins after the first
syncs; one is SIGKILLed mid-stream. An outside reader (librdkafka, the released schemas) must
then find every district's events exactly once and in Clever's order, behind one sync, and the
fake Clever, which records which poller (User-Agent) asked for each district, must show no
district polled by two pollers at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from connectors.cursors import read_all_cursors
from connectors.publisher import PollerTopics
from fakeclever import FakeClever, FakeDistrict
from foundation.connection import KafkaConnection
from schemas.codec import default_codec
from schemas.values import CursorPhase
from tests.e2e.processes import module_process, poller_env
from tests.outside_reader import ReleasedSchemas, read_topic
from tests.waiting import eventually

pytestmark = pytest.mark.e2e

DISTRICTS = 200
#: The pollers' idle poll interval: a live owner never leaves a district longer unpolled.
IDLE_POLL_S = 1.0


async def every_district_caught_up(
    kafka: KafkaConnection, prefix: str, districts: list[FakeDistrict]
) -> None:
    """Wait until every district's committed cursor polls after its newest event."""
    topic = PollerTopics.for_prefix(prefix).cursors

    async def all_caught_up() -> bool:
        cursors = await read_all_cursors(kafka, topic=topic, codec=default_codec())
        for district in districts:
            cursor = cursors.get(district.id)
            events = district.events()
            newest = events[-1]["id"] if events else None
            if cursor is None or cursor.phase != CursorPhase.POLLING:
                return False
            if cursor.last_event_id != newest:
                return False
        return True

    await eventually(all_caught_up, timeout_s=120, what="every district caught up")


async def changing(districts: list[FakeDistrict], stop: asyncio.Event) -> None:
    """Clever keeps changing: a few events in a random district every few milliseconds."""
    rng = random.Random(19)  # noqa: S311 - a reproducible choice, not a secret
    round_ = 0
    while not stop.is_set():
        round_ += 1
        rng.choice(districts).random_changes(3, seed=round_)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.02)


async def test_three_pollers_share_200_districts_through_a_kill_and_a_join_exactly_once(
    bootstrap_servers: str,
    kafka_connection: KafkaConnection,
    unique_name: Callable[[str], str],
    tmp_path: Path,
) -> None:
    fake = FakeClever()
    districts = [fake.add_district(seed=500 + n, contacts=4) for n in range(DISTRICTS)]
    prefix = unique_name("fleet")
    async with fake.serve() as base_url:
        env = poller_env(
            bootstrap_servers,
            base_url,
            prefix,
            districts,
            poll_interval_s="0.2",
            idle_poll_interval_s=str(IDLE_POLL_S),
            group_session_timeout_ms="6000",
            max_concurrent_polls="8",
        )

        def poller(name: str) -> contextlib.AbstractAsyncContextManager[asyncio.subprocess.Process]:
            return module_process(
                "connectors",
                "run",
                env={**env, "CLEVER_POLLER_INSTANCE_ID": name},
                log=tmp_path / f"{name}.log",
            )

        stop = asyncio.Event()
        async with poller("first"), poller("second") as second:
            await every_district_caught_up(kafka_connection, prefix, districts)
            clever = asyncio.create_task(changing(districts, stop))
            try:
                async with poller("third"):

                    async def third_polls() -> bool:
                        return any("(third)" in agent for agent in fake.stats()["agents"])

                    await eventually(third_polls, timeout_s=60, what="the third poller polling")
                    second.send_signal(signal.SIGKILL)
                    assert await asyncio.wait_for(second.wait(), 10) == -signal.SIGKILL

                    # Its shards move once the group misses its heartbeats.
                    async def second_replaced() -> bool:
                        return all(
                            not runs[-1].user_agent.endswith("(second)")
                            for runs in (fake.poller_runs(d.id) for d in districts)
                        )

                    await eventually(second_replaced, timeout_s=60, what="the kill's shards moved")
                    stop.set()
                    await clever
                    # One more change everywhere: only a live owner can pick it up.
                    for n, district in enumerate(districts):
                        district.random_changes(1, seed=10_000 + n)
                    await every_district_caught_up(kafka_connection, prefix, districts)
            finally:
                stop.set()
                await clever

    schemas = ReleasedSchemas(["dev.cleverstream.clever.RawCleverRecord"])
    raw = read_topic(bootstrap_servers, PollerTopics.for_prefix(prefix).raw, schemas)
    by_district: dict[str, list[dict[str, object]]] = {}
    for message in raw:
        assert message.key is not None
        assert message.value is not None
        by_district.setdefault(message.key.decode(), []).append(message.value)
    for district in districts:
        values = by_district.get(district.id, [])
        kinds = Counter(str(value["kind"]) for value in values)
        assert kinds["SYNC_STARTED"] == 1, district.id
        events = [value["event_id"] for value in values if value["kind"] == "EVENT"]
        assert events == [event["id"] for event in district.events()], district.id
    agents = {run.user_agent for d in districts for run in fake.poller_runs(d.id)}
    assert {agent.rsplit(" ", 1)[-1] for agent in agents} == {"(first)", "(second)", "(third)"}
    assert fake.overlapping_runs(gap_s=IDLE_POLL_S + 1.0, tolerance=0) == []
