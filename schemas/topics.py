"""Every topic of the pipeline, defined once: name, key, cleanup, retention.

Names follow one convention, ``<prefix>.<dataset>.v<major>``: the prefix (setting
``CLEVER_STREAM_TOPIC_PREFIX``, default ``clever-stream``) lets two deployments share a
cluster, and the major version changes only with an incompatible change of the record.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

# The naming rule is the foundation's (settings validate the prefix); exported here too.
from foundation.settings import DEFAULT_PREFIX as DEFAULT_PREFIX
from foundation.settings import validate_prefix as validate_prefix
from schemas.records import (
    DeadLetter,
    DistrictHealth,
    DistrictRegistration,
    Message,
    PollerCursor,
    PrivilegeChange,
    PrivilegeState,
    RawCleverRecord,
    ResyncRequest,
)

#: The largest record (key and value) the pipeline writes to any of its topics: under Kafka's
#: defaults for one record (the producer's max.request.size, 1 MiB, and the broker's
#: message.max.bytes), with room for the record's headers and its batch's framing. The poller
#: and the workers dead-letter what would be larger rather than have Kafka refuse it.
MAX_RECORD_BYTES: Final = 1_000_000

FOREVER = -1
_DAY_MS = 24 * 60 * 60 * 1000


class CleanupPolicy(StrEnum):
    """Kafka's ``cleanup.policy``."""

    DELETE = "delete"
    COMPACT = "compact"


@dataclass(frozen=True)
class TopicSpec:
    """One topic of the pipeline, independent of the deployment's prefix."""

    dataset: str
    version: int
    key: str
    value: type[Message] | None
    description: str
    cleanup_policy: CleanupPolicy
    retention_ms: int = FOREVER
    #: None: the deployment's CLEVER_STREAM_TOPIC_PARTITIONS.
    partitions: int | None = None

    def name(self, prefix: str = DEFAULT_PREFIX) -> str:
        """The topic's name under ``prefix``."""
        return f"{validate_prefix(prefix)}.{self.dataset}.v{self.version}"

    def config(self) -> dict[str, str]:
        """Topic-level Kafka configuration to create it with."""
        return {
            "cleanup.policy": str(self.cleanup_policy),
            "retention.ms": str(self.retention_ms),
        }


RAW_EVENTS = TopicSpec(
    dataset="clever.raw",
    version=1,
    key="Clever district ID",
    value=RawCleverRecord,
    description=(
        "Every Clever event the poller fetched and every snapshot record of a sync, "
        "in Clever's order per district; the source a replay rebuilds state from."
    ),
    cleanup_policy=CleanupPolicy.DELETE,
)
POLLER_CURSORS = TopicSpec(
    dataset="poller.cursors",
    version=1,
    key="Clever district ID",
    value=PollerCursor,
    description="The poller's last published Clever event ID per district, written in the "
    "same transaction as the events it covers; its partitions are the pollers' shards.",
    cleanup_policy=CleanupPolicy.COMPACT,
    # The poller's shards (a district's is the partition its key hashes to): the most pollers
    # a fleet can keep busy. Fixed once created: another count would move every district.
    partitions=12,
)
POLLER_REQUESTS = TopicSpec(
    dataset="poller.requests",
    version=1,
    key="Clever district ID",
    value=ResyncRequest,
    description="Operators' resync requests (clever-stream resync), the latest per district; "
    "a poller takes each up once, at its next page or when it starts.",
    cleanup_policy=CleanupPolicy.COMPACT,
    partitions=1,
)
POLLER_HEALTH = TopicSpec(
    dataset="poller.health",
    version=1,
    key="Clever district ID, or #<n> for a configured district not known yet",
    value=DistrictHealth,
    description="Whether each district's poller is failing, and since when; written when that "
    "changes, so clever-stream status shows it with the pollers stopped.",
    cleanup_policy=CleanupPolicy.COMPACT,
    partitions=1,
)
POLLER_DISTRICTS = TopicSpec(
    dataset="poller.districts",
    version=1,
    key="Clever district ID",
    value=DistrictRegistration,
    description="The districts added at run time (clever-stream districts add), their tokens "
    "encrypted; a tombstone removes one. Every poller reads it whole, then follows it.",
    cleanup_policy=CleanupPolicy.COMPACT,
    partitions=1,
)
PRIVILEGE_CHANGES = TopicSpec(
    dataset="privileges.changes",
    version=1,
    key="Clever district ID",
    value=PrivilegeChange,
    description="Granted, revoked and changed privileges of (contact, student) pairs.",
    cleanup_policy=CleanupPolicy.DELETE,
)
PRIVILEGE_STATE = TopicSpec(
    dataset="privileges.state",
    version=1,
    key="<district ID>/<contact ID>/<student ID>",
    value=PrivilegeState,
    description="The current privileges, one record per pair, a tombstone when it ends; "
    "a new consumer bootstraps from it.",
    cleanup_policy=CleanupPolicy.COMPACT,
)
DEAD_LETTERS = TopicSpec(
    dataset="dead-letters",
    version=1,
    key="Clever district ID, when known",
    value=DeadLetter,
    description="Records the pipeline could not process, with the error and their origin.",
    cleanup_policy=CleanupPolicy.DELETE,
    retention_ms=30 * _DAY_MS,
    # Rare, and read by people: one partition keeps them in the order they failed.
    partitions=1,
)
SELFCHECK = TopicSpec(
    dataset="selfcheck",
    version=1,
    key="a random token",
    value=None,
    description="Written and read back by `clever-stream selfcheck` and the demo to prove a "
    "transactional round trip; consumers of the pipeline ignore it.",
    cleanup_policy=CleanupPolicy.DELETE,
    retention_ms=60 * 60 * 1000,
    partitions=1,
)

ALL_TOPICS: tuple[TopicSpec, ...] = (
    RAW_EVENTS,
    POLLER_CURSORS,
    POLLER_REQUESTS,
    POLLER_HEALTH,
    POLLER_DISTRICTS,
    PRIVILEGE_CHANGES,
    PRIVILEGE_STATE,
    DEAD_LETTERS,
    SELFCHECK,
)
