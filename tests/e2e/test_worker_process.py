"""``python -m streams worker`` SIGKILLed mid-stream and restarted: every change exactly once.

Faust's exactly-once has open reports of duplicates after a kill (faust-streaming 517, 323,
177), so this is the proof the pipeline relies on: a read_committed consumer of the privilege
topic sees each change once, and both the state topic and the replayed changes equal what
the fake Clever holds. Both engines are proven: the native loop (the default) and the Faust
agents, each with both table stores.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from fakeclever import FakeClever
from streams.engines.faust.table_files import MARKER
from streams.engines.native.changelog import changelog_topic
from tests.e2e.processes import module_process
from tests.integration.connectors.poller_harness import (
    caught_up,
    district_entry,
    poller_settings,
    running_poller,
)
from tests.integration.streams.worker_harness import (
    current_state,
    privilege_changes,
    read_all,
    replay,
    symbols,
)
from tests.waiting import eventually

pytestmark = pytest.mark.e2e

#: What the native engine logs once a partition's tables are restored.
RESTORED = re.compile(r"raw partition \d+ ready: (\d+) changelog records restored")


def worker_env(
    bootstrap_servers: str,
    prefix: str,
    app_id: str,
    data_dir: Path,
    *,
    store: str = "memory://",
    engine: str = "native",
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLEVER_")}
    env.update(
        KAFKA_BOOTSTRAP_SERVERS=bootstrap_servers,
        CLEVER_WORKER_ENGINE=engine,
        CLEVER_WORKER_STORE=store,
        CLEVER_STREAM_TOPIC_PREFIX=prefix,
        CLEVER_STREAM_TOPIC_PARTITIONS="3",
        CLEVER_WORKER_APP_ID=app_id,
        CLEVER_WORKER_DATA_DIR=str(data_dir),
        CLEVER_WORKER_WEB_ENABLED="false",
        CLEVER_WORKER_COMMIT_INTERVAL_S="0.2",
        CLEVER_WORKER_SESSION_TIMEOUT_S="6",
    )
    return env


@asynccontextmanager
async def worker_process(
    env: dict[str, str], log: Path
) -> AsyncIterator[asyncio.subprocess.Process]:
    """A privilege worker, logging to ``log``."""
    async with module_process("streams", "worker", "--verbose", env=env, log=log) as process:
        yield process


# rocksdb: the restart (same app ID, same data folder) finds the killed worker's table
# files. Faust's hold the writes of the transaction the kill aborted and must not be carried
# on from; the native engine's hold committed state only, and are carried on from.
@pytest.mark.parametrize("store", ["memory://", "rocksdb://"], ids=["memory", "rocksdb"])
@pytest.mark.parametrize("engine", ["native", "faust"])
async def test_sigkill_mid_stream_then_restart_emits_every_change_exactly_once(
    bootstrap_servers: str,
    unique_name: Callable[[str], str],
    tmp_path: Path,
    store: str,
    engine: str,
) -> None:
    await killed_and_restarted(
        bootstrap_servers, unique_name, tmp_path, store=store, engine=engine, settings={}
    )


@pytest.mark.parametrize("engine", ["native", "faust"])
async def test_a_static_member_restarted_after_sigkill_takes_its_partitions_back_at_once(
    bootstrap_servers: str, unique_name: Callable[[str], str], tmp_path: Path, engine: str
) -> None:
    # A session longer than the restart is waited for: without static membership the
    # group would hold the restart's join until the killed member's session expired, and
    # the state would not converge in time.
    static = {
        "CLEVER_WORKER_INSTANCE_ID": "worker-0",
        "CLEVER_WORKER_SESSION_TIMEOUT_S": "240",
        "CLEVER_WORKER_BROKER_REQUEST_TIMEOUT_S": "250",
    }
    await killed_and_restarted(
        bootstrap_servers, unique_name, tmp_path, store="memory://", engine=engine, settings=static
    )


async def killed_and_restarted(
    bootstrap_servers: str,
    unique_name: Callable[[str], str],
    tmp_path: Path,
    *,
    store: str,
    engine: str,
    settings: dict[str, str],
) -> None:
    """A worker SIGKILLed mid-stream while Clever changes, then started again: every change
    committed exactly once, and the state as Clever holds it."""
    fake = FakeClever()
    district = fake.add_district(seed=111, contacts=400)
    prefix, app_id = unique_name("p"), unique_name("app")
    env = worker_env(
        bootstrap_servers, prefix, app_id, tmp_path / "worker", store=store, engine=engine
    )
    env.update(settings)
    faust_marker = tmp_path / "worker" / "v1" / "tables" / MARKER
    log = tmp_path / "worker.log"
    async with fake.serve() as base_url:
        poller = poller_settings(bootstrap_servers, base_url, prefix, [district_entry(district)])
        async with running_poller(poller):
            await caught_up(poller, district)
            async with worker_process(env, log) as worker:

                async def some_changes_committed() -> bool:
                    assert worker.returncode is None, log.read_text()[-3000:]
                    return len(await privilege_changes(bootstrap_servers, prefix)) >= 100

                await eventually(some_changes_committed, timeout_s=120, what="changes")
                # Keep Clever changing while the worker dies mid-stream.
                district.random_changes(300, seed=1)
                worker.send_signal(signal.SIGKILL)
                assert await asyncio.wait_for(worker.wait(), 10) == -signal.SIGKILL
            assert not faust_marker.exists(), "a killed worker must not vouch for its table files"

            district.random_changes(200, seed=2)
            await caught_up(poller, district)
            async with worker_process(env, log) as worker:
                last: list[frozenset[tuple[str, str, str | None, str | None]]] = []

                async def converged() -> bool:
                    assert worker.returncode is None, log.read_text()[-3000:]
                    last[:] = [await current_state(bootstrap_servers, prefix)]
                    return last[0] == district.ground_truth()

                try:
                    await eventually(converged, timeout_s=180, what="the state to match Clever")
                except AssertionError:
                    truth = district.ground_truth()
                    missing, extra = truth - last[0], last[0] - truth
                    raise AssertionError(
                        f"state: {len(missing)} pairs missing, {len(extra)} extra; e.g. "
                        f"{sorted(missing)[:3]} / {sorted(extra)[:3]}"
                    ) from None
                worker.send_signal(signal.SIGTERM)
                assert await asyncio.wait_for(worker.wait(), 60) == 0
            if store == "rocksdb://" and engine == "faust":
                assert faust_marker.exists(), "a clean stop vouches for its table files"
            if store == "rocksdb://" and engine == "native":
                # The restart read only what its files lacked: not the whole changelog.
                restored = [int(n) for n in RESTORED.findall(log.read_text())]
                changelog = await read_all(bootstrap_servers, changelog_topic(app_id))
                assert sum(restored) < len(changelog) // 2, restored

    changes = await privilege_changes(bootstrap_servers, prefix)
    repeated = [cid for cid, n in Counter(c.change_id for c in changes).items() if n > 1]
    assert not repeated, f"{len(repeated)} changes were committed more than once"
    assert replay(changes, district.id) == symbols(district.ground_truth())
