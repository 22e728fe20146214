"""A local 3-node cluster: replicated as promised, surviving the loss of its partition leader,
and a killed node back on its ports and data; the pipeline's topics set up meanwhile."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._config import ConfigResource
from confluent_kafka.admin._metadata import PartitionMetadata
from confluent_kafka.cimpl import NewTopic

from foundation.settings import KafkaSettings
from localkafka import LocalKafkaSettings
from localkafka.cluster import LocalKafkaCluster
from localkafka.procs import is_alive, pids_with_argument
from schemas.provision import ensure_pipeline_topics
from tests.waiting import wait_until

pytestmark = pytest.mark.integration

MESSAGES = 200


def produce(bootstrap_servers: str, topic: str, values: range) -> None:
    """Send ``values`` with acks=all and wait until each is acknowledged (or fail)."""
    producer = Producer(
        {"bootstrap.servers": bootstrap_servers, "acks": "all", "enable.idempotence": True}
    )
    failures: list[KafkaError] = []
    for value in values:
        producer.produce(
            topic,
            str(value).encode(),
            partition=0,
            on_delivery=lambda error, _: failures.append(error) if error else None,
        )
    assert producer.flush(60) == 0
    assert failures == []


def read_partition(bootstrap_servers: str, topic: str) -> list[int]:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap_servers,
            "group.id": uuid.uuid4().hex,
            "enable.partition.eof": True,
            "auto.offset.reset": "earliest",
        }
    )
    consumer.assign([TopicPartition(topic, 0, 0)])
    values: list[int] = []
    try:
        while True:
            message = consumer.poll(30)
            assert message is not None, "nothing read in 30 s"
            error = message.error()
            if error is not None:
                assert error.code() == KafkaError._PARTITION_EOF  # noqa: SLF001 - confluent-kafka's public name
                return values
            values.append(int(message.value() or b""))
    finally:
        consumer.close()


def topic_configs(admin: AdminClient, topic: str) -> dict[str, str] | None:
    """The topic's configuration, or None while the node asked does not know the topic yet."""
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
    try:
        described = admin.describe_configs([resource])[resource].result(30)
    except KafkaException as error:
        if error.args[0].code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
            return None
        raise
    return {name: entry.value for name, entry in described.items()}


def led_partition(admin: AdminClient, topic: str) -> PartitionMetadata | None:
    """The topic's partition 0 once the metadata shows it with a leader."""
    metadata = admin.list_topics(topic, timeout=30).topics.get(topic)
    if metadata is None or metadata.error is not None or 0 not in metadata.partitions:
        return None
    partition = metadata.partitions[0]
    return partition if partition.leader >= 0 else None


def test_a_cluster_keeps_every_acknowledged_write_through_the_loss_of_its_leader(
    tmp_path: Path,
) -> None:
    cluster = LocalKafkaCluster(LocalKafkaSettings(state_dir=tmp_path / "cluster", nodes=3))
    running = cluster.start()
    try:
        servers = running.bootstrap_servers
        admin = AdminClient({"bootstrap.servers": servers})
        topic = f"replicated-{uuid.uuid4().hex[:8]}"
        admin.create_topics([NewTopic(topic, 1)])[topic].result(30)
        # The controller has the topic; the node asked next may not have its metadata yet.
        configs = wait_until(
            lambda: topic_configs(admin, topic), timeout_s=30, what=f"{topic} known to every node"
        )
        assert configs["min.insync.replicas"] == "2"
        assert configs["unclean.leader.election.enable"] == "false"
        partition = wait_until(
            lambda: led_partition(admin, topic), timeout_s=30, what=f"{topic} with a leader"
        )
        assert sorted(partition.replicas) == [1, 2, 3]
        produce(servers, topic, range(MESSAGES))

        leader = partition.leader
        leader_pid = running.nodes[leader].pid
        assert leader_pid is not None
        assert cluster.kill(leader)
        assert not is_alive(leader_pid)
        produce(servers, topic, range(MESSAGES, 2 * MESSAGES))  # two replicas are enough
        assert read_partition(servers, topic) == list(range(2 * MESSAGES))
        # A process starting now still finds the dead node in the metadata for seconds, and
        # each request sent to it fails: it must try another instead of giving up.
        for attempt in range(4):
            settings = KafkaSettings(
                kafka_bootstrap_servers=servers, topic_prefix=f"{topic}-{attempt}"
            )
            kafka = settings.kafka_connection(hint="")
            asyncio.run(ensure_pipeline_topics(kafka, settings, timeout_s=30))

        again = cluster.restart(leader)
        assert again.bootstrap_servers == running.nodes[leader].bootstrap_servers
        assert cluster.start().started_here is False  # every node serves: reused
    finally:
        assert cluster.stop()
    for node_id in cluster.node_ids():
        assert pids_with_argument(cluster.node(node_id).layout.command_line_marker) == []
    assert not cluster.stop()
