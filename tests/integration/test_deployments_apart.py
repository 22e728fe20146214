"""Two deployments on one cluster, differing only in their topic prefix, stay apart.

Each runs a poller and a worker over the same fake Clever district (the same district ID,
so the same transactional ID suffixes), with every other name left to its default: the
worker group, its changelog and transactional IDs, and the poller's transactional IDs all
derive from the prefix. Neither fences the other, and each reaches Clever's state.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from fakeclever import FakeClever
from streams.engines.native.changelog import changelog_topic
from tests.integration.connectors.poller_harness import (
    caught_up,
    district_entry,
    poller_settings,
    running_poller,
)
from tests.integration.streams.worker_harness import (
    converge,
    running_worker,
    worker_settings,
)

pytestmark = pytest.mark.integration


async def test_two_deployments_differing_only_in_prefix_neither_see_nor_fence_each_other(
    bootstrap_servers: str, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    fake = FakeClever()
    district = fake.add_district(seed=77, contacts=30)
    blue, green = unique_name("blue"), unique_name("green")
    async with fake.serve() as base_url:
        entries = [district_entry(district)]
        pollers = [poller_settings(bootstrap_servers, base_url, p, entries) for p in (blue, green)]
        workers = [worker_settings(bootstrap_servers, p, None, tmp_path / p) for p in (blue, green)]
        assert [w.group_id for w in workers] == [f"{blue}-privileges", f"{green}-privileges"]
        assert [p.transactional_prefix for p in pollers] == [f"{blue}-poller", f"{green}-poller"]
        async with (
            running_poller(pollers[0]) as blue_poller,
            running_poller(pollers[1]) as green_poller,
            running_worker(workers[0]),
            running_worker(workers[1]),
        ):
            for poller in pollers:
                await caught_up(poller, district)
            district.random_changes(20, seed=3)
            for poller in pollers:
                await caught_up(poller, district)
            for prefix in (blue, green):
                await converge(bootstrap_servers, prefix, district.ground_truth, timeout_s=60)
            for runner in (blue_poller, green_poller):
                assert [s.fenced for s in runner.status] == [False]

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        topics = set(await admin.list_topics())
        groups = {group[0] for group in await admin.list_consumer_groups()}
    finally:
        await admin.close()
    for prefix in (blue, green):
        assert changelog_topic(f"{prefix}-privileges") in topics
        assert f"{prefix}-privileges" in groups
