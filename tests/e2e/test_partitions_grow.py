"""`clever-stream partitions grow` takes a running deployment from 2 to 6 raw partitions.

The poller and a worker run as processes while Clever changes; the poller stops, the worker
catches up and stops, Clever goes on changing, the command grows the raw topic and moves the
state, and both processes start again on 6 partitions while Clever keeps changing. A reader
that shares no code with the pipeline (confluent-kafka, fastavro, the released schemas) then
checks the change stream across the cut-over against the reference model fed each district's
raw records in their order: no change lost, duplicated or reordered per pair, the state topic
Clever's truth, and the outputs' topics never re-partitioned.
"""

from __future__ import annotations

import asyncio
import re
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from connectors.settings import PollerSettings
from fakeclever import FakeClever, FakeDistrict
from tests.e2e.conftest import CommandEnv, run_command
from tests.e2e.processes import module_process, poller_env
from tests.e2e.test_differential_pipeline import all_caught_up, check, read_all, worker_done
from tests.e2e.test_worker_process import worker_env
from tests.integration.connectors.poller_harness import poller_settings
from tests.outside_reader import Message

pytestmark = pytest.mark.e2e

BEFORE, AFTER = 2, 6
DISTRICTS = 6


def in_feed_order(raw: list[Message], before: set[tuple[int, int]]) -> dict[str, list[Message]]:
    """Each district's raw records in the order the poller wrote them: those written before
    the growth (on its old partition), then those after (on its new one)."""
    found: dict[str, list[Message]] = {}
    for message in sorted(raw, key=lambda m: ((m.partition, m.offset) not in before, m.offset)):
        if message.value is not None:
            found.setdefault(message.value["district_id"], []).append(message)
    return found


def changes(districts: list[FakeDistrict], round_: int) -> None:
    for index, district in enumerate(districts):
        district.random_changes(6, seed=100 * round_ + index)


async def stop(process: asyncio.subprocess.Process) -> None:
    process.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(process.wait(), 60) == 0


async def run(
    engine: str, store: str, command_env: CommandEnv, bootstrap_servers: str,
    names: Callable[[str], str], folder: Path,
) -> None:  # fmt: skip
    prefix, app_id = names("p"), names("app")
    fake = FakeClever()
    districts = [fake.add_district(seed=400 + n, contacts=10) for n in range(DISTRICTS)]
    worker = worker_env(bootstrap_servers, prefix, app_id, folder / "worker", engine=engine)
    worker.update(CLEVER_WORKER_STORE=store, CLEVER_STREAM_TOPIC_PARTITIONS=str(BEFORE))
    grow_env = command_env(
        KAFKA_BOOTSTRAP_SERVERS=bootstrap_servers, CLEVER_STREAM_TOPIC_PREFIX=prefix
    )
    grow = ("clever_stream", "partitions", "grow", "--to", str(AFTER), "--group", app_id)
    worker_args = ("streams", "worker", "--verbose")
    async with fake.serve() as base_url:
        settings: PollerSettings = poller_settings(bootstrap_servers, base_url, prefix, [])
        polling = poller_env(bootstrap_servers, base_url, prefix, districts)
        polling.update(CLEVER_STREAM_TOPIC_PARTITIONS=str(BEFORE))

        async with (
            module_process("connectors", "run", env=polling, log=folder / "poller.log") as p,
            module_process(*worker_args, env=worker, log=folder / "worker.log") as w,
        ):
            await all_caught_up(settings, districts)
            changes(districts, 1)
            await all_caught_up(settings, districts)
            await stop(p)
            raw = (await asyncio.to_thread(read_all, bootstrap_servers, prefix))["raw"]
            await worker_done(bootstrap_servers, app_id, f"{prefix}.clever.raw.v1", raw)
            refused = await asyncio.to_thread(run_command, *grow, env=grow_env)
            await stop(w)
        before = {(m.partition, m.offset) for m in raw}
        assert {m.partition for m in raw} == set(range(BEFORE))

        changes(districts, 2)  # Clever goes on while the pipeline is paused
        dry = await asyncio.to_thread(run_command, *grow, "--dry-run", env=grow_env)
        grown = await asyncio.to_thread(run_command, *grow, env=grow_env)
        again = await asyncio.to_thread(run_command, *grow, env=grow_env)

        async with (
            module_process("connectors", "run", env=polling, log=folder / "poller.log"),
            module_process(*worker_args, env=worker, log=folder / "worker.log"),
        ):
            await all_caught_up(settings, districts)
            changes(districts, 3)
            await all_caught_up(settings, districts)
            topics = await asyncio.to_thread(read_all, bootstrap_servers, prefix)
            await worker_done(bootstrap_servers, app_id, f"{prefix}.clever.raw.v1", topics["raw"])
            topics = await asyncio.to_thread(read_all, bootstrap_servers, prefix)

    assert refused.code != 0
    assert "live member" in refused.output, refused.output
    assert "Traceback" not in refused.output
    assert dry.code == 0, dry.output
    assert "Dry run: nothing changed." in dry.output
    assert grown.code == 0, grown.output
    moved = re.search(r"Moved the state of (\d+) of (\d+) districts", grown.output)
    assert moved, grown.output
    assert 0 < int(moved[1]) < int(moved[2]) == DISTRICTS, grown.output
    assert again.code == 0, again.output
    assert "nothing to do" in again.output
    # The districts' new records went to the new partitions; the outputs were not touched.
    assert {m.partition for m in topics["raw"]} > set(range(BEFORE))
    assert {m.partition for m in topics["changes"]} <= set(range(BEFORE))
    check(districts, topics, raw=in_feed_order(topics["raw"], before))


@pytest.mark.parametrize(
    ("engine", "store"), [("native", "rocksdb://"), ("faust", "memory://")], ids=["native", "faust"]
)
def test_growing_the_raw_topic_mid_stream_keeps_every_change_once_and_in_order(
    engine: str,
    store: str,
    command_env: CommandEnv,
    bootstrap_servers: str,
    unique_name: Callable[[str], str],
    tmp_path: Path,
) -> None:
    asyncio.run(run(engine, store, command_env, bootstrap_servers, unique_name, tmp_path))
