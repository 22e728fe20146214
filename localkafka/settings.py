"""Settings of the local Kafka provisioner (env prefix ``LOCAL_KAFKA_``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The pinned broker. 4.1.x is the line faust-streaming's maintainers report working with
# aiokafka 0.14 (faust-streaming issue 655), and our own suite proves it on every run.
KAFKA_VERSION = "4.1.1"


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/clever-stream`` or ``~/.cache/clever-stream``, read at settings time."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "clever-stream"


class LocalKafkaSettings(BaseSettings):
    """Where Kafka's jars and the broker's state live, and how long to wait for it."""

    model_config = SettingsConfigDict(
        env_prefix="LOCAL_KAFKA_", frozen=True, extra="ignore", env_ignore_empty=True
    )

    bootstrap_servers: str | None = Field(
        default=None,
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS"),
        description="Use this Kafka cluster instead of starting a local broker.",
    )
    kafka_version: str = Field(
        default=KAFKA_VERSION,
        description="Version of org.apache.kafka:kafka_2.13 to resolve from Maven Central.",
    )
    cache_dir: Path = Field(
        default_factory=default_cache_dir,
        description="Folder for the resolved Kafka jars (reused when already there).",
    )
    state_dir: Path | None = Field(
        default=None,
        description="Folder for the broker's data, logs, pid and lock; default "
        "<cache_dir>/broker (<cache_dir>/broker-sasl-ssl for a sasl_ssl broker, "
        "<cache_dir>/cluster-N for N nodes).",
    )
    host: str = Field(default="127.0.0.1", description="Address the broker listens on.")
    port: int = Field(default=0, ge=0, le=65535, description="Broker port; 0 picks a free one.")
    controller_port: int = Field(
        default=0, ge=0, le=65535, description="KRaft controller port; 0 picks a free one."
    )
    security: Literal["plaintext", "sasl_ssl"] = Field(
        default="plaintext",
        description="plaintext, or sasl_ssl: SASL_SSL and mutual-TLS listeners only, with a "
        "throwaway CA and a SASL user made in the state folder.",
    )
    tls_port: int = Field(
        default=0,
        ge=0,
        le=65535,
        description="Port of a sasl_ssl broker's mutual-TLS listener; 0 picks a free one.",
    )
    nodes: int = Field(
        default=1,
        ge=1,
        le=9,
        description="Nodes of the local Kafka: 1, or a cluster of combined broker+controller "
        "nodes with replication factor 3 and min.insync.replicas 2.",
    )
    heap: str = Field(default="512m", description="JVM heap for the broker (-Xms and -Xmx).")
    start_timeout_s: float = Field(
        default=90.0, gt=0, description="How long to wait for the broker to become ready."
    )
    stop_timeout_s: float = Field(
        default=30.0, gt=0, description="How long SIGTERM may take before the broker is killed."
    )
    lock_timeout_s: float = Field(
        default=120.0, gt=0, description="How long to wait for another start or stop to finish."
    )
    maven_settings: Path | None = Field(
        default=None,
        description="A Maven settings.xml to use (a mirror or proxy); default: Maven's own.",
    )
    maven_timeout_s: float = Field(
        default=900.0, gt=0, description="How long the Maven resolve may take."
    )

    @field_validator("nodes")
    @classmethod
    def _replicable(cls, nodes: int) -> int:
        if nodes == 2:
            raise ValueError("a cluster has 3 nodes or more (its topics keep 3 replicas)")
        return nodes

    @property
    def resolved_state_dir(self) -> Path:
        """The state folder, absolute, so the broker's command line names it unambiguously."""
        if self.nodes > 1:
            default = f"cluster-{self.nodes}"
        elif self.security == "plaintext":
            default = "broker"
        else:
            default = "broker-sasl-ssl"
        return (self.state_dir or self.cache_dir / default).expanduser().resolve()

    @property
    def resolved_cache_dir(self) -> Path:
        """The cache folder, absolute."""
        return self.cache_dir.expanduser().resolve()
