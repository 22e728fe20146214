"""The Faust app factory: configured from settings, connecting to nothing until started,
with the connection's security on every client Faust opens."""

from __future__ import annotations

import ssl
from pathlib import Path

import faust
import pytest
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth
from faust.types.enums import ProcessingGuarantee

from foundation.connection import KafkaConnection, SaslCredentials
from foundation.exceptions import ConfigurationError
from streams.engines.faust.app import broker_credentials, create_app
from streams.service import worker_connection
from streams.settings import WorkerSettings

PASSWORD = "s3cret-never-shown"  # noqa: S105 - a made-up password


def test_the_app_is_configured_from_settings(tmp_path: Path) -> None:
    settings = WorkerSettings(app_id="privileges-test", data_dir=tmp_path, web_port=7070)

    app = create_app(
        settings,
        kafka=KafkaConnection("kafka-1:9092, kafka-2:9092"),
        replication_factor=3,
    )

    assert app.conf.id == "privileges-test"
    assert [str(url) for url in app.conf.broker] == ["kafka://kafka-1:9092", "kafka://kafka-2:9092"]
    # Faust annotates this setting as the enum class, not a member of it.
    guarantee: object = app.conf.processing_guarantee
    assert guarantee is ProcessingGuarantee.EXACTLY_ONCE
    assert app.conf.topic_replication_factor == 3
    assert app.conf.web_port == 7070
    assert str(app.conf.store) == "memory:"
    assert app.conf.broker_credentials is None


def sasl(protocol: str) -> KafkaConnection:
    return KafkaConnection(
        "kafka:9093",
        security_protocol=protocol,  # type: ignore[arg-type]  # one of the SASL literals
        sasl=SaslCredentials("SCRAM-SHA-512", "worker", PASSWORD),
        ssl_context=ssl.create_default_context() if protocol == "SASL_SSL" else None,
    )


@pytest.mark.parametrize("protocol", ["SASL_SSL", "SASL_PLAINTEXT"])
def test_a_sasl_connection_gives_faust_s_clients_the_same_options_as_ours(
    protocol: str, tmp_path: Path
) -> None:
    kafka = sasl(protocol)

    app = create_app(WorkerSettings(data_dir=tmp_path), kafka=kafka, replication_factor=1)

    # What Faust's aiokafka driver passes to its consumers and producers (an ssl_context of
    # None is aiokafka's default).
    options = credentials_to_aiokafka_auth(app.conf.broker_credentials, app.conf.ssl_context)
    ours = kafka.client_options()
    del ours["bootstrap_servers"]
    assert {name: value for name, value in options.items() if value is not None} == ours
    assert PASSWORD not in repr(app.conf.broker_credentials)


def test_a_tls_connection_gives_faust_its_ssl_context() -> None:
    context = ssl.create_default_context()
    kafka = KafkaConnection("kafka:9093", security_protocol="SSL", ssl_context=context)

    credentials = broker_credentials(kafka)

    assert isinstance(credentials, faust.SSLCredentials)
    assert credentials_to_aiokafka_auth(credentials) == {
        "security_protocol": "SSL",
        "ssl_context": context,
    }


def test_a_plaintext_connection_gives_faust_no_credentials() -> None:
    assert broker_credentials(KafkaConnection("kafka:9092")) is None


def test_a_worker_without_kafka_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)

    with pytest.raises(ConfigurationError, match="KAFKA_BOOTSTRAP_SERVERS"):
        worker_connection(WorkerSettings())
