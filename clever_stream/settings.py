"""Settings every deployable shares (Kafka, topic names), and those of the CLI itself."""

from __future__ import annotations

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.topics import DEFAULT_PREFIX, validate_prefix


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

    @field_validator("topic_prefix")
    @classmethod
    def _legal_prefix(cls, prefix: str) -> str:
        return validate_prefix(prefix)


class CliSettings(KafkaSettings):
    """Settings of the ``clever-stream`` command (env prefix ``CLEVER_STREAM_``)."""

    model_config = SettingsConfigDict(
        env_prefix="CLEVER_STREAM_", frozen=True, extra="ignore", env_ignore_empty=True
    )

    kafka_timeout_s: float = Field(
        default=30.0, gt=0, description="Bound on each Kafka admin call and the self-check."
    )
