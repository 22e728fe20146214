"""kafka_errors: each aiokafka error as one project error naming the cluster, the action and
what to do, a refused login or TLS handshake pointing at the security settings."""

from __future__ import annotations

import ssl

import pytest
from aiokafka.errors import (
    KafkaConnectionError,
    KafkaError,
    SaslAuthenticationFailed,
    TopicAuthorizationFailedError,
    UnsupportedSaslMechanismError,
)

from foundation.connection import KafkaConnection, SaslCredentials
from foundation.exceptions import KafkaUnavailableError
from foundation.kafka_errors import kafka_errors

PASSWORD = "pw-never-shown-4711"  # noqa: S105 - a made-up password no message may show
PLAINTEXT = KafkaConnection("kafka:9092")
SECURED = KafkaConnection(
    "kafka:9093",
    security_protocol="SASL_SSL",
    sasl=SaslCredentials("SCRAM-SHA-256", "poller", PASSWORD),
    ssl_context=ssl.create_default_context(),
)


def raised_through(kafka: KafkaConnection, error: BaseException) -> KafkaUnavailableError:
    with pytest.raises(KafkaUnavailableError) as raised, kafka_errors("read the cursors", kafka):
        raise error
    assert raised.value.__cause__ is error
    assert PASSWORD not in str(raised.value)
    return raised.value


def test_an_unreachable_plaintext_cluster_names_its_servers() -> None:
    error = raised_through(PLAINTEXT, KafkaConnectionError("Unable to bootstrap"))

    assert str(error.args[0]) == (
        "could not reach Kafka at kafka:9092 to read the cursors: "
        "KafkaConnectionError: Unable to bootstrap"
    )
    assert error.hint is not None
    assert "KAFKA_BOOTSTRAP_SERVERS" in error.hint
    # A plaintext client of a secured cluster gets no more than this from aiokafka.
    assert "wants TLS or a SASL login needs KAFKA_SECURITY_PROTOCOL" in error.hint


def test_an_unreachable_secured_cluster_says_a_refused_login_looks_the_same() -> None:
    # aiokafka logs a refused login at bootstrap and raises only this.
    error = raised_through(SECURED, KafkaConnectionError("Unable to bootstrap"))

    assert "Kafka at kafka:9093 (SASL_SSL SCRAM-SHA-256 as poller)" in str(error)
    assert error.hint is not None
    assert (
        "refused login or TLS handshake ends the same way: check KAFKA_SECURITY_PROTOCOL, "
        "KAFKA_SASL_* and KAFKA_SSL_*" in error.hint
    )


@pytest.mark.parametrize(
    "refusal",
    [
        pytest.param(SaslAuthenticationFailed("invalid credentials"), id="bad-password"),
        pytest.param(UnsupportedSaslMechanismError("PLAIN only"), id="mechanism"),
    ],
)
def test_a_refused_login_points_at_the_sasl_settings(refusal: KafkaError) -> None:
    error = raised_through(SECURED, refusal)

    assert "refused this client's login to read the cursors" in str(error)
    assert type(refusal).__name__ in str(error)
    assert error.hint is not None
    assert "KAFKA_SASL_*" in error.hint


def test_a_failed_tls_handshake_under_a_connection_error_is_named() -> None:
    handshake = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] self-signed")
    try:
        try:
            raise handshake
        except ssl.SSLError as cause:
            raise KafkaConnectionError("Connection at kafka:9093 broken") from cause
    except KafkaConnectionError as wrapped:
        error = raised_through(SECURED, wrapped)

    assert (
        "could not reach Kafka at kafka:9093 (SASL_SSL SCRAM-SHA-256 as poller) to read the "
        "cursors: TLS failed" in str(error)
    )
    assert "CERTIFICATE_VERIFY_FAILED" in str(error)
    assert error.hint is not None
    assert "KAFKA_SSL_*" in error.hint


def test_a_request_the_acls_refuse_names_the_user() -> None:
    error = raised_through(SECURED, TopicAuthorizationFailedError("topics: [raw]"))

    assert "(SASL_SSL SCRAM-SHA-256 as poller) does not allow this client to read" in str(error)
    assert error.hint is not None
    assert "ACLs" in error.hint


def test_any_other_kafka_error_is_the_broker_s_failure() -> None:
    error = raised_through(PLAINTEXT, KafkaError("boom"))

    assert str(error.args[0]).startswith("Kafka at kafka:9092 failed to read the cursors")


def test_other_errors_pass_through() -> None:
    with pytest.raises(ValueError, match="not Kafka's"), kafka_errors("read", PLAINTEXT):
        raise ValueError("not Kafka's")
