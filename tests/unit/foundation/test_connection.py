"""KafkaConnection from the KAFKA_* settings: the client options of each security protocol,
and one-line configuration errors for settings that do not fit together."""

from __future__ import annotations

import os
import ssl
from collections.abc import Callable
from pathlib import Path

import pytest

from foundation.connection import KafkaConnection, SaslCredentials, TlsFiles
from foundation.exceptions import ConfigurationError
from foundation.settings import KafkaSettings
from localkafka.security import SecurityFiles, ensure_secrets

PASSWORD = "pw-never-shown-4711"  # noqa: S105 - a made-up password no output may show
SERVERS = "kafka-1:9093,kafka-2:9093"

SettingsFactory = Callable[..., KafkaSettings]


@pytest.fixture(scope="module")
def ca_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real CA certificate, made for the module (the local broker's own kind)."""
    files = SecurityFiles(tmp_path_factory.mktemp("tls") / "security")
    ensure_secrets(files, "127.0.0.1")
    return files.ca_certificate


@pytest.fixture
def kafka_settings(monkeypatch: pytest.MonkeyPatch) -> SettingsFactory:
    """A factory of KafkaSettings read from exactly the KAFKA_* variables given (the
    environment's own are cleared first)."""
    for name in list(os.environ):
        if name.startswith("KAFKA_"):
            monkeypatch.delenv(name)

    def make(**variables: str | Path) -> KafkaSettings:
        for name, value in variables.items():
            monkeypatch.setenv(name, str(value))
        return KafkaSettings()

    return make


def sasl_ssl(ca: Path | None = None, **variables: str | Path) -> dict[str, str | Path]:
    """The variables of a SASL_SSL client (PASSWORD as its password)."""
    found: dict[str, str | Path] = {
        "KAFKA_BOOTSTRAP_SERVERS": SERVERS,
        "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "KAFKA_SASL_USERNAME": "worker",
        "KAFKA_SASL_PASSWORD": PASSWORD,
    }
    if ca is not None:
        found["KAFKA_SSL_CA_LOCATION"] = ca
    return found | variables


def one_line(error: ConfigurationError) -> str:
    """The error's message, checked to be one line (its hint is printed under it)."""
    message = str(error.args[0])
    assert "\n" not in message
    assert error.hint
    return message


# -- the client options ------------------------------------------------------------------


def test_plaintext_options_are_the_bootstrap_servers_alone(kafka_settings: SettingsFactory) -> None:
    kafka = kafka_settings(KAFKA_BOOTSTRAP_SERVERS=SERVERS).kafka_connection()

    assert kafka.client_options() == {"bootstrap_servers": SERVERS}
    assert not kafka.secured
    assert kafka.describe() == SERVERS


def test_sasl_ssl_gives_all_five_security_options(
    kafka_settings: SettingsFactory, ca_file: Path
) -> None:
    kafka = kafka_settings(**sasl_ssl(ca=ca_file)).kafka_connection()

    options = kafka.client_options()

    context = options.pop("ssl_context")
    assert options == {
        "bootstrap_servers": SERVERS,
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "worker",
        "sasl_plain_password": PASSWORD,
    }
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert kafka.describe() == f"{SERVERS} (SASL_SSL SCRAM-SHA-512 as worker)"


def test_sasl_ssl_without_a_ca_file_trusts_the_system_s_cas(
    kafka_settings: SettingsFactory,
) -> None:
    kafka = kafka_settings(**sasl_ssl(ca=None)).kafka_connection()

    assert isinstance(kafka.ssl_context, ssl.SSLContext)
    assert kafka.ssl_context.verify_mode == ssl.CERT_REQUIRED


def test_sasl_plaintext_sends_no_tls_context(kafka_settings: SettingsFactory) -> None:
    kafka = kafka_settings(**sasl_ssl(ca=None, KAFKA_SECURITY_PROTOCOL="sasl_plaintext"))
    connection = kafka.kafka_connection()

    assert connection.client_options() == {
        "bootstrap_servers": SERVERS,
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "worker",
        "sasl_plain_password": PASSWORD,
    }


def test_ssl_gives_a_context_and_no_sasl_user(kafka_settings: SettingsFactory) -> None:
    kafka = kafka_settings(
        KAFKA_BOOTSTRAP_SERVERS=SERVERS,
        KAFKA_SECURITY_PROTOCOL="SSL",
        KAFKA_SSL_ENDPOINT_IDENTIFICATION_ALGORITHM="none",
    ).kafka_connection()

    options = kafka.client_options()

    assert set(options) == {"bootstrap_servers", "security_protocol", "ssl_context"}
    assert options["security_protocol"] == "SSL"
    assert not options["ssl_context"].check_hostname
    assert kafka.describe() == f"{SERVERS} (SSL)"


def test_a_client_certificate_and_its_key_are_loaded_for_mutual_tls(
    kafka_settings: SettingsFactory, tmp_path: Path
) -> None:
    files = SecurityFiles(tmp_path / "security")
    ensure_secrets(files, "127.0.0.1")

    kafka = kafka_settings(
        KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:9094",
        KAFKA_SECURITY_PROTOCOL="SSL",
        KAFKA_SSL_CA_LOCATION=files.ca_certificate,
        KAFKA_SSL_CERTIFICATE_LOCATION=files.client_certificate,
        KAFKA_SSL_KEY_LOCATION=files.client_key,
    ).kafka_connection()

    assert kafka.tls is not None
    assert kafka.tls.certificate_location == files.client_certificate
    assert isinstance(kafka.ssl_context, ssl.SSLContext)


# -- settings that do not fit together -----------------------------------------------------


def test_no_bootstrap_servers_is_an_error_with_the_caller_s_hint(
    kafka_settings: SettingsFactory,
) -> None:
    with pytest.raises(ConfigurationError, match="KAFKA_BOOTSTRAP_SERVERS") as raised:
        kafka_settings().kafka_connection(hint="start one with local-kafka start")

    one_line(raised.value)
    assert raised.value.hint == "start one with local-kafka start"


@pytest.mark.parametrize(
    ("unset", "named"),
    [
        pytest.param("KAFKA_SASL_MECHANISM", "KAFKA_SASL_MECHANISM", id="mechanism"),
        pytest.param("KAFKA_SASL_USERNAME", "KAFKA_SASL_USERNAME", id="username"),
        pytest.param("KAFKA_SASL_PASSWORD", "KAFKA_SASL_PASSWORD_FILE", id="password"),
    ],
)
def test_a_sasl_protocol_needs_each_part_of_the_user(
    kafka_settings: SettingsFactory, unset: str, named: str
) -> None:
    variables = sasl_ssl()
    del variables[unset]

    with pytest.raises(ConfigurationError) as raised:
        kafka_settings(**variables).kafka_connection()

    message = one_line(raised.value)
    assert "KAFKA_SECURITY_PROTOCOL=SASL_SSL needs" in message
    assert named in message
    assert PASSWORD not in str(raised.value)


@pytest.mark.parametrize("protocol", ["PLAINTEXT", "SSL"])
def test_sasl_variables_without_a_sasl_protocol_are_refused(
    kafka_settings: SettingsFactory, protocol: str
) -> None:
    with pytest.raises(ConfigurationError) as raised:
        kafka_settings(**sasl_ssl(ca=None, KAFKA_SECURITY_PROTOCOL=protocol)).kafka_connection()

    message = one_line(raised.value)
    assert f"KAFKA_SECURITY_PROTOCOL is {protocol}" in message
    assert "KAFKA_SASL_PASSWORD" in message
    assert PASSWORD not in str(raised.value)


@pytest.mark.parametrize("protocol", ["PLAINTEXT", "SASL_PLAINTEXT"])
def test_ssl_variables_without_a_tls_protocol_are_refused(
    kafka_settings: SettingsFactory, tmp_path: Path, protocol: str
) -> None:
    variables = sasl_ssl(ca=None) if protocol == "SASL_PLAINTEXT" else {}
    variables |= {
        "KAFKA_BOOTSTRAP_SERVERS": SERVERS,
        "KAFKA_SECURITY_PROTOCOL": protocol,
        "KAFKA_SSL_CA_LOCATION": tmp_path / "ca.pem",
    }

    with pytest.raises(ConfigurationError) as raised:
        kafka_settings(**variables).kafka_connection()

    assert f"KAFKA_SSL_* variables set, but KAFKA_SECURITY_PROTOCOL is {protocol}" in one_line(
        raised.value
    )


def test_a_certificate_without_its_key_is_refused(
    kafka_settings: SettingsFactory, tmp_path: Path
) -> None:
    with pytest.raises(ConfigurationError, match="only one of") as raised:
        kafka_settings(
            KAFKA_BOOTSTRAP_SERVERS=SERVERS,
            KAFKA_SECURITY_PROTOCOL="SSL",
            KAFKA_SSL_CERTIFICATE_LOCATION=tmp_path / "client.pem",
        ).kafka_connection()

    one_line(raised.value)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        pytest.param(None, "No such file or directory", id="missing"),
        pytest.param("not a certificate\n", "NO_CERTIFICATE_OR_CRL_FOUND", id="not-pem"),
    ],
)
def test_an_unusable_ca_file_is_a_one_line_error_naming_its_variable(
    kafka_settings: SettingsFactory, tmp_path: Path, content: str | None, reason: str
) -> None:
    ca = tmp_path / "ca.pem"
    if content is not None:
        ca.write_text(content)

    with pytest.raises(ConfigurationError) as raised:
        kafka_settings(**sasl_ssl(ca=ca)).kafka_connection()

    message = one_line(raised.value)
    assert message.startswith(f"cannot use KAFKA_SSL_CA_LOCATION ({ca}) for TLS")
    assert reason in message
    assert raised.value.__cause__ is None
    assert raised.value.__suppress_context__


