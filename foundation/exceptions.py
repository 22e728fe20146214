"""The project's one root exception, so callers can catch everything we raise at once."""

from __future__ import annotations


class CleverStreamError(Exception):
    """Root of every error clever-stream raises on purpose.

    ``hint`` tells an operator what to do about it; the CLI prints it under the message.
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint

    def __str__(self) -> str:
        message = super().__str__()
        return f"{message}\nWhat to do: {self.hint}" if self.hint else message


class TopicSetupError(CleverStreamError):
    """Kafka refused to create a topic, or an existing one does not fit its definition."""


class SelfCheckError(CleverStreamError):
    """The transactional round trip through Kafka did not come back as written."""


class ConfigurationError(CleverStreamError):
    """A setting is missing or does not make sense."""


class KafkaUnavailableError(CleverStreamError):
    """Kafka could not be reached, or refused a request we cannot do without."""
