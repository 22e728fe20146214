"""Settings every deployable shares: how to reach Kafka and how topics are named."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final, Literal, TypeVar

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from foundation.connection import (
    SASL_PROTOCOLS,
    TLS_PROTOCOLS,
    KafkaConnection,
    SaslCredentials,
    SaslMechanism,
    SecurityProtocol,
    TlsFiles,
)
from foundation.exceptions import ConfigurationError

#: The topic prefix of a deployment that sets none.
DEFAULT_PREFIX: Final = "clever-stream"
# Kafka's legal topic characters, without "_": Kafka warns that "." and "_" collide in
# metric names, and our convention uses ".".
_PREFIX_PATTERN: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,199}$")


def validate_prefix(prefix: str) -> str:
    """``prefix`` if it makes legal topic names, else ValueError."""
    if not _PREFIX_PATTERN.fullmatch(prefix):
        raise ValueError(
            f"topic prefix {prefix!r} must be 1-200 letters, digits, '.' or '-', "
            "starting with a letter or digit"
        )
    return prefix


class KafkaSettings(BaseSettings):
    """How a deployable reaches Kafka and names its topics.

    These fields keep one environment name across every deployable (no per-service prefix),
    so one ``KAFKA_BOOTSTRAP_SERVERS`` configures the poller, the workers and the CLI alike.
    """

    model_config = SettingsConfigDict(frozen=True, extra="ignore", env_ignore_empty=True)

    kafka_bootstrap_servers: str | None = Field(
        default=None,
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS"),
        description="Kafka's host:port list; unset, the demo starts a local broker.",
    )
    topic_prefix: str = Field(
        default=DEFAULT_PREFIX,
        validation_alias=AliasChoices("CLEVER_STREAM_TOPIC_PREFIX"),
        description="First part of every topic name, so deployments can share a cluster.",
    )
    topic_partitions: int = Field(
        default=6,
        ge=1,
        validation_alias=AliasChoices("CLEVER_STREAM_TOPIC_PARTITIONS"),
        description="Partitions of the pipeline's topics when they are created.",
    )
    topic_replication_factor: int | None = Field(
        default=None,
        ge=1,
        validation_alias=AliasChoices("CLEVER_STREAM_TOPIC_REPLICATION_FACTOR"),
        description="Replicas of each created topic; unset: 3, or the cluster's broker count.",
    )

    # Kafka's client security, under the names of the Kafka client settings operators know
    # (security.protocol, sasl.mechanism, ssl.ca.location, ...), as KAFKA_* variables.
    kafka_security_protocol: SecurityProtocol = Field(
        default="PLAINTEXT",
        validation_alias=AliasChoices("KAFKA_SECURITY_PROTOCOL"),
        description="PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL (Kafka's security.protocol).",
    )
    kafka_sasl_mechanism: SaslMechanism | None = Field(
        default=None,
        validation_alias=AliasChoices("KAFKA_SASL_MECHANISM"),
        description="PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512; needed with SASL_*.",
    )
    kafka_sasl_username: str | None = Field(
        default=None,
        min_length=1,
        validation_alias=AliasChoices("KAFKA_SASL_USERNAME"),
        description="The SASL user (an API key on Confluent Cloud).",
    )
    kafka_sasl_password: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("KAFKA_SASL_PASSWORD"),
        description="The SASL user's password (an API secret on Confluent Cloud).",
    )
    kafka_sasl_password_file: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("KAFKA_SASL_PASSWORD_FILE"),
        description="A file holding the password instead, for a mounted secret.",
    )
    kafka_ssl_ca_location: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("KAFKA_SSL_CA_LOCATION"),
        description="PEM file of the CA that signed the brokers' certificates; unset: the "
        "system's CAs.",
    )
    kafka_ssl_certificate_location: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("KAFKA_SSL_CERTIFICATE_LOCATION"),
        description="PEM file of this client's certificate, for mutual TLS.",
    )
    kafka_ssl_key_location: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("KAFKA_SSL_KEY_LOCATION"),
        description="PEM file of that certificate's private key.",
    )
    kafka_ssl_key_password: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("KAFKA_SSL_KEY_PASSWORD"),
        description="The private key's password, if it is encrypted.",
    )
    kafka_ssl_endpoint_identification_algorithm: Literal["https", "none"] = Field(
        default="https",
        validation_alias=AliasChoices("KAFKA_SSL_ENDPOINT_IDENTIFICATION_ALGORITHM"),
        description="https checks that the broker's certificate names its host; none does not.",
    )

    @field_validator("topic_prefix")
    @classmethod
    def _legal_prefix(cls, prefix: str) -> str:
        return validate_prefix(prefix)

    @field_validator("kafka_security_protocol", "kafka_sasl_mechanism", mode="before")
    @classmethod
    def _upper_case(cls, value: object) -> object:
        # Kafka reads both case-insensitively.
        return value.upper() if isinstance(value, str) else value

    def kafka_connection(self, *, hint: str | None = None) -> KafkaConnection:
        """How to reach the cluster, built and checked now (TLS files read, SASL user
        complete); without bootstrap servers or with security settings that do not fit
        together, a ``ConfigurationError`` that names the variables (``hint`` says what to do
        about missing servers)."""
        if not self.kafka_bootstrap_servers:
            raise ConfigurationError(
                "no Kafka cluster is set: KAFKA_BOOTSTRAP_SERVERS is empty",
                hint=hint or "export KAFKA_BOOTSTRAP_SERVERS=host:port",
            )
        return KafkaConnection(
            bootstrap_servers=self.kafka_bootstrap_servers,
            security_protocol=self.kafka_security_protocol,
            sasl=self._sasl_credentials(),
            tls=self._tls_files(),
        )

    def _sasl_credentials(self) -> SaslCredentials | None:
        protocol = self.kafka_security_protocol
        given = [
            name
            for name, value in (
                ("KAFKA_SASL_MECHANISM", self.kafka_sasl_mechanism),
                ("KAFKA_SASL_USERNAME", self.kafka_sasl_username),
                ("KAFKA_SASL_PASSWORD", self.kafka_sasl_password),
                ("KAFKA_SASL_PASSWORD_FILE", self.kafka_sasl_password_file),
            )
            if value is not None
        ]
        if protocol not in SASL_PROTOCOLS:
            if given:
                raise ConfigurationError(
                    f"{', '.join(given)} set, but KAFKA_SECURITY_PROTOCOL is {protocol}",
                    hint="set KAFKA_SECURITY_PROTOCOL=SASL_SSL (or SASL_PLAINTEXT), or unset "
                    "the KAFKA_SASL_* variables",
                )
            return None
        if self.kafka_sasl_password is not None and self.kafka_sasl_password_file is not None:
            raise ConfigurationError(
                "both KAFKA_SASL_PASSWORD and KAFKA_SASL_PASSWORD_FILE are set",
                hint="keep one of them",
            )
        password = (
            self.kafka_sasl_password.get_secret_value()
            if self.kafka_sasl_password is not None
            else _read_secret(self.kafka_sasl_password_file)
        )
        missing = [
            name
            for name, value in (
                ("KAFKA_SASL_MECHANISM", self.kafka_sasl_mechanism),
                ("KAFKA_SASL_USERNAME", self.kafka_sasl_username),
                ("KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE", password),
            )
            if not value
        ]
        if (
            missing
            or self.kafka_sasl_mechanism is None
            or self.kafka_sasl_username is None
            or password is None
        ):
            raise ConfigurationError(
                f"KAFKA_SECURITY_PROTOCOL={protocol} needs {', '.join(missing)}",
                hint="set them from your cluster's client credentials (see .env.example)",
            )
        return SaslCredentials(self.kafka_sasl_mechanism, self.kafka_sasl_username, password)

    def _tls_files(self) -> TlsFiles | None:
        protocol = self.kafka_security_protocol
        files = TlsFiles(
            ca_location=self.kafka_ssl_ca_location,
            certificate_location=self.kafka_ssl_certificate_location,
            key_location=self.kafka_ssl_key_location,
            key_password=(
                self.kafka_ssl_key_password.get_secret_value()
                if self.kafka_ssl_key_password is not None
                else None
            ),
            check_hostname=self.kafka_ssl_endpoint_identification_algorithm == "https",
        )
        if protocol in TLS_PROTOCOLS:
            if (files.certificate_location is None) != (files.key_location is None):
                raise ConfigurationError(
                    "only one of KAFKA_SSL_CERTIFICATE_LOCATION and KAFKA_SSL_KEY_LOCATION is set",
                    hint="mutual TLS needs both the client's certificate and its key",
                )
            return files
        if files != TlsFiles():
            raise ConfigurationError(
                f"KAFKA_SSL_* variables set, but KAFKA_SECURITY_PROTOCOL is {protocol}",
                hint="set KAFKA_SECURITY_PROTOCOL=SSL or SASL_SSL, or unset the KAFKA_SSL_* "
                "variables",
            )
        return None


def _read_secret(path: Path | None) -> str | None:
    """The first line of the secret file at ``path``; a file that cannot be read is a
    ``ConfigurationError`` (naming the file, never its content)."""
    if path is None:
        return None
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigurationError(
            f"cannot read KAFKA_SASL_PASSWORD_FILE {path}: {type(error).__name__}",
            hint="point it at a readable file that holds the password on its first line",
        ) from None
    return lines[0].strip() if lines else None


S = TypeVar("S", bound=BaseSettings)


def read_settings(settings_class: type[S], *, what: str) -> S:
    """``settings_class()`` read from the environment; a mistake is a ``ConfigurationError``
    naming each variable at fault and why, never its value (it may hold a token) and never a
    traceback. ``what`` names the deployable in the message ("the worker")."""
    try:
        return settings_class()
    except ValidationError as error:
        problems = [
            f"{_variable(settings_class, problem['loc'])}: {problem['msg']}"
            for problem in error.errors(include_input=False, include_url=False)
        ]
    except SettingsError as error:
        # "error parsing value for field "districts" from source ...": the JSON is broken.
        field = str(error).split('"')[1] if str(error).count('"') >= 2 else ""
        problems = [f"{_variable(settings_class, (field,))}: not valid JSON"]
    raise ConfigurationError(
        f"{what}'s settings are invalid: {'; '.join(problems)}",
        hint="compare the variables named with .env.example, which documents each",
    )


def _variable(settings_class: type[BaseSettings], loc: tuple[int | str, ...]) -> str:
    """The environment variable of the field at ``loc`` (its first part), or the path."""
    if not loc:
        return "settings"
    field = settings_class.model_fields.get(str(loc[0]))
    if field is None:
        return ".".join(str(part) for part in loc)
    alias = field.validation_alias
    if isinstance(alias, AliasChoices) and isinstance(alias.choices[0], str):
        name = alias.choices[0]
    elif isinstance(alias, str):
        name = alias
    else:
        name = f"{settings_class.model_config.get('env_prefix', '')}{loc[0]}"
    rest = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc[1:])
    return name.upper() + rest
