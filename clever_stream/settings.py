"""Settings of the ``clever-stream`` command itself."""

from __future__ import annotations

from pydantic import Field
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
