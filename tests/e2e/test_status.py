"""`clever-stream status` says where a running deployment stands, read from Kafka alone."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fakeclever import FakeClever
from tests.e2e.conftest import CommandEnv, Finished, clever_stream
from tests.e2e.deployment import live_deployment, send_unreadable
from tests.integration.streams.worker_harness import converge
from tests.waiting import eventually

pytestmark = pytest.mark.e2e


async def status(env: dict[str, str], *args: str) -> Finished:
    """``clever-stream status`` run as a process, beside this test's running deployment."""
    return await clever_stream(env, "status", *args)


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
    async with live_deployment(bootstrap_servers, prefix, fake, district, tmp_path):
        await send_unreadable(bootstrap_servers, prefix, district.id)
        await converge(bootstrap_servers, prefix, district.ground_truth, timeout_s=60)
        found: dict[str, Any] = {}

        async def settled() -> bool:
            shown = await status(env, "--json")
            assert shown.code == 0, shown.output
            found.update(json.loads(shown.output))
            partitions = found["partitions"]
            return sum(p["lag"] for p in partitions) == 0 and all(p["owner"] for p in partitions)

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
