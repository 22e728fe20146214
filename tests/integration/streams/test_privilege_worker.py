"""The privilege worker on the real broker, fed by the real poller from the fake Clever."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from fakeclever import FakeClever
from schemas.values import ChangeKind
from tests.integration.connectors.poller_harness import (
    caught_up,
    district_entry,
    poller_settings,
    running_poller,
)
from tests.integration.streams.worker_harness import (
    current_state,
    privilege_changes,
    replay,
    running_worker,
    worker_settings,
)
from tests.waiting import eventually

pytestmark = pytest.mark.integration


async def test_the_state_topic_and_the_replayed_changes_equal_clevers_ground_truth(
    bootstrap_servers: str, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    fake = FakeClever()
    district = fake.add_district(seed=101, contacts=60)
    prefix = unique_name("p")
    async with fake.serve() as base_url:
        poller = poller_settings(bootstrap_servers, base_url, prefix, [district_entry(district)])
        settings = worker_settings(bootstrap_servers, prefix, unique_name("app"), tmp_path)
        async with running_poller(poller), running_worker(settings):
            await caught_up(poller, district)
            district.random_changes(40, seed=1)
            district.repeat_events(5)
            await caught_up(poller, district)

            async def converged() -> bool:
                return await current_state(bootstrap_servers, prefix) == district.ground_truth()

            await eventually(converged, timeout_s=60, what="the state topic to match Clever")

    changes = await privilege_changes(bootstrap_servers, prefix)
    assert replay(changes, district.id) == district.ground_truth()
    assert len({c.change_id for c in changes}) == len(changes)
    kinds = Counter(change.kind for change in changes)
    assert kinds[ChangeKind.GRANTED] >= len(district.ground_truth())
