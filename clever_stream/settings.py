"""Settings of the ``clever-stream`` command itself."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import SettingsConfigDict

from foundation.settings import KafkaSettings


class CliSettings(KafkaSettings):
    """Settings of the ``clever-stream`` command (env prefix ``CLEVER_STREAM_``)."""

    model_config = SettingsConfigDict(
        env_prefix="CLEVER_STREAM_", frozen=True, extra="ignore", env_ignore_empty=True
    )

    kafka_timeout_s: float = Field(
        default=30.0, gt=0, description="Bound on each Kafka admin call and the self-check."
    )
    # `clever-stream districts`: the poller's own variables, so one environment serves both.
    districts_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("CLEVER_POLLER_DISTRICTS_KEY"),
        description="The Fernet key that encrypts the tokens on the districts topic.",
    )
    clever_base_url: str = Field(
        default="https://api.clever.com",
        validation_alias=AliasChoices("CLEVER_POLLER_BASE_URL"),
        description="Clever's API root, asked which district a token opens.",
    )
