"""`--log-format json` makes every line the poller and a worker (both engines) write one JSON
object with the time, level, logger and message, from the one CLI's one option."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from fakeclever import FakeClever
from tests.e2e.processes import module_process, poller_env
from tests.e2e.test_worker_process import worker_env
from tests.integration.connectors.poller_harness import caught_up, poller_settings
from tests.waiting import eventually

pytestmark = pytest.mark.e2e

ARGS = ("clever_stream", "-v", "--log-format", "json")


def records(log: Path) -> list[dict[str, object]]:
    """Every line of ``log``, each parsed as one JSON object (a line that is not fails)."""
    found = []
    for line in log.read_text().splitlines():
        record = json.loads(line)
        assert isinstance(record, dict), line
        assert {"time", "level", "logger", "message"} <= set(record), line
        datetime.fromisoformat(str(record["time"]))
        found.append(record)
    return found


@pytest.mark.parametrize("engine", ["native", "faust"])
async def test_the_poller_and_a_worker_log_one_json_object_per_line(
    engine: str, bootstrap_servers: str, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    fake = FakeClever()
    district = fake.add_district(seed=71, contacts=5)
    prefix = unique_name("json")
    worker_log, poller_log = tmp_path / "worker.log", tmp_path / "poller.log"
    working = worker_env(bootstrap_servers, prefix, f"{prefix}-app", tmp_path, engine=engine)
    async with fake.serve() as base_url:
        settings = poller_settings(bootstrap_servers, base_url, prefix, [])
        polling = poller_env(bootstrap_servers, base_url, prefix, [district])
        async with (
            module_process(*ARGS, "poll", env=polling, log=poller_log) as poller,
            module_process(*ARGS, "worker", env=working, log=worker_log) as worker,
        ):
            await caught_up(settings, district)

            async def logged() -> bool:
                return len(worker_log.read_text().splitlines()) > 3

            await eventually(logged, timeout_s=60, what="the worker to log its start")
            for process in (poller, worker):
                process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(poller.wait(), 60) == 0
            assert await asyncio.wait_for(worker.wait(), 60) == 0

    for log in (poller_log, worker_log):
        found = records(log)
        assert found, log
        assert any(str(record["level"]) == "INFO" for record in found)
    assert district.token not in poller_log.read_text()
