"""A worker's /metrics, /health and /ready, scraped from a running `clever-stream worker` of
each engine: /ready answers 503 until the tables a changelog holds are restored, then 200,
and the counters move as Clever changes."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from fakeclever import FakeClever
from tests.e2e.processes import module_process
from tests.e2e.test_poller_endpoints import Samples, free_port, samples, value
from tests.e2e.test_stop_states import a_large_changelog
from tests.e2e.test_worker_process import worker_env
from tests.integration.connectors.poller_harness import (
    caught_up,
    district_entry,
    poller_settings,
    running_poller,
)
from tests.waiting import eventually

pytestmark = pytest.mark.e2e

LAG = "clever_worker_consumer_lag"
#: Per engine, the changelog's records: a restore to wait for, and time, before /ready says 200.
#: Faust restores several times slower than the native engine: a tenth keeps the test short.
RESTORED = {"native": 600_000, "faust": 60_000}
TOKEN = "views-t0ken"  # noqa: S105 - a test's own


@pytest.mark.parametrize("engine", ["native", "faust"])
async def test_a_worker_is_ready_once_restored_and_its_counters_move(
    engine: str, bootstrap_servers: str, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    prefix, app_id = unique_name("p"), unique_name("app")
    port = free_port()
    env = worker_env(bootstrap_servers, prefix, app_id, tmp_path, engine=engine)
    env.update(
        CLEVER_WORKER_WEB_ENABLED="true",
        CLEVER_WORKER_WEB_PORT=str(port),
        CLEVER_WORKER_VIEWS_TOKEN=TOKEN,
    )
    await a_large_changelog(bootstrap_servers, prefix, app_id, engine, records=RESTORED[engine])
    fake = FakeClever()
    district = fake.add_district(seed=91, contacts=15)
    readiness: list[int] = []
    log = tmp_path / "worker.log"
    args = ("clever_stream", "-v", "worker")
    async with (
        module_process(*args, env=env, log=log) as worker,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http,
    ):

        async def ready() -> bool:
            try:
                answer = await http.get("/ready")
            except httpx.TransportError:  # not listening yet
                return False
            readiness.append(answer.status_code)
            return answer.status_code == 200

        await eventually(ready, timeout_s=120, what="the worker ready")
        health = await http.get("/health")

        async def scraped(name: str, at_least: float, **labels: str) -> Samples | None:
            page = samples((await http.get("/metrics")).text)
            return page if value(page, name, **labels) >= at_least else None

        async with fake.serve() as base_url:
            poller = poller_settings(
                bootstrap_servers, base_url, prefix, [district_entry(district)]
            )
            async with running_poller(poller):
                await caught_up(poller, district)
                granted = "clever_worker_privilege_changes_total"
                before = await eventually(
                    lambda: scraped(granted, 1, kind="GRANTED"), timeout_s=60, what="grants"
                )
                applied = value(before, "clever_worker_records_total", outcome="applied")
                district.random_changes(6, seed=5)
                await caught_up(poller, district)
                after = await eventually(
                    lambda: scraped("clever_worker_records_total", applied + 6, outcome="applied"),
                    timeout_s=60,
                    what="the new records counted",
                )
                after = await eventually(
                    lambda: scraped("clever_worker_commit_duration_seconds_count", 1),
                    timeout_s=30,
                    what="a commit timed",
                )
            student = next(iter(district.ground_truth()))[1]
            view = f"/districts/{district.id}/students/{student}/contacts"
            missing = await http.get(view)
            wrong = await http.get(view, headers={"Authorization": "Bearer nope"})
            right = await http.get(view, headers={"Authorization": f"Bearer {TOKEN}"})
        worker.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(worker.wait(), 30) == 0

    assert (missing.status_code, wrong.status_code) == (401, 401)
    assert right.status_code == 200, right.text
    assert right.json()["contacts"]
    assert readiness[0] == 503, readiness  # restoring (or not yet assigned) first
    assert readiness[-1] == 200
    assert health.status_code == 200
    assert value(after, "clever_worker_partitions_owned") == 3
    assert value(after, "clever_worker_records_total", outcome="applied") >= applied + 6
    # Both engines: commits timed, the rebalance counted, the large changelog's restore timed,
    # each owned partition's lag reported.
    assert value(after, "clever_worker_commit_duration_seconds_count") > 0
    assert value(after, "clever_worker_rebalances_total") >= 1
    assert value(after, "clever_worker_restore_duration_seconds_count") >= 1
    lagging = {dict(labels)["partition"] for name, labels in after if name == LAG}
    assert lagging == {"0", "1", "2"}
    if engine == "native":  # Faust reports neither its restored records nor its aborts
        assert value(after, "clever_worker_restored_records_total") >= RESTORED[engine]
