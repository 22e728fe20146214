"""Settings of the poller (env prefix ``CLEVER_POLLER_``): districts, Clever, timing, Kafka."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from foundation.exceptions import ConfigurationError
from foundation.settings import KafkaSettings

ApiVersion = Literal["v3.0", "v3.1", "v2.1"]


class DistrictConfig(BaseModel):
    """One district to poll: its district-app token, and optionally its ID and API version.

    A district-app token sees exactly one district, so the ID can be left out: the poller asks
    Clever (``GET /districts``) which district the token belongs to.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    token: SecretStr = Field(description="The district-app bearer token.")
    district_id: str | None = Field(
        default=None, min_length=1, description="The Clever district ID; unset: asked of Clever."
    )
    api_version: ApiVersion = Field(
        default="v3.0", description="v3.0 (default), v3.1, or v2.1 for contacts.* events."
    )


class PollerSettings(KafkaSettings):
    """Everything the poller needs; build it in ``main()`` and pass it down."""

    model_config = SettingsConfigDict(
        env_prefix="CLEVER_POLLER_", frozen=True, extra="ignore", env_ignore_empty=True
    )

    districts: tuple[DistrictConfig, ...] = Field(
        default_factory=tuple,
        description='JSON list of districts: [{"token": "...", "district_id": "...", '
        '"api_version": "v3.0"}].',
    )
    districts_file: Path | None = Field(
        default=None,
        description="A JSON file with the same list, for tokens mounted as secrets; "
        "its districts are added to CLEVER_POLLER_DISTRICTS, and it is re-read when it changes.",
    )
    # Districts added and removed at run time: the file re-read, the districts topic followed
    # (connectors/registry.py).
    districts_refresh_s: float = Field(
        default=10.0,
        gt=0,
        description="How often the districts file is checked for a change, in seconds.",
    )
    districts_key: SecretStr | None = Field(
        default=None,
        description="The Fernet key that encrypts the tokens on the districts topic "
        "(clever-stream districts key makes one); the same key for the CLI and every poller.",
    )
    base_url: str = Field(
        default="https://api.clever.com", description="Clever's API root (scheme and host)."
    )
    poll_interval_s: float = Field(
        default=5.0,
        gt=0,
        description="Wait between event polls of an active district once it is caught up.",
    )
    # A fleet: adaptive polling, Clever's rate limit, the poll slots and the shards' group.
    active_for_s: float | None = Field(
        default=None,
        gt=0,
        description="How long after its last event a district is polled every poll interval; "
        "unset: 60 poll intervals (5 minutes at the default).",
    )
    idle_poll_interval_s: float | None = Field(
        default=None,
        gt=0,
        description="The longest wait between polls of a quiet district (each quiet poll "
        "doubles the wait up to it): a quiet district's next event waits no longer; unset: "
        "12 poll intervals (60 s at the default).",
    )
    rate_limit_per_minute: int = Field(
        default=1080,
        ge=1,
        le=1200,
        description="Requests per minute per token the poller paces itself to, below "
        "Clever's 1,200.",
    )
    max_concurrent_polls: int = Field(
        default=16,
        ge=1,
        description="Poll slots: how many districts are stepped (a request and its commit) "
        "at once, whatever the number of districts.",
    )
    instance_id: str = Field(
        default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}",
        min_length=1,
        description="This poller's name in its User-Agent and logs; unset: <hostname>-<pid>.",
    )
    group_id: str | None = Field(
        default=None,
        min_length=1,
        description="The Kafka consumer group the pollers share the shards (the cursor "
        "topic's partitions) through; unset: <topic prefix>-pollers.",
    )
    group_session_timeout_ms: int = Field(
        default=10_000,
        ge=6000,
        description="How long a poller that stopped heartbeating (killed, say) keeps its "
        "shards before the group moves them.",
    )
    events_page_size: int = Field(
        default=1000, ge=1, le=10_000, description="Events per request and per transaction."
    )
    snapshot_page_size: int = Field(
        default=2_000,
        ge=1,
        le=10_000,
        description="Data API records per request in a sync (Clever allows 10,000): a page is "
        "decoded and mapped in one go, so a smaller one keeps every other district's polls "
        "on time while a big district syncs.",
    )
    sync_transaction_records: int = Field(
        default=1_000,
        ge=1,
        description="Records per Kafka transaction during a sync: a larger snapshot page is "
        "committed in parts, each with its cursor, so a shard's other districts wait less.",
    )
    rollover_min_events: int = Field(
        default=10_000,
        ge=1,
        description="A catch-up that reads more events than this and than the district's "
        "last sync had records is a rollover: the poller resyncs instead.",
    )
    http_host: str = Field(
        default="127.0.0.1",
        description="Address of the poller's /metrics, /health and /ready (0.0.0.0 in a "
        "container).",
    )
    http_port: int = Field(
        default=9465,
        ge=0,
        le=65535,
        description="Port of the poller's /metrics, /health and /ready; 0 turns them off.",
    )
    connect_timeout_s: float = Field(default=5.0, gt=0, description="HTTP connect timeout.")
    read_timeout_s: float = Field(default=30.0, gt=0, description="HTTP read timeout.")
    max_connections: int = Field(default=20, ge=1, description="HTTP connections in the pool.")
    retry_max_attempts: int = Field(
        default=8, ge=1, description="Attempts of one Clever request before giving up."
    )
    retry_initial_backoff_s: float = Field(
        default=0.5, gt=0, description="First wait between attempts (then doubled, jittered)."
    )
    retry_max_backoff_s: float = Field(
        default=30.0, gt=0, description="Cap of one wait between attempts."
    )
    retry_max_retry_after_s: float = Field(
        default=120.0, gt=0, description="Longest Retry-After from Clever that is honoured."
    )
    district_backoff_s: float = Field(
        default=5.0, gt=0, description="First wait before a failed district is tried again."
    )
    district_max_backoff_s: float = Field(
        default=300.0, gt=0, description="Cap of the wait before a failed district is retried."
    )
    transactional_id_prefix: str | None = Field(
        default=None,
        min_length=1,
        description="Kafka transactional IDs are <prefix>-shard-<n>: a shard's new owner "
        "fences the old one; unset: <topic prefix>-poller, so that each deployment "
        "(topic prefix) has its own.",
    )
    transaction_timeout_ms: int = Field(
        default=60_000, ge=1000, description="Kafka transaction.timeout.ms of each producer."
    )
    kafka_timeout_s: float = Field(
        default=30.0, gt=0, description="Bound on Kafka calls: start, cursor read, commit."
    )

    @model_validator(mode="after")
    def _backoffs_ordered(self) -> PollerSettings:
        if self.district_backoff_s > self.district_max_backoff_s:
            raise ValueError("district_backoff_s must not exceed district_max_backoff_s")
        return self

    def all_districts(self) -> tuple[DistrictConfig, ...]:
        """The configured districts, from the environment and from ``districts_file`` (none is
        fine: districts may come from the districts topic alone); a bad file is a
        ``ConfigurationError``."""
        districts = list(self.districts)
        if self.districts_file is not None:
            districts.extend(districts_from_file(self.districts_file))
        return tuple(districts)

    @property
    def effective_active_for_s(self) -> float:
        """``active_for_s``, or 60 poll intervals."""
        return self.active_for_s or 60 * self.poll_interval_s

    @property
    def effective_idle_poll_interval_s(self) -> float:
        """``idle_poll_interval_s``, or 12 poll intervals (never below the poll interval)."""
        return max(self.idle_poll_interval_s or 12 * self.poll_interval_s, self.poll_interval_s)

    @property
    def pollers_group_id(self) -> str:
        """The pollers' consumer group: ``group_id``, or ``<topic prefix>-pollers``."""
        return self.group_id or f"{self.topic_prefix}-pollers"

    @property
    def transactional_prefix(self) -> str:
        """The poller's transactional IDs' prefix: ``transactional_id_prefix``, or
        ``<topic prefix>-poller``."""
        return self.transactional_id_prefix or f"{self.topic_prefix}-poller"


def districts_from_file(path: Path) -> list[DistrictConfig]:
    """The districts a districts file lists; a ``ConfigurationError`` that never quotes a token
    if it cannot be read or holds anything else."""
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ConfigurationError(
            f"cannot read the districts file {path}: {type(error).__name__}",
            hint="CLEVER_POLLER_DISTRICTS_FILE must name a readable JSON list of districts",
        ) from error
    if not isinstance(entries, list):
        raise ConfigurationError(
            f"the districts file {path} does not hold a JSON list",
            hint='write [{"token": "...", "district_id": "..."}, ...]',
        )
    try:
        return [DistrictConfig.model_validate(entry) for entry in entries]
    except ValueError:
        # pydantic's message quotes the input, token included: neither it nor its traceback
        # may reach a log.
        raise ConfigurationError(
            f"the districts file {path} has an entry that is not a district",
            hint='each entry needs "token" and may have "district_id" and "api_version"',
        ) from None
