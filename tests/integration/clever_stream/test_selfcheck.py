"""The self-check's transactional round trip on the real broker."""

from __future__ import annotations

import pytest

from clever_stream.selfcheck import transactional_round_trip
from foundation.connection import KafkaConnection
from foundation.exceptions import SelfCheckError
from tests.conftest import TopicFactory

pytestmark = pytest.mark.integration


async def test_the_committed_record_comes_back_and_the_aborted_one_does_not(
    kafka_connection: KafkaConnection, topic_factory: TopicFactory
) -> None:
    topic = await topic_factory()

    trip = await transactional_round_trip(kafka_connection, topic=topic, timeout_s=30)

    # Offset 0 is the aborted record, 1 its abort marker: the committed record follows them.
    assert (trip.topic, trip.partition, trip.offset) == (topic, 0, 2)
    assert trip.latency_ms > 0


async def test_a_missing_topic_fails_within_the_bound_with_a_project_error(
    kafka_connection: KafkaConnection, unique_name
) -> None:
    with pytest.raises(SelfCheckError, match="took over 3s"):
        await transactional_round_trip(
            kafka_connection, topic=unique_name("never-created"), timeout_s=3
        )