# -- the password ---------------------------------------------------------------------------


def test_the_password_is_read_from_its_file(
    kafka_settings: SettingsFactory, tmp_path: Path
) -> None:
    secret = tmp_path / "sasl-password"
    secret.write_text(f"{PASSWORD}\n")
    variables = sasl_ssl(ca=None, KAFKA_SASL_PASSWORD_FILE=secret)
    del variables["KAFKA_SASL_PASSWORD"]

    kafka = kafka_settings(**variables).kafka_connection()

    assert kafka.client_options()["sasl_plain_password"] == PASSWORD


def test_an_unreadable_password_file_is_named_never_shown(
    kafka_settings: SettingsFactory, tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-secret"
    variables = sasl_ssl(ca=None, KAFKA_SASL_PASSWORD_FILE=missing)
    del variables["KAFKA_SASL_PASSWORD"]

    with pytest.raises(ConfigurationError) as raised:
        kafka_settings(**variables).kafka_connection()

    assert f"cannot read KAFKA_SASL_PASSWORD_FILE {missing}" in one_line(raised.value)


def test_a_password_and_a_password_file_together_are_refused(
    kafka_settings: SettingsFactory, tmp_path: Path
) -> None:
    secret = tmp_path / "sasl-password"
    secret.write_text(PASSWORD)

    with pytest.raises(ConfigurationError, match="both KAFKA_SASL_PASSWORD and") as raised:
        kafka_settings(**sasl_ssl(ca=None, KAFKA_SASL_PASSWORD_FILE=secret)).kafka_connection()

    assert PASSWORD not in str(raised.value)


def test_the_password_never_shows_in_a_repr_or_a_description(
    kafka_settings: SettingsFactory,
) -> None:
    settings = kafka_settings(**sasl_ssl(ca=None))

    kafka = settings.kafka_connection()

    assert kafka.sasl is not None
    assert kafka.sasl.password == PASSWORD
    for shown in (repr(kafka), str(kafka), kafka.describe(), repr(kafka.sasl), repr(settings)):
        assert PASSWORD not in shown
    assert "worker" in kafka.describe()


def test_a_tls_key_password_never_shows_in_a_repr() -> None:
    files = TlsFiles(key_password=PASSWORD)

    assert PASSWORD not in repr(files)


# -- the value itself -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("protocol", "sasl"),
    [
        pytest.param("SASL_PLAINTEXT", None, id="sasl-protocol-without-user"),
        pytest.param("PLAINTEXT", SaslCredentials("PLAIN", "u", PASSWORD), id="user-plaintext"),
    ],
)
def test_a_connection_refuses_a_sasl_user_that_does_not_fit_its_protocol(
    protocol: str, sasl: SaslCredentials | None
) -> None:
    with pytest.raises(ConfigurationError, match="SASL") as raised:
        KafkaConnection(SERVERS, security_protocol=protocol, sasl=sasl)  # type: ignore[arg-type]  # a protocol literal

    assert PASSWORD not in str(raised.value)


def test_a_connection_refuses_tls_without_a_tls_protocol(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="TLS is set"):
        KafkaConnection(SERVERS, tls=TlsFiles(ca_location=tmp_path / "ca.pem"))
    with pytest.raises(ConfigurationError, match="TLS is set"):
        KafkaConnection(SERVERS, ssl_context=ssl.create_default_context())


def test_a_tls_connection_builds_its_context_once_and_compares_without_it() -> None:
    first = KafkaConnection(SERVERS, security_protocol="SSL")
    second = KafkaConnection(SERVERS, security_protocol="SSL")

    assert isinstance(first.ssl_context, ssl.SSLContext)
    assert first.ssl_context is not second.ssl_context
    assert first == second
