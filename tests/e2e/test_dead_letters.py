"""`clever-stream dead-letters show` and `replay`: what failed, and back through the raw topic."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from fakeclever import FakeClever
from tests.e2e.conftest import CommandEnv, Finished, clever_stream
from tests.e2e.deployment import live_deployment, send_unreadable
from tests.waiting import eventually

pytestmark = pytest.mark.e2e


async def dead_letters(env: dict[str, str], *args: str) -> Finished:
    return await clever_stream(env, "dead-letters", *args)


async def test_dead_letters_are_shown_and_replayed_through_the_raw_topic(
    command_env: CommandEnv,
    bootstrap_servers: str,
    unique_name: Callable[[str], str],
    tmp_path: Path,
) -> None:
    fake = FakeClever()
    district = fake.add_district(seed=71, contacts=10)
    prefix = unique_name("letters")
    env = command_env(KAFKA_BOOTSTRAP_SERVERS=bootstrap_servers, CLEVER_STREAM_TOPIC_PREFIX=prefix)
    async with live_deployment(bootstrap_servers, prefix, fake, district, tmp_path):
        await send_unreadable(bootstrap_servers, prefix, district.id)

        async def shown(count: int) -> bool:
            found = await dead_letters(env, "show", "--district", district.id)
            assert found.code == 0, found.output
            return f"{count} dead letters: DecodeError {count}" in found.output

        await eventually(lambda: shown(1), timeout_s=60, what="one dead letter shown")
        dry = await dead_letters(env, "replay", "--dry-run")
        replayed = await dead_letters(env, "replay", "--reason", "DecodeError")
        # Still not a record: the worker dead-letters it once more.
        await eventually(lambda: shown(2), timeout_s=60, what="the replayed letter again")

    assert "1 dead letters would be replayed (dry run)." in dry.output
    assert replayed.code == 0, replayed.output
    assert "Appended 1 records to" in replayed.output
    assert "not avro" not in (await dead_letters(env, "show")).output
