"""Settings of a privilege worker (env prefix ``CLEVER_WORKER_``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from foundation.exceptions import ConfigurationError
from foundation.settings import KafkaSettings, validate_prefix
from streams.topics import OutputTopics

# The table stores a worker supports, as Faust names them: ``memory://`` keeps tables in RAM;
# ``rocksdb://`` keeps them in RocksDB files (through ``rocksdict``) under the data folder.
STORES = ("memory://", "rocksdb://")


class WorkerSettings(KafkaSettings):
    """How a worker joins its group, keeps its tables and serves its web views."""

    model_config = SettingsConfigDict(
        env_prefix="CLEVER_WORKER_", frozen=True, extra="ignore", env_ignore_empty=True
    )

    engine: Literal["native", "faust"] = Field(
        default="native",
        description="What runs the privilege worker: native, the project's own exactly-once "
        "loop on aiokafka (streams/engines/native), or faust, faust-streaming agents and tables "
        "(streams/engines/faust). Both are supported; see docs/architecture.md.",
    )
    app_id: str | None = Field(
        default=None,
        min_length=1,
        description="The worker group's ID: its consumer group, the prefix of its changelog "
        "topics and of its transactional IDs; unset: <topic prefix>-privileges, so that each "
        "deployment (topic prefix) has its own.",
    )
    processing_guarantee: Literal["exactly_once", "at_least_once"] = Field(
        default="exactly_once",
        description="The faust engine's processing guarantee; exactly_once uses Kafka "
        "transactions. The native engine is always exactly once.",
    )
    store: str = Field(
        default="memory://",
        description="Table store: memory:// (in RAM, rebuilt from the changelogs on every "
        "start) or rocksdb:// (on disk under data_dir, with rocksdict: a clean restart keeps "
        "its files and reads less of the changelogs).",
    )
    data_dir: Path = Field(
        default=Path("worker-data"), description="Folder for the worker's local table state."
    )
    web_enabled: bool = Field(default=True, description="Serve the query views over HTTP.")
    web_host: str = Field(default="127.0.0.1", description="Address of the web server.")
    web_port: int = Field(default=6066, ge=1, le=65535, description="Port of the web server.")
    views_token: SecretStr | None = Field(
        default=None,
        description="A bearer token the query views require (Authorization: Bearer <token>); "
        "unset: no token (keep web_host on loopback then).",
    )
    views_token_file: Path | None = Field(
        default=None, description="A file holding the views' bearer token, instead of the env."
    )
    broker_request_timeout_s: float = Field(
        default=90.0, gt=0, description="Bound on each request to Kafka."
    )
    session_timeout_s: float = Field(
        default=30.0,
        gt=0,
        description="How long the group waits for a silent worker before its partitions "
        "move to the others (a killed worker's districts wait this long).",
    )
    instance_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="A static group member ID (Kafka's group.instance.id), unique to this "
        "worker and kept across its restarts (a StatefulSet pod's name): a restarted worker "
        "takes its partitions back at once instead of after the session timeout; a stopped "
        "one keeps them for that long.",
    )
    producer_linger_s: float = Field(
        default=0.005,
        ge=0,
        description="How long the faust engine's producers wait to batch records into one "
        "request, in seconds: a raw record gives several outputs and table writes, each its "
        "own request without it. The native engine builds its batches itself.",
    )
    stop_timeout_s: float = Field(
        default=20.0,
        gt=0,
        description="How long a stopping worker may take to commit its open transactions; "
        "what the broker has not taken by then is aborted (read again by the next owner).",
    )
    raw_topic_prefix: str | None = Field(
        default=None,
        description="The prefix of the raw topic the worker reads; unset: the topic prefix. "
        "Set apart from CLEVER_STREAM_TOPIC_PREFIX (which names the outputs, the group and "
        "its changelog), it rebuilds a deployment's raw topic into fresh outputs: a replay.",
    )
    districts: tuple[str, ...] = Field(
        default=(),
        description="Only these districts' raw records are processed (a JSON list of IDs); "
        "the others are skipped. Empty: every district.",
    )
    commit_interval_s: float = Field(
        default=0.1,
        gt=0,
        description="How often the worker commits each partition's transaction, in seconds: "
        "it bounds how late read_committed consumers see a change. 0.1 is Kafka Streams' "
        "exactly-once default; the faust engine, which commits its partitions one after "
        "another and holds processing meanwhile, needs 0.5 to keep up.",
    )

    @field_validator("store")
    @classmethod
    def _supported_store(cls, store: str) -> str:
        url = store.strip().lower()
        if url in STORES:
            return url
        hint = ""
        if "rocksdict" in url:
            hint = " (rocksdb:// is Faust's RocksDB store, which rocksdict provides)"
        elif url.startswith(STORES):
            hint = " (without a path: each table names its own files under data_dir)"
        raise ValueError(f"unsupported table store {store!r}: use {' or '.join(STORES)}{hint}")

    @field_validator("raw_topic_prefix")
    @classmethod
    def _legal_raw_prefix(cls, prefix: str | None) -> str | None:
        return None if prefix is None else validate_prefix(prefix)

    @model_validator(mode="after")
    def _session_within_requests(self) -> WorkerSettings:
        # A group join waits up to the session timeout: a request bound below it would give
        # up first (Faust refuses the pair at its start; the native engine would time out).
        if self.session_timeout_s > self.broker_request_timeout_s:
            raise ValueError(
                "session_timeout_s must not exceed broker_request_timeout_s: raise "
                "CLEVER_WORKER_BROKER_REQUEST_TIMEOUT_S with CLEVER_WORKER_SESSION_TIMEOUT_S"
            )
        return self

    @property
    def topics(self) -> OutputTopics:
        """The topics the worker reads (the raw topic) and writes (the outputs)."""
        return OutputTopics.of(self.topic_prefix, raw_prefix=self.raw_topic_prefix)

    @property
    def group_id(self) -> str:
        """The worker group's ID (``app_id``, or ``<topic prefix>-privileges``): its consumer
        group, and the prefix of its changelog topics and transactional IDs."""
        return self.app_id or f"{self.topic_prefix}-privileges"

    def views_bearer_token(self) -> str | None:
        """The token the query views require (from ``views_token_file`` if set), or None."""
        if self.views_token_file is not None:
            try:
                token = self.views_token_file.read_text(encoding="utf-8").strip()
            except OSError as error:
                raise ConfigurationError(
                    f"cannot read CLEVER_WORKER_VIEWS_TOKEN_FILE {self.views_token_file} "
                    f"({error.strerror})",
                    hint="point it at a readable file holding the token",
                ) from None
            if not token:
                raise ConfigurationError(
                    f"CLEVER_WORKER_VIEWS_TOKEN_FILE {self.views_token_file} is empty",
                    hint="write the token into it, or unset it",
                )
            return token
        return None if self.views_token is None else self.views_token.get_secret_value() or None
