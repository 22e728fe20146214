"""The broker's configuration files, rendered without I/O."""

from __future__ import annotations

import base64
from pathlib import Path

from localkafka.cluster import ClusterPlan
from localkafka.config import (
    BrokerLayout,
    ClusterNode,
    jvm_arguments,
    new_cluster_id,
    render_log4j2,
    render_server_properties,
)


def parse_properties(text: str) -> dict[str, str]:
    return dict(
        line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#")
    )


def test_server_properties_fit_a_single_node_on_loopback() -> None:
    properties = parse_properties(
        render_server_properties(
            host="127.0.0.1", broker_port=19092, controller_port=19093, data_dir=Path("/d")
        )
    )

    assert properties["process.roles"] == "broker,controller"
    assert properties["listeners"] == ("PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093")
    assert properties["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert properties["controller.quorum.voters"] == "1@127.0.0.1:19093"
    assert properties["log.dirs"] == "/d"
    assert properties["offsets.topic.replication.factor"] == "1"
    assert properties["transaction.state.log.replication.factor"] == "1"
    assert properties["transaction.state.log.min.isr"] == "1"
    assert properties["group.initial.rebalance.delay.ms"] == "0"
    assert properties["auto.create.topics.enable"] == "false"


def test_a_cluster_node_replicates_three_ways_and_needs_two_copies_for_a_write() -> None:
    voters = ClusterPlan("id", ((1, 2), (3, 4), (5, 6))).voters("127.0.0.1")
    properties = parse_properties(
        render_server_properties(
            host="127.0.0.1",
            broker_port=3,
            controller_port=4,
            data_dir=Path("/d"),
            node=ClusterNode(2, voters),
        )
    )

    assert properties["node.id"] == "2"
    assert properties["controller.quorum.voters"] == ("1@127.0.0.1:2,2@127.0.0.1:4,3@127.0.0.1:6")
    assert properties["listeners"] == "PLAINTEXT://127.0.0.1:3,CONTROLLER://127.0.0.1:4"
    for replication in (
        "default.replication.factor",
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
    ):
        assert properties[replication] == "3"
    assert properties["min.insync.replicas"] == "2"
    assert properties["transaction.state.log.min.isr"] == "2"
    assert properties["unclean.leader.election.enable"] == "false"


def test_a_cluster_node_shares_the_cores_with_its_peers() -> None:
    layout = BrokerLayout(Path("/state"))

    assert "-XX:ParallelGCThreads=1" in jvm_arguments(heap="1g", layout=layout, shared_cores=True)
    assert "-XX:ParallelGCThreads=1" not in jvm_arguments(heap="1g", layout=layout)


def test_cluster_ids_are_random_16_byte_urlsafe_ids_that_never_look_like_options() -> None:
    # One ID in 64 would start with "-" if nothing prevented it: 2,000 draws meet that case.
    ids = [new_cluster_id() for _ in range(2_000)]

    assert len(set(ids)) == len(ids)
    assert all(len(cluster_id) == 22 for cluster_id in ids)
    assert all(len(base64.urlsafe_b64decode(cluster_id + "==")) == 16 for cluster_id in ids)
    assert not any(cluster_id.startswith("-") for cluster_id in ids)


def test_logging_goes_to_the_state_folder_and_the_jvm_names_it() -> None:
    layout = BrokerLayout(Path("/state"))

    assert f"fileName = {layout.log_file}" in render_log4j2(layout.log_file)
    arguments = jvm_arguments(heap="256m", layout=layout)
    assert "-Xmx256m" in arguments
    assert layout.command_line_marker in arguments
    assert f"-Dlog4j2.configurationFile={layout.log4j_config}" in arguments
