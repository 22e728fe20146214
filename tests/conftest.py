"""The suite's shared fixtures: one real Kafka broker for the session, unique names, topics.

The broker is the project's own local Kafka (provisioned from Maven Central) in a state
folder of this session, or the cluster named by KAFKA_BOOTSTRAP_SERVERS. It starts on first
use, so a run of unit tests alone starts none. A test that needs Kafka never skips.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

# Imported now, not lazily by its plugin at the end of the run: on CPython 3.11.7, after
# aiokafka reports a fenced producer, a later ast.parse (pytest rewriting a module imported
# late) can fail with "AST constructor recursion depth mismatch", a CPython bug.
import hypothesis  # noqa: F401
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from foundation.connection import KafkaConnection
from localkafka import LocalKafkaSettings, RunningBroker, local_kafka

pytest_plugins = ["tests.fake_clever_fixtures"]

TopicFactory = Callable[..., Awaitable[str]]


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBroker]:
    """The session's broker (started here, in the main thread, so it dies with pytest)."""
    settings = LocalKafkaSettings(state_dir=tmp_path_factory.mktemp("kafka-broker"))
    with local_kafka(settings) as broker:
        yield broker


@pytest.fixture
def bootstrap_servers(kafka_broker: RunningBroker) -> str:
    """``host:port`` of the session's broker."""
    return kafka_broker.bootstrap_servers


@pytest.fixture
def kafka_connection(kafka_broker: RunningBroker) -> KafkaConnection:
    """The session's broker as the pipeline's clients take it (plaintext)."""
    return KafkaConnection(kafka_broker.bootstrap_servers)


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """A factory of names unique to this test run: ``<kind>.<test>.<random>``."""
    test = re.sub(r"[^A-Za-z0-9-]+", "-", request.node.name).strip("-")[:80]

    def make(kind: str) -> str:
        return f"{kind}.{test}.{uuid.uuid4().hex[:10]}"

    return make


@pytest.fixture
async def kafka_admin(bootstrap_servers: str) -> AsyncIterator[AIOKafkaAdminClient]:
    """An admin client of the session's broker."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=30_000)
    await admin.start()
    try:
        yield admin
    finally:
        await admin.close()


@pytest.fixture
def topic_factory(
    kafka_admin: AIOKafkaAdminClient, unique_name: Callable[[str], str]
) -> TopicFactory:
    """A factory that creates a unique topic and returns its name."""

    async def create(partitions: int = 1, **config: str) -> str:
        name = unique_name("topic")
        response = await kafka_admin.create_topics(
            [NewTopic(name, partitions, 1, topic_configs=config)], timeout_ms=30_000
        )
        assert response.topic_errors[0][1] == 0, response.topic_errors
        return name

    return create
