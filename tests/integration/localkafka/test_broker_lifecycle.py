"""Start, stop, status, restarts and crashes of real local brokers (besides the session's)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from localkafka import LocalKafka, LocalKafkaSettings, local_kafka
from localkafka.config import BrokerLayout
from localkafka.exceptions import PortInUseError
from localkafka.probe import is_serving
from localkafka.procs import is_alive, pids_with_argument
from tests.waiting import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def kafka(tmp_path: Path) -> Iterator[LocalKafka]:
    """A broker of its own state folder, stopped after the test whatever happened."""
    broker = LocalKafka(LocalKafkaSettings(state_dir=tmp_path / "state"))
    try:
        yield broker
    finally:
        broker.stop()
        assert pids_with_argument(broker.layout.command_line_marker) == []


def test_start_status_stop(kafka: LocalKafka) -> None:
    assert not kafka.status().running

    broker = kafka.start()

    assert broker.started_here
    assert broker.pid is not None
    host, port = broker.bootstrap_servers.split(":")
    assert is_serving(host, int(port))
    assert kafka.status().running
    assert broker.log_file is not None
    assert broker.log_file.stat().st_size > 0
    assert kafka.stop()
    assert not is_alive(broker.pid)
    assert not kafka.status().running
    assert not kafka.stop()  # nothing left to stop


def test_a_second_start_reuses_the_running_broker(kafka: LocalKafka) -> None:
    first = kafka.start()

    again = LocalKafka(LocalKafkaSettings(state_dir=kafka.layout.state_dir)).start()

    assert (again.pid, again.bootstrap_servers) == (first.pid, first.bootstrap_servers)
    assert not again.started_here
    assert pids_with_argument(kafka.layout.command_line_marker) == [first.pid]


def test_concurrent_starts_do_not_collide(tmp_path: Path) -> None:
    settings = LocalKafkaSettings(state_dir=tmp_path / "state")
    layout = BrokerLayout(settings.resolved_state_dir)
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            starts = [pool.submit(LocalKafka(settings).start, detached=True) for _ in range(2)]
            brokers = [start.result(timeout=180) for start in starts]

        assert brokers[0].pid == brokers[1].pid
        assert sorted(broker.started_here for broker in brokers) == [False, True]
        assert pids_with_argument(layout.command_line_marker) == [brokers[0].pid]
    finally:
        LocalKafka(settings).stop()


def test_a_stale_record_of_a_dead_broker_is_cleaned(kafka: LocalKafka) -> None:
    first = kafka.start()
    first_pid = first.pid
    assert first_pid is not None
    os.kill(first_pid, signal.SIGKILL)  # a crash: the record stays behind
    wait_until(lambda: not is_alive(first_pid), timeout_s=30, what="the broker to die")
    assert "stale record" in kafka.status().detail

    second = kafka.start()

    assert second.pid != first.pid
    assert kafka.status().running
    # The same ports: the clients of the broker that died find its successor by themselves.
    assert second.bootstrap_servers == first.bootstrap_servers


def test_a_restart_after_a_stop_keeps_the_ports(kafka: LocalKafka) -> None:
    first = kafka.start()
    kafka.stop()

    second = kafka.start()

    assert second.bootstrap_servers == first.bootstrap_servers


def test_an_orphan_broker_without_a_record_is_found_and_stopped(kafka: LocalKafka) -> None:
    orphan = kafka.start(detached=True)
    kafka.layout.state_file.unlink()  # as if the run that started it crashed mid-way
    assert "orphan" in kafka.status().detail

    replacement = kafka.start()

    assert orphan.pid is not None
    assert not is_alive(orphan.pid)
    assert replacement.pid != orphan.pid
    assert kafka.status().running


def test_an_attached_broker_dies_with_its_owner_even_on_sigkill(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    owner_program = textwrap.dedent(
        f"""
        import sys
        from localkafka import LocalKafka, LocalKafkaSettings
        broker = LocalKafka(LocalKafkaSettings(state_dir={str(state_dir)!r})).start()
        print(broker.pid, flush=True)
        sys.stdin.read()
        """
    )
    with subprocess.Popen(
        [sys.executable, "-c", owner_program],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as owner:
        try:
            assert owner.stdout is not None
            broker_pid = int(owner.stdout.readline())
            assert is_alive(broker_pid)

            owner.kill()
            owner.wait(timeout=30)

            wait_until(
                lambda: not is_alive(broker_pid), timeout_s=60, what="the orphaned broker to stop"
            )
        finally:
            owner.kill()
            LocalKafka(LocalKafkaSettings(state_dir=state_dir)).stop()


def test_a_taken_port_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = LocalKafkaSettings(state_dir=tmp_path / "state", port=port)

        with pytest.raises(PortInUseError, match=f"127.0.0.1:{port} is taken") as caught:
            LocalKafka(settings).start()

    assert "LOCAL_KAFKA_PORT" in str(caught.value)


def test_topics_survive_a_restart_and_fresh_forgets_them(kafka: LocalKafka) -> None:
    broker = kafka.start()
    asyncio.run(write_one(broker.bootstrap_servers, "kept", b"survives a restart"))
    kafka.stop()

    restarted = kafka.start()

    assert asyncio.run(read_first(restarted.bootstrap_servers, "kept")) == b"survives a restart"
    fresh = kafka.start(fresh=True)
    assert asyncio.run(topic_names(fresh.bootstrap_servers)) == set()


def test_an_existing_cluster_is_used_instead_of_starting_one(bootstrap_servers: str) -> None:
    settings = LocalKafkaSettings(KAFKA_BOOTSTRAP_SERVERS=bootstrap_servers)

    with local_kafka(settings) as broker:
        assert broker.external
        assert broker.bootstrap_servers == bootstrap_servers
        assert broker.pid is None


def test_the_record_names_ports_and_cluster(kafka: LocalKafka) -> None:
    broker = kafka.start()

    record = json.loads(kafka.layout.state_file.read_text())

    assert record["pid"] == broker.pid
    assert f"{record['host']}:{record['broker_port']}" == broker.bootstrap_servers
    assert record["kafka_version"] == broker.kafka_version
    assert len(record["cluster_id"]) == 22


async def write_one(bootstrap_servers: str, topic: str, value: bytes) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 1, 1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, value)
    finally:
        await producer.stop()


async def read_first(bootstrap_servers: str, topic: str) -> bytes | None:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers)
    await consumer.start()
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        await consumer.seek_to_beginning(partition)
        record = await asyncio.wait_for(consumer.getone(), timeout=30)
        return record.value
    finally:
        await consumer.stop()


async def topic_names(bootstrap_servers: str) -> set[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        return {name for name in await admin.list_topics() if not name.startswith("__")}
    finally:
        await admin.close()
