"""Creating the pipeline's topics on the real broker: complete, configured, idempotent."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from clever_stream.settings import CliSettings
from foundation.admin import default_replication_factor, ensure_topics
from foundation.connection import KafkaConnection
from schemas.provision import ensure_pipeline_topics
from schemas.topics import ALL_TOPICS, RAW_EVENTS

pytestmark = pytest.mark.integration


def settings_for(prefix: str, partitions: int = 3) -> CliSettings:
    return CliSettings(
        CLEVER_STREAM_TOPIC_PREFIX=prefix,
        CLEVER_STREAM_TOPIC_PARTITIONS=partitions,
    )


async def topic_config(admin: AIOKafkaAdminClient, topic: str) -> dict[str, str | None]:
    [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    [(_error, _message, _type, _name, entries)] = response.resources
    return {entry[0]: entry[1] for entry in entries}


async def test_every_topic_is_created_with_its_definition(
    kafka_connection: KafkaConnection,
    kafka_admin: AIOKafkaAdminClient,
    unique_name: Callable[[str], str],
) -> None:
    settings = settings_for(unique_name("prefix"))

    outcomes = await ensure_pipeline_topics(kafka_connection, settings, timeout_s=30)

    assert [outcome.name for outcome in outcomes] == [
        spec.name(settings.topic_prefix) for spec in ALL_TOPICS
    ]
    assert all(outcome.created for outcome in outcomes)
    assert {outcome.spec.dataset: outcome.partitions for outcome in outcomes} == {
        spec.dataset: spec.partitions or 3 for spec in ALL_TOPICS
    }
    for outcome in outcomes:
        config = await topic_config(kafka_admin, outcome.name)
        assert config["cleanup.policy"] == str(outcome.spec.cleanup_policy)
        assert config["retention.ms"] == str(outcome.spec.retention_ms)


async def test_creating_twice_changes_nothing(
    kafka_connection: KafkaConnection, unique_name: Callable[[str], str]
) -> None:
    settings = settings_for(unique_name("prefix"))
    await ensure_pipeline_topics(kafka_connection, settings, timeout_s=30)

    again = await ensure_pipeline_topics(kafka_connection, settings, timeout_s=30)

    assert not any(outcome.created for outcome in again)


async def test_an_existing_topic_keeps_its_partitions(
    bootstrap_servers: str, kafka_admin: AIOKafkaAdminClient, unique_name: Callable[[str], str]
) -> None:
    prefix = unique_name("prefix")
    existing = RAW_EVENTS.name(prefix)
    await kafka_admin.create_topics([NewTopic(existing, 2, 1)])

    [outcome] = await ensure_topics(
        kafka_admin,
        [RAW_EVENTS],
        prefix=prefix,
        partitions=12,
        replication_factor=1,
        timeout_ms=30_000,
    )

    assert (outcome.name, outcome.created, outcome.partitions) == (existing, False, 2)


async def test_the_default_replication_fits_the_cluster(kafka_admin: AIOKafkaAdminClient) -> None:
    assert await default_replication_factor(kafka_admin) == 1  # one broker here
