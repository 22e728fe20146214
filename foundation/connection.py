"""How a client reaches Kafka: its bootstrap servers and its security (TLS and SASL).

One :class:`KafkaConnection` is built from the settings at start (a mistake is a
``ConfigurationError`` then, never at the first connect) and passed to everything that opens a
Kafka client: :meth:`KafkaConnection.client_options` are the keyword arguments of every
aiokafka client, so no client can be left plaintext by a constructor that forgot an option.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from foundation.exceptions import ConfigurationError

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]

SECURITY_PROTOCOLS: Final[tuple[SecurityProtocol, ...]] = (
    "PLAINTEXT",
    "SSL",
    "SASL_PLAINTEXT",
    "SASL_SSL",
)
SASL_MECHANISMS: Final[tuple[SaslMechanism, ...]] = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
TLS_PROTOCOLS: Final[frozenset[str]] = frozenset({"SSL", "SASL_SSL"})
SASL_PROTOCOLS: Final[frozenset[str]] = frozenset({"SASL_PLAINTEXT", "SASL_SSL"})


@dataclass(frozen=True)
class SaslCredentials:
    """A SASL user: its mechanism, name and password (never in a repr or a log)."""

    mechanism: SaslMechanism
    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class TlsFiles:
    """The PEM files of a TLS client, as the Kafka client settings name them.

    ``ca_location`` unset trusts the system's CAs (a managed cluster's certificate is signed by
    a public CA); a certificate and its key make the client authenticate itself (mutual TLS).
    """

    ca_location: Path | None = None
    certificate_location: Path | None = None
    key_location: Path | None = None
    key_password: str | None = field(default=None, repr=False)
    check_hostname: bool = True

    def context(self) -> ssl.SSLContext:
        """A client ``SSLContext`` that verifies the broker; a file it cannot use is a
        ``ConfigurationError`` naming the file's variable."""
        try:
            context = ssl.create_default_context(
                ssl.Purpose.SERVER_AUTH,
                cafile=str(self.ca_location) if self.ca_location else None,
            )
        except (OSError, ssl.SSLError) as error:
            raise _unusable("KAFKA_SSL_CA_LOCATION", self.ca_location, error) from None
        context.check_hostname = self.check_hostname
        if self.certificate_location is not None:
            try:
                context.load_cert_chain(
                    str(self.certificate_location),
                    str(self.key_location) if self.key_location else None,
                    password=self.key_password,
                )
            except (OSError, ssl.SSLError) as error:
                raise _unusable(
                    "KAFKA_SSL_CERTIFICATE_LOCATION and KAFKA_SSL_KEY_LOCATION",
                    self.certificate_location,
                    error,
                ) from None
        return context


@dataclass(frozen=True)
class KafkaConnection:
    """Where the cluster is and how to authenticate to it: one value for every client."""

    bootstrap_servers: str
    security_protocol: SecurityProtocol = "PLAINTEXT"
    sasl: SaslCredentials | None = None
    tls: TlsFiles | None = None
    ssl_context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if (self.security_protocol in SASL_PROTOCOLS) != (self.sasl is not None):
            raise ConfigurationError(
                f"security protocol {self.security_protocol} "
                + ("needs SASL credentials" if self.sasl is None else "takes no SASL credentials"),
                hint="set KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD "
                "with SASL_SSL or SASL_PLAINTEXT, and only then",
            )
        if self.security_protocol in TLS_PROTOCOLS and self.ssl_context is None:
            # A frozen dataclass sets a derived field through object.__setattr__.
            object.__setattr__(self, "ssl_context", (self.tls or TlsFiles()).context())
        elif self.security_protocol not in TLS_PROTOCOLS and (
            self.tls is not None or self.ssl_context is not None
        ):
            raise ConfigurationError(
                f"TLS is set, but the security protocol is {self.security_protocol}",
                hint="set KAFKA_SECURITY_PROTOCOL=SSL or SASL_SSL, or unset the KAFKA_SSL_* "
                "variables",
            )

    @property
    def secured(self) -> bool:
        """Whether the connection is encrypted or authenticated (anything but PLAINTEXT)."""
        return self.security_protocol != "PLAINTEXT"

    def client_options(self) -> dict[str, Any]:
        """The keyword arguments that point an aiokafka client (producer, consumer or admin)
        at the cluster: bootstrap servers, security protocol, TLS context and SASL user."""
        options: dict[str, Any] = {"bootstrap_servers": self.bootstrap_servers}
        if not self.secured:
            return options
        options["security_protocol"] = self.security_protocol
        if self.ssl_context is not None:
            options["ssl_context"] = self.ssl_context
        if self.sasl is not None:
            options["sasl_mechanism"] = self.sasl.mechanism
            options["sasl_plain_username"] = self.sasl.username
            options["sasl_plain_password"] = self.sasl.password
        return options

    def describe(self) -> str:
        """The servers and, when not plaintext, how: for messages (never the password)."""
        if not self.secured:
            return self.bootstrap_servers
        how: str = self.security_protocol
        if self.sasl is not None:
            how += f" {self.sasl.mechanism} as {self.sasl.username}"
        return f"{self.bootstrap_servers} ({how})"


def _unusable(variable: str, path: Path | None, error: Exception) -> ConfigurationError:
    reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
    return ConfigurationError(
        f"cannot use {variable} ({path}) for TLS: {reason}",
        hint="point it at a readable PEM file (a CA certificate; a certificate and its "
        "unencrypted or KAFKA_SSL_KEY_PASSWORD-protected key)",
    )
