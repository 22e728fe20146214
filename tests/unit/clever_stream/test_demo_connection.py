"""How the demo reaches its broker: an external cluster with the KAFKA_* security settings,
a local broker as it was started, whatever KAFKA_* the environment holds."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from clever_stream.demo import broker_connection
from foundation.settings import KafkaSettings
from localkafka import RunningBroker
from localkafka.broker import BrokerSecurity
from localkafka.security import SecurityFiles, ensure_secrets

LEAKED = "not-this-password"


@pytest.fixture(autouse=True)
def external_security(monkeypatch: pytest.MonkeyPatch) -> None:
    """An environment set up for an external SASL_PLAINTEXT cluster."""
    for name in list(os.environ):
        if name.startswith("KAFKA_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("KAFKA_SASL_MECHANISM", "PLAIN")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "operator")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", LEAKED)


def test_an_external_cluster_is_reached_with_the_configured_security() -> None:
    broker = RunningBroker(bootstrap_servers="kafka:9092", external=True, started_here=False)

    kafka = broker_connection(broker, KafkaSettings(KAFKA_BOOTSTRAP_SERVERS="kafka:9092"))

    assert kafka.describe() == "kafka:9092 (SASL_PLAINTEXT PLAIN as operator)"


def test_a_local_plaintext_broker_is_reached_in_plaintext() -> None:
    broker = RunningBroker(bootstrap_servers="127.0.0.1:9092", external=False, started_here=True)

    kafka = broker_connection(broker, KafkaSettings())

    assert kafka.client_options() == {"bootstrap_servers": "127.0.0.1:9092"}


def test_a_local_sasl_ssl_broker_is_reached_with_its_own_user_and_ca(tmp_path: Path) -> None:
    files = SecurityFiles(tmp_path / "security")
    password = ensure_secrets(files, "127.0.0.1")
    broker = RunningBroker(
        bootstrap_servers="127.0.0.1:9093",
        external=False,
        started_here=True,
        security=BrokerSecurity(files=files, tls_bootstrap_servers="127.0.0.1:9094"),
    )

    kafka = broker_connection(broker, KafkaSettings())

    options = kafka.client_options()
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_plain_password"] == password
    assert kafka.tls is not None
    assert kafka.tls.ca_location == files.ca_certificate
