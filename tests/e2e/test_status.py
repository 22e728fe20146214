"""`clever-stream status` says where a running deployment stands, read from Kafka alone."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from fakeclever import FakeClever
from schemas.keys import district_key
from schemas.topics import RAW_EVENTS
from tests.e2e.conftest import CommandEnv, Finished, run_command
from tests.integration.connectors.poller_harness import (
    caught_up,
    district_entry,
    poller_settings,
    running_poller,
)
from tests.integration.streams.worker_harness import converge, running_worker, worker_settings
from tests.waiting import eventually

pytestmark = pytest.mark.e2e


async def status(env: dict[str, str], *args: str) -> Finished:
    """``clever-stream status`` run as a process, beside this test's running deployment."""
    return await asyncio.to_thread(run_command, "clever_stream", "status", *args, env=env)


async def test_status_shows_districts_lag_owners_and_dead_letters(
    command_env: CommandEnv,
    bootstrap_servers: str,
    unique_name: Callable[[str], str],
    tmp_path: Path,
) -> None:
    fake = FakeClever()
    district = fake.add_district(seed=41, contacts=20)
    prefix = unique_name("status")
    env = command_env(KAFKA_BOOTSTRAP_SERVERS=bootstrap_servers, CLEVER_STREAM_TOPIC_PREFIX=prefix)
    async with fake.serve() as base_url:
        poller = poller_settings(bootstrap_servers, base_url, prefix, [district_entry(district)])
        worker = worker_settings(bootstrap_servers, prefix, None, tmp_path)
        async with running_poller(poller), running_worker(worker):
            await caught_up(poller, district)
            producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers)
            await producer.start()
            try:
                await producer.send_and_wait(
                    RAW_EVENTS.name(prefix), key=district_key(district.id), value=b"not avro"
                )
            finally:
                await producer.stop()
            await converge(bootstrap_servers, prefix, district.ground_truth, timeout_s=60)
            found: dict[str, Any] = {}

            async def settled() -> bool:
                shown = await status(env, "--json")
                assert shown.code == 0, shown.output
                found.update(json.loads(shown.output))
                partitions = found["partitions"]
                return sum(p["lag"] for p in partitions) == 0 and all(
                    p["owner"] for p in partitions
                )

            await eventually(settled, timeout_s=60, what="no lag and an owner per partition")
            text = await status(env)

    assert [d["district_id"] for d in found["districts"]] == [district.id]
    [shown] = found["districts"]
    assert shown["phase"] == "POLLING"
    assert shown["cursor_age_s"] >= 0
    assert found["group_id"] == f"{prefix}-privileges"
    assert len(found["partitions"]) == 3
    assert sum(found["dead_letters"].values()) == 1
    assert text.code == 0, text.output
    assert f"  {district.id}  polling" in text.output
    assert "Dead letters: 1 (" in text.output
