"""The pipeline benchmark's bare loop: every raw record out once, its offsets committed with it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from bench.pipeline_kafka import GroupOffsets, publish, topic_records
from bench.pipeline_raw import consume_transform_produce
from bench.pipeline_workload import throughput_events
from schemas.codec import default_codec
from schemas.records import PrivilegeChange
from tests.conftest import TopicFactory
from tests.kafka_reading import read_partition
from tests.waiting import eventually

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("writer", ["codec", "engine"])
async def test_each_raw_record_gives_one_output_committed_with_its_offset(
    bootstrap_servers: str,
    topic_factory: TopicFactory,
    unique_name: Callable[[str], str],
    writer: str,
) -> None:
    raw, output = await topic_factory(partitions=2), await topic_factory(partitions=2)
    events = throughput_events(60, districts=4)
    await publish(bootstrap_servers, raw, events, page_size=10)
    records = await topic_records(bootstrap_servers, raw, partitions=2, timeout_s=30)
    group, stop = unique_name("group"), asyncio.Event()
    loop = asyncio.create_task(
        consume_transform_produce(
            bootstrap_servers,
            topic=raw,
            output_topic=output,
            group_id=group,
            commit_interval_s=0.1,
            stop=stop,
            writer=writer,
        )
    )
    try:
        async with GroupOffsets(bootstrap_servers) as offsets:

            async def all_committed() -> bool:
                assert not loop.done(), loop
                return records.all_below(await offsets.committed(group, raw))

            await eventually(all_committed, timeout_s=60, what="the loop to commit every record")
    finally:
        stop.set()
        processed = await asyncio.wait_for(loop, 30)

    codec = default_codec()
    changes = [
        codec.decode(message.value, PrivilegeChange)
        for partition in (0, 1)
        for message in await read_partition(bootstrap_servers, output, partition=partition)
    ]
    assert processed == len(events)
    assert sorted(change.cause.clever_event_id or "" for change in changes) == sorted(
        event.event_id for event in events
    )


async def test_an_unknown_writer_is_refused_before_anything_runs(bootstrap_servers: str) -> None:
    with pytest.raises(ValueError, match="no writer 'fast'"):
        await consume_transform_produce(
            bootstrap_servers,
            topic="unused",
            output_topic="unused",
            group_id="unused",
            commit_interval_s=0.1,
            stop=asyncio.Event(),
            writer="fast",
        )
