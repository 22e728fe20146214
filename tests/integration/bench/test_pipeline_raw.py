"""The pipeline benchmark's bare loops: every raw record's outputs out once, committed with its
offset; the processor's job sends exactly what the worker's processor gives."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable

import pytest

from bench.pipeline_kafka import GroupOffsets, create_topics, publish, topic_records
from bench.pipeline_raw import consume_transform_produce, output_topics
from bench.pipeline_workload import RawEvent, throughput_events
from schemas.codec import default_codec
from schemas.records import PrivilegeChange
from streams.processor.handler import RecordHandler
from streams.processor.store import MemoryStore
from streams.topics import OutputTopics
from tests.conftest import TopicFactory
from tests.kafka_reading import read_partition
from tests.waiting import eventually

pytestmark = pytest.mark.integration

PARTITIONS = 2


async def _loop_through(
    bootstrap_servers: str,
    topics: OutputTopics,
    events: list[RawEvent],
    *,
    group: str,
    job: str,
) -> int:
    """Run the loop doing ``job`` until it has committed every raw record; what it processed."""
    await publish(bootstrap_servers, topics.raw, events, page_size=10)
    records = await topic_records(
        bootstrap_servers, topics.raw, partitions=PARTITIONS, timeout_s=30
    )
    stop = asyncio.Event()
    loop = asyncio.create_task(
        consume_transform_produce(
            bootstrap_servers,
            topics=topics,
            group_id=group,
            commit_interval_s=0.1,
            stop=stop,
            job=job,
        )
    )
    try:
        async with GroupOffsets(bootstrap_servers) as offsets:

            async def all_committed() -> bool:
                assert not loop.done(), loop
                return records.all_below(await offsets.committed(group, topics.raw))

            await eventually(all_committed, timeout_s=60, what="the loop to commit every record")
    finally:
        stop.set()
        processed = await asyncio.wait_for(loop, 30)
    return processed


async def _read_all(bootstrap_servers: str, topic: str) -> list[tuple[bytes, bytes | None]]:
    return [
        (message.key, message.value)
        for partition in range(PARTITIONS)
        for message in await read_partition(bootstrap_servers, topic, partition=partition)
    ]


async def _topics(
    bootstrap_servers: str, topic_factory: TopicFactory, unique_name: Callable[[str], str]
) -> OutputTopics:
    output_prefix = unique_name("loop")
    await create_topics(bootstrap_servers, prefix=output_prefix, partitions=PARTITIONS)
    return output_topics(await topic_factory(partitions=PARTITIONS), output_prefix)


@pytest.mark.parametrize("job", ["codec", "writer"])
async def test_each_raw_record_gives_one_output_committed_with_its_offset(
    bootstrap_servers: str,
    topic_factory: TopicFactory,
    unique_name: Callable[[str], str],
    job: str,
) -> None:
    topics = await _topics(bootstrap_servers, topic_factory, unique_name)
    events = throughput_events(60, districts=4)

    processed = await _loop_through(
        bootstrap_servers, topics, events, group=unique_name("group"), job=job
    )

    codec = default_codec()
    changes = [
        codec.decode(value or b"", PrivilegeChange)
        for _, value in await _read_all(bootstrap_servers, topics.changes)
    ]
    assert processed == len(events)
    assert sorted(change.cause.clever_event_id or "" for change in changes) == sorted(
        event.event_id for event in events
    )


async def test_the_processor_job_sends_what_the_worker_processor_gives(
    bootstrap_servers: str,
    topic_factory: TopicFactory,
    unique_name: Callable[[str], str],
) -> None:
    topics = await _topics(bootstrap_servers, topic_factory, unique_name)
    events = throughput_events(120, districts=4)

    processed = await _loop_through(
        bootstrap_servers, topics, events, group=unique_name("group"), job="processor"
    )

    # The same raw records through the processor in this process, partition by partition.
    codec = default_codec()
    handler, store = RecordHandler(topics=topics, codec=codec), MemoryStore()
    expected: Counter[str] = Counter()
    final_states: dict[bytes, bytes | None] = {}
    for partition in range(PARTITIONS):
        for message in await read_partition(bootstrap_servers, topics.raw, partition=partition):
            for output in handler.handle(
                partition=partition,
                offset=message.offset,
                key=message.key,
                value=message.value,
                store=store,
            ):
                if output.topic == topics.state:
                    final_states[output.key] = output.value
                elif output.topic == topics.changes:
                    expected[codec.decode(output.value or b"", PrivilegeChange).change_id] += 1
    sent = Counter(
        codec.decode(value or b"", PrivilegeChange).change_id
        for _, value in await _read_all(bootstrap_servers, topics.changes)
    )
    assert processed == len(events)
    assert sum(expected.values()) > len(events) // 2
    assert sent == expected  # each change once, none missing
    sent_states: dict[bytes, bytes | None] = dict(await _read_all(bootstrap_servers, topics.state))
    # Values hold the time they were made; which pairs hold a privilege is what must agree.
    assert {key for key, value in sent_states.items() if value is not None} == {
        key for key, value in final_states.items() if value is not None
    }


async def test_an_unknown_job_is_refused_before_anything_runs(bootstrap_servers: str) -> None:
    with pytest.raises(ValueError, match="no job 'fast'"):
        await consume_transform_produce(
            bootstrap_servers,
            topics=output_topics("unused", "unused"),
            group_id="unused",
            commit_interval_s=0.1,
            stop=asyncio.Event(),
            job="fast",
        )
