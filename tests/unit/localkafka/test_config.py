"""The broker's configuration files, rendered without I/O."""

from __future__ import annotations

import base64
from pathlib import Path

from localkafka.config import (
    BrokerLayout,
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
