"""`clever-stream replay` rebuilds the live raw topic into fresh outputs, whole or by district."""

from __future__ import annotations

import asyncio
import re
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import pytest

from fakeclever import FakeClever, FakeDistrict
from foundation.console import PROJECT_ERROR
from schemas.codec import default_codec
from schemas.keys import parse_pair_key
from schemas.records import PrivilegeState
from schemas.topics import PRIVILEGE_STATE
from tests.e2e.conftest import CommandEnv, run_command
from tests.integration.connectors.poller_harness import (
    caught_up,
    district_entry,
    poller_settings,
    running_poller,
)
from tests.integration.streams.worker_harness import (
    converge,
    read_all,
    running_worker,
    worker_settings,
)

pytestmark = pytest.mark.e2e

#: (contact, student, relationship, contact type) of a live pair, by district.
Pairs = dict[str, frozenset[tuple[str, str, str | None, str | None]]]


async def live_deployment(
    bootstrap_servers: str, prefix: str, districts: list[FakeDistrict], fake: FakeClever,
    data_dir: Path,
) -> None:  # fmt: skip
    """Run the poller and a worker of ``prefix`` until the state topic is Clever's state."""

    def truth() -> frozenset[tuple[str, str, str | None, str | None]]:
        return frozenset().union(*(district.ground_truth() for district in districts))

    async with fake.serve() as base_url:
        entries = [district_entry(district) for district in districts]
        poller = poller_settings(bootstrap_servers, base_url, prefix, entries)
        worker = worker_settings(bootstrap_servers, prefix, None, data_dir)
        async with running_poller(poller), running_worker(worker):
            for district in districts:
                await caught_up(poller, district)
            for seed, district in enumerate(districts):
                district.random_changes(15, seed=seed)
            for district in districts:
                await caught_up(poller, district)
            await converge(bootstrap_servers, prefix, truth, timeout_s=90)


async def state_by_district(bootstrap_servers: str, prefix: str) -> Pairs:
    """The live pairs the state topic of ``prefix`` holds, by district."""
    codec = default_codec()
    latest: dict[bytes, PrivilegeState | None] = {}
    for message in await read_all(bootstrap_servers, PRIVILEGE_STATE.name(prefix)):
        latest[message.key] = (
            None if message.value is None else codec.decode(message.value, PrivilegeState)
        )
    found: dict[str, set[tuple[str, str, str | None, str | None]]] = defaultdict(set)
    for key, state in latest.items():
        if state is not None:
            district, contact, student = parse_pair_key(key)
            privilege = state.privilege
            found[district].add(
                (contact, student, privilege.relationship_raw, privilege.contact_type_raw)
            )
    return {district: frozenset(pairs) for district, pairs in found.items()}


def test_a_replay_rebuilds_the_live_state_and_a_district_replay_that_district_alone(
    command_env: CommandEnv,
    bootstrap_servers: str,
    unique_name: Callable[[str], str],
    tmp_path: Path,
) -> None:
    fake = FakeClever()
    districts = [fake.add_district(seed=seed, contacts=25) for seed in (31, 32)]
    live = unique_name("live")
    asyncio.run(live_deployment(bootstrap_servers, live, districts, fake, tmp_path / "live"))
    env = command_env(
        KAFKA_BOOTSTRAP_SERVERS=bootstrap_servers,
        CLEVER_STREAM_TOPIC_PREFIX=live,
        CLEVER_STREAM_TOPIC_PARTITIONS="3",
        CLEVER_WORKER_DATA_DIR=str(tmp_path / "replays"),
    )
    rebuilt, one = unique_name("rebuilt"), unique_name("one")

    whole = run_command("clever_stream", "replay", "--to-prefix", rebuilt, env=env)
    single = run_command(
        "clever_stream", "replay", "--to-prefix", one, "--district", districts[0].id, env=env
    )
    again = run_command("clever_stream", "replay", "--to-prefix", rebuilt, env=env)

    assert whole.code == 0, whole.output
    match = re.search(r"Replayed (\d+) raw records .* (\d+) privilege changes in", whole.output)
    assert match, whole.output
    assert int(match[1]) > 0
    assert int(match[2]) > 0
    states = asyncio.run(state_by_district(bootstrap_servers, live))
    assert set(states) == {district.id for district in districts}
    assert asyncio.run(state_by_district(bootstrap_servers, rebuilt)) == states
    assert single.code == 0, single.output
    assert asyncio.run(state_by_district(bootstrap_servers, one)) == {
        districts[0].id: states[districts[0].id]
    }
    # The rebuilt outputs' group has committed offsets now: a second run is refused.
    assert again.code == PROJECT_ERROR
    assert "has committed offsets already" in again.output
    assert "Traceback" not in again.output
