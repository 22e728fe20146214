"""Errors of the local Kafka provisioner, each with a hint that says what to do."""

from __future__ import annotations

from foundation.exceptions import CleverStreamError


class LocalKafkaError(CleverStreamError):
    """Root of the local Kafka provisioner's errors."""


class JavaNotFoundError(LocalKafkaError):
    """No usable ``java`` (17 or newer) on JAVA_HOME or PATH."""


class MavenNotFoundError(LocalKafkaError):
    """No ``mvn`` on PATH to resolve Kafka from Maven Central."""


class MavenResolveError(LocalKafkaError):
    """Maven ran but could not resolve Kafka's jars."""


class MavenCentralUnreachableError(MavenResolveError):
    """Maven could not reach Maven Central (or the configured mirror)."""


class PortInUseError(LocalKafkaError):
    """A port the broker must listen on is taken by another process."""


class BrokerStartError(LocalKafkaError):
    """The broker process exited, or did not become ready in time."""


class BrokerLockedError(LocalKafkaError):
    """Another process holds the state folder's lock for longer than we wait."""
