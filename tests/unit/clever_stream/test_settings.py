"""Settings come from the environment under documented names, and bad values are refused."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from clever_stream.settings import CliSettings
from connectors.settings import PollerSettings
from localkafka.settings import LocalKafkaSettings
from streams.settings import WorkerSettings


def test_shared_kafka_names_configure_every_deployable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka-1:9092,kafka-2:9092")
    monkeypatch.setenv("CLEVER_STREAM_TOPIC_PREFIX", "district-staging")

    for settings in (CliSettings(), WorkerSettings()):
        assert settings.kafka_bootstrap_servers == "kafka-1:9092,kafka-2:9092"
        assert settings.topic_prefix == "district-staging"
    assert LocalKafkaSettings().bootstrap_servers == "kafka-1:9092,kafka-2:9092"


def test_each_deployable_reads_its_own_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLEVER_WORKER_APP_ID", "privileges-blue")
    monkeypatch.setenv("CLEVER_STREAM_KAFKA_TIMEOUT_S", "5")
    monkeypatch.setenv("LOCAL_KAFKA_HEAP", "1g")

    assert WorkerSettings().app_id == "privileges-blue"
    assert CliSettings().kafka_timeout_s == 5
    assert LocalKafkaSettings().heap == "1g"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        pytest.param("CLEVER_STREAM_TOPIC_PREFIX", "bad prefix", id="prefix"),
        pytest.param("CLEVER_STREAM_TOPIC_PARTITIONS", "0", id="partitions"),
        pytest.param("CLEVER_STREAM_TOPIC_REPLICATION_FACTOR", "0", id="replicas"),
        pytest.param("CLEVER_WORKER_PROCESSING_GUARANTEE", "maybe_once", id="guarantee"),
    ],
)
def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)

    with pytest.raises(ValidationError):
        WorkerSettings()


def test_settings_are_frozen() -> None:
    settings = CliSettings()

    with pytest.raises(ValidationError):
        settings.topic_prefix = "changed"  # type: ignore[misc]


def test_every_kafka_name_of_a_deployment_derives_from_its_prefix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The default prefix keeps the names deployments had before they were derived.
    assert WorkerSettings().group_id == "clever-stream-privileges"
    assert PollerSettings().transactional_prefix == "clever-stream-poller"

    monkeypatch.setenv("CLEVER_STREAM_TOPIC_PREFIX", "district-staging")
    assert WorkerSettings().group_id == "district-staging-privileges"
    assert PollerSettings().transactional_prefix == "district-staging-poller"

    monkeypatch.setenv("CLEVER_WORKER_APP_ID", "privileges-blue")
    monkeypatch.setenv("CLEVER_POLLER_TRANSACTIONAL_ID_PREFIX", "poller-blue")
    assert WorkerSettings().group_id == "privileges-blue"
    assert PollerSettings().transactional_prefix == "poller-blue"
