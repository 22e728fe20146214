"""The poller and the worker stop cleanly on SIGTERM with their broker gone, saying little.

Each test runs a broker of its own (the suite's shared one must stay up), brings the pipeline
up on it, SIGKILLs the broker, lets the clients retry for a while, then sends SIGTERM: the
process must exit 0 within its stop timeout, print no traceback, and log the outage's
connection errors a few times, not once per retry.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fakeclever import FakeClever
from localkafka import LocalKafka, LocalKafkaSettings, RunningBroker
from tests.e2e.processes import module_process, poller_env
from tests.e2e.test_worker_process import worker_env
from tests.waiting import eventually

pytestmark = pytest.mark.e2e

#: How long the clients retry against the dead broker before the SIGTERM.
OUTAGE_S = 8.0
#: The worker's and the poller's own bound on a stop, and some slack.
STOP_WITHIN_S = 30.0


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[RunningBroker]:
    """A broker of this test's own, stopped (if the test left it up) at the end."""
    kafka = LocalKafka(LocalKafkaSettings(state_dir=tmp_path / "broker"))
    try:
        # Detached: the test kills it, and it must not depend on which thread started it.
        yield kafka.start(detached=True)
    finally:
        kafka.stop()


async def stop_after_an_outage(
    process: asyncio.subprocess.Process,
    broker: RunningBroker,
    log: Path,
    ready: str,
    *,
    times: int = 1,
) -> tuple[int, str]:
    """Wait for ``ready`` ``times`` in ``log`` (the process at work, every partition or
    district taken), SIGKILL the broker, wait, SIGTERM: the exit code and the log."""

    async def is_ready() -> bool:
        return (await asyncio.to_thread(log.read_text, errors="replace")).count(ready) >= times

    await eventually(is_ready, timeout_s=90, what=f"{ready!r} {times} times in the log")
    assert broker.pid is not None
    os.kill(broker.pid, signal.SIGKILL)
    await asyncio.sleep(OUTAGE_S)
    process.send_signal(signal.SIGTERM)
    started = time.monotonic()
    code = await asyncio.wait_for(process.wait(), timeout=STOP_WITHIN_S)
    assert time.monotonic() - started < STOP_WITHIN_S
    return code, await asyncio.to_thread(log.read_text, errors="replace")


def assert_quiet(output: str) -> None:
    assert "Traceback" not in output, output[-3000:]
    errors = [line for line in output.splitlines() if " ERROR aiokafka" in line]
    # Without the once-a-minute rule the clients log hundreds of these in the outage.
    assert len(errors) <= 25, "\n".join(errors[:40])


async def test_a_worker_exits_0_on_sigterm_with_its_broker_down(
    own_broker: RunningBroker, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    env = worker_env(own_broker.bootstrap_servers, unique_name("p"), unique_name("app"), tmp_path)
    log = tmp_path / "worker.log"
    async with module_process("streams", "worker", "--verbose", env=env, log=log) as process:
        # Its three raw partitions taken: a worker at work, not one mid-rebalance.
        code, output = await stop_after_an_outage(process, own_broker, log, "taken:", times=3)

    assert code == 0, output[-3000:]
    assert_quiet(output)


async def test_a_poller_exits_0_on_sigterm_with_its_broker_down(
    own_broker: RunningBroker, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    fake = FakeClever()
    district = fake.add_district(seed=5, contacts=10)
    log = tmp_path / "poller.log"

    changed_after: list[object] = [None]  # the last request served before the last change

    async def asked_again() -> bool:
        return bool(fake.requests) and fake.requests[-1] is not changed_after[0]

    async def changing() -> None:
        # Clever changes again each time the poller has asked since, so the outage catches a
        # transaction in flight. Once the broker is gone the poller stops committing, and
        # this waits until the test is done with it.
        for round_ in itertools.count():
            district.random_changes(2, seed=round_)
            changed_after[0] = fake.requests[-1] if fake.requests else None
            await eventually(asked_again, timeout_s=300, what="the poller asking Clever again")

    async with fake.serve() as base_url:
        env = poller_env(own_broker.bootstrap_servers, base_url, unique_name("p"), [district])
        async with module_process("connectors", "--verbose", "run", env=env, log=log) as process:
            clever = asyncio.create_task(changing())
            try:
                code, output = await stop_after_an_outage(
                    process, own_broker, log, "completed with"
                )
            finally:
                clever.cancel()

    assert code == 0, output[-3000:]
    assert_quiet(output)
