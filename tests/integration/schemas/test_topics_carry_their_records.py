"""Each topic carries its record type through the real broker: keyed, encoded, decoded."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from aiokafka import AIOKafkaProducer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clever_stream.settings import CliSettings
from foundation.connection import KafkaConnection
from schemas.codec import default_codec
from schemas.keys import district_key, pair_key, parse_district_key, parse_pair_key
from schemas.provision import ensure_pipeline_topics
from schemas.records import Message, PrivilegeState
from schemas.topics import ALL_TOPICS, PRIVILEGE_STATE, TopicSpec
from tests.kafka_reading import read_partition
from tests.strategies import MESSAGES

pytestmark = pytest.mark.integration

TOPICS_WITH_RECORDS = [spec for spec in ALL_TOPICS if spec.value is not None]


def key_of(record: Message) -> bytes | None:
    """The key the contract gives ``record``'s topic (docs/topics.md)."""
    if isinstance(record, PrivilegeState):
        return pair_key(record.district_id, record.contact_id, record.student_id)
    # A dead letter's district may be unknown: then it has no key.
    return district_key(record.district_id) if record.district_id else None


@pytest.mark.parametrize("spec", TOPICS_WITH_RECORDS, ids=lambda spec: spec.dataset)
async def test_records_survive_a_trip_through_their_topic(
    spec: TopicSpec,
    bootstrap_servers: str,
    kafka_connection: KafkaConnection,
    unique_name: Callable[[str], str],
) -> None:
    settings_ = CliSettings(
        CLEVER_STREAM_TOPIC_PREFIX=unique_name("contract"), CLEVER_STREAM_TOPIC_PARTITIONS=1
    )
    await ensure_pipeline_topics(kafka_connection, settings_, timeout_s=30)
    topic = spec.name(settings_.topic_prefix)
    assert spec.value is not None
    records = sample(spec.value, count=25)
    codec = default_codec()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all")
    await producer.start()
    try:
        for record in records:
            await producer.send(topic, key=key_of(record), value=codec.encode(record), partition=0)
        await producer.flush()
    finally:
        await producer.stop()

    consumed = await read_partition(bootstrap_servers, topic)

    assert [codec.decode(message.value, spec.value) for message in consumed] == records
    assert [message.key for message in consumed] == [key_of(record) for record in records]
    for message, record in zip(consumed, records, strict=True):
        if spec is PRIVILEGE_STATE:
            assert parse_pair_key(message.key)[0] == record.district_id
        elif record.district_id:
            assert parse_district_key(message.key) == record.district_id


def sample(record_type: type[Message], *, count: int) -> list[Message]:
    """``count`` records drawn by the record type's strategy."""
    drawn: list[Message] = []

    @settings(max_examples=count, database=None, suppress_health_check=list(HealthCheck))
    @given(st.data())
    def draw(data: st.DataObject) -> None:
        drawn.append(data.draw(MESSAGES[record_type]))

    draw()
    return drawn
