"""A worker exits 0 on SIGTERM within its stop timeout whatever it is doing: with its group
join pending, or with a restore of its tables running (the broker-down case is
``test_stop_with_the_broker_down.py``).

Each state is made to last, not hoped for:
- a join is pending while another member of the group is frozen (SIGSTOP): the coordinator
  waits for that member to rejoin until its session expires, here long after the SIGTERM;
- a restore runs while a changelog of many records is read, and the test checks that the
  worker had not finished it when the SIGTERM went.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from confluent_kafka import Producer

from schemas.topics import RAW_EVENTS
from tests.e2e.processes import module_process
from tests.e2e.test_worker_process import worker_env
from tests.waiting import eventually

pytestmark = pytest.mark.e2e

#: The worker's own bound on a stop (CLEVER_WORKER_STOP_TIMEOUT_S's default) and some slack.
STOP_WITHIN_S = 25.0
#: Long enough that a join waiting on the frozen member is still pending at the SIGTERM.
SESSION_TIMEOUT_S = 60
#: Changelog records: a restore of them lasts seconds, not milliseconds.
CHANGELOG_RECORDS = 600_000


async def logged(log: Path, text: str, *, times: int = 1, timeout_s: float = 90) -> None:
    async def found() -> bool:
        return (await asyncio.to_thread(log.read_text, errors="replace")).count(text) >= times

    await eventually(found, timeout_s=timeout_s, what=f"{text!r} {times} times in {log.name}")


async def group_state_is(bootstrap_servers: str, group_id: str, state: str) -> bool:
    """Whether the coordinator says ``group_id`` is in ``state``."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        [response] = await admin.describe_consumer_groups([group_id])
    finally:
        await admin.close()
    # (error, group, state, ...) in every version of the answer.
    return any(str(group[2]) == state for group in response.groups)


async def stopped_in_time(process: asyncio.subprocess.Process) -> int:
    """SIGTERM ``process``; its exit code, which must come within ``STOP_WITHIN_S``."""
    process.send_signal(signal.SIGTERM)
    started = time.monotonic()
    code = await asyncio.wait_for(process.wait(), timeout=STOP_WITHIN_S)
    assert time.monotonic() - started < STOP_WITHIN_S
    return code


#: What each engine logs once it owns its partitions: "taken:" per partition (native), or
#: Faust's assignment.
TAKEN = {"native": "taken:", "faust": "Setting newly assigned partitions"}


@pytest.mark.parametrize("engine", ["native", "faust"])
async def test_a_worker_whose_group_join_is_pending_exits_0_on_sigterm(
    engine: str, bootstrap_servers: str, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    prefix, app_id = unique_name("p"), unique_name("app")
    env = worker_env(bootstrap_servers, prefix, app_id, tmp_path / "a", engine=engine)
    env["CLEVER_WORKER_SESSION_TIMEOUT_S"] = str(SESSION_TIMEOUT_S)
    env_b = {**env, "CLEVER_WORKER_DATA_DIR": str(tmp_path / "b")}
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    args = ("streams", "worker", "--verbose")
    async with module_process(*args, env=env, log=first_log) as first:
        await logged(first_log, TAKEN[engine], times=3 if engine == "native" else 1)
        first.send_signal(signal.SIGSTOP)
        try:
            async with module_process(*args, env=env_b, log=second_log) as second:
                # It has asked to join; the coordinator holds the join for the frozen member.
                await logged(second_log, "joining group")
                await eventually(
                    lambda: group_state_is(bootstrap_servers, app_id, "PreparingRebalance"),
                    timeout_s=30,
                    what="the group rebalancing, its join held",
                )
                joined = TAKEN[engine] in second_log.read_text()
                code = await stopped_in_time(second)
        finally:
            first.send_signal(signal.SIGCONT)
        assert await stopped_in_time(first) == 0

    output = second_log.read_text()
    assert not joined, "the join was not pending: the test proves nothing\n" + output[-3000:]
    assert code == 0, output[-3000:]
    assert "Traceback" not in output


async def create_topics(bootstrap_servers: str, *topics: NewTopic) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics(list(topics))
    finally:
        await admin.close()


def fill_changelog(
    bootstrap_servers: str, topic: str, partitions: int, *, prefix: str, records: int
) -> None:
    """``records`` applied-event entries, as a worker's changelog holds them (the native
    engine's keys start with their table's name, ``prefix``)."""
    producer = Producer(
        {"bootstrap.servers": bootstrap_servers, "linger.ms": 50, "batch.size": 1_000_000}
    )
    for n in range(records):
        key = f"{prefix}district-{n % 7}/{n:024x}".encode()
        while True:
            try:
                producer.produce(topic, key=key, value=b"20000", partition=n % partitions)
                break
            except BufferError:
                producer.poll(0.1)
    assert producer.flush(120) == 0


#: Per engine: the changelog that holds the applied events, its keys' start, and what the
#: worker logs when its restore starts and when it is over.
RESTORES = {
    "native": ("{app}-tables-changelog", "events:", "taken: restoring", "records restored"),
    "faust": ("{app}-events-changelog", "", "Restoring state from", "Done reading from"),
}


async def a_large_changelog(
    bootstrap_servers: str,
    prefix: str,
    app_id: str,
    engine: str,
    *,
    records: int = CHANGELOG_RECORDS,
) -> None:
    """The raw topic of ``prefix``, and the changelog ``app_id``'s worker of ``engine`` keeps
    its applied events in, holding ``records`` of them: a restore to wait for."""
    name, key_prefix, _, _ = RESTORES[engine]
    changelog = name.format(app=app_id)
    await create_topics(
        bootstrap_servers,
        NewTopic(RAW_EVENTS.name(prefix), 3, 1),
        NewTopic(changelog, 3, 1, topic_configs={"cleanup.policy": "compact"}),
    )
    await asyncio.to_thread(
        fill_changelog, bootstrap_servers, changelog, 3, prefix=key_prefix, records=records
    )


@pytest.mark.parametrize("engine", ["native", "faust"])
async def test_a_worker_restoring_its_tables_exits_0_on_sigterm(
    engine: str, bootstrap_servers: str, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    prefix, app_id = unique_name("p"), unique_name("app")
    env = worker_env(bootstrap_servers, prefix, app_id, tmp_path, engine=engine)
    log = tmp_path / "worker.log"
    _, _, restoring, restored = RESTORES[engine]
    await a_large_changelog(bootstrap_servers, prefix, app_id, engine)

    async with module_process("streams", "worker", "--verbose", env=env, log=log) as process:
        await logged(log, restoring)
        restored_before = restored in log.read_text()
        code = await stopped_in_time(process)

    output = log.read_text()
    assert not restored_before, "the restore was over: the test proves nothing\n" + output[-3000:]
    assert code == 0, output[-3000:]
    assert "Traceback" not in output
