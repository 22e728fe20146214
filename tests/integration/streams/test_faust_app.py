"""Our Faust app factory on the real broker: an agent consumes a topic and updates a table."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import faust
import pytest
from aiokafka import AIOKafkaProducer

from foundation.connection import KafkaConnection
from streams.engines.faust.app import create_app
from streams.settings import WorkerSettings
from tests.kafka_reading import read_partition
from tests.waiting import eventually

pytestmark = pytest.mark.integration


async def test_an_agent_updates_a_changelog_backed_table(
    bootstrap_servers: str,
    kafka_connection: KafkaConnection,
    unique_name: Callable[[str], str],
    tmp_path: Path,
) -> None:
    settings = WorkerSettings(
        app_id=unique_name("app"),
        data_dir=tmp_path,
        web_enabled=False,
        topic_partitions=1,
    )
    app = create_app(settings, kafka=kafka_connection, replication_factor=1)
    words = app.topic(unique_name("words"), key_type=str, value_type=str, partitions=1)
    counts = app.Table("word-counts", default=int, partitions=1)

    @app.agent(words)
    async def count(stream: faust.StreamT[str]) -> None:
        async for word in stream:
            counts[word] += 1

    await words.maybe_declare()  # topics are created explicitly; the broker never auto-creates
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers)
    await producer.start()
    try:
        for word in ["guardian", "parent", "guardian"]:
            await producer.send_and_wait(
                words.get_topic_name(), key=word.encode(), value=f'"{word}"'.encode()
            )
    finally:
        await producer.stop()

    await app.start()
    try:

        async def counted() -> bool:
            return counts.get("guardian") == 2 and counts.get("parent") == 1

        await eventually(counted, timeout_s=60, what="the agent to count every word in the table")
    finally:
        await app.stop()

    # The table is backed by a changelog topic, written in the agent's transactions: a
    # read_committed reader of it finds the same counts (what recovery rebuilds from).
    changelog = await read_partition(bootstrap_servers, counts.changelog_topic.get_topic_name())
    latest = {record.key: record.value for record in changelog}
    assert latest == {b'"guardian"': b"2", b'"parent"': b"1"}
