"""``clever-stream status``: where a deployment stands, read from Kafka alone.

Nothing here asks a running process: the cursors topic says where each district's poller
stands, the raw topic's ends and the worker group's committed offsets say how far behind the
workers are, the group's description says who owns which raw partition, and the dead-letter
topic says what could not be processed. So it answers whether the processes run or not.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment

from foundation.kafka_errors import kafka_errors
from foundation.reading import partition_counts, read_committed
from schemas.codec import Codec
from schemas.records import DeadLetter, PollerCursor
from schemas.topics import DEAD_LETTERS, POLLER_CURSORS, RAW_EVENTS

#: How long Clever keeps events: a cursor older than this can no longer be polled on.
CLEVER_EVENT_RETENTION: Final = timedelta(days=30)


@dataclass(frozen=True, kw_only=True)
class DistrictState:
    """One district's poller, as its last committed cursor says."""

    district_id: str
    phase: str
    api_version: str
    last_event_id: str | None
    #: When the last event was created, from its ID (Clever's IDs are ObjectIds).
    last_event_at: datetime | None
    cursor_updated_at: datetime
    cursor_age_s: float
    #: How long until Clever no longer holds the events after the cursor (a resync then).
    resync_forced_in_s: float | None
    sync_id: str | None
    sync_role: str | None
    sync_records: int | None


@dataclass(frozen=True, kw_only=True)
class PartitionState:
    """One raw partition: its end, the worker group's committed offset, and its owner."""

    partition: int
    end: int
    committed: int | None
    lag: int
    owner: str | None


@dataclass(frozen=True, kw_only=True)
class Status:
    """Where a deployment stands."""

    prefix: str
    group_id: str
    group_state: str
    districts: list[DistrictState]
    partitions: list[PartitionState]
    dead_letters: dict[str, int]

    def as_json(self) -> dict[str, Any]:
        """The status as JSON values (times in ISO 8601)."""

        def plain(value: Any) -> Any:
            if isinstance(value, datetime):
                return value.isoformat()
            if isinstance(value, dict):
                return {key: plain(item) for key, item in value.items()}
            if isinstance(value, list):
                return [plain(item) for item in value]
            return value

        return {key: plain(value) for key, value in asdict(self).items()}


def object_id_time(clever_id: str | None) -> datetime | None:
    """When a Clever ID (a MongoDB ObjectId: 24 hex digits, seconds first) was made."""
    if clever_id is None or len(clever_id) != 24:
        return None
    try:
        return datetime.fromtimestamp(int(clever_id[:8], 16), UTC)
    except ValueError:
        return None


async def read_status(
    bootstrap_servers: str, *, prefix: str, group_id: str, codec: Codec, now: datetime
) -> Status:
    """The status of the deployment of ``prefix`` and its worker group ``group_id``."""
    with kafka_errors("read the deployment's status", bootstrap_servers):
        counts = await partition_counts(
            bootstrap_servers,
            [spec.name(prefix) for spec in (POLLER_CURSORS, DEAD_LETTERS, RAW_EVENTS)],
        )
        cursors_topic, letters_topic = POLLER_CURSORS.name(prefix), DEAD_LETTERS.name(prefix)
        cursors = await read_committed(
            bootstrap_servers, cursors_topic, counts.get(cursors_topic, 0)
        )
        letters = await read_committed(
            bootstrap_servers, letters_topic, counts.get(letters_topic, 0)
        )
        partitions, group_state = await _raw_partitions(
            bootstrap_servers, RAW_EVENTS.name(prefix), group_id, counts
        )
    latest: dict[bytes, bytes | None] = {}
    for record in cursors:
        latest[record.key or b""] = record.value
    districts = sorted(
        (
            _district(codec.decode(value, PollerCursor), now)
            for value in latest.values()
            if value is not None
        ),
        key=lambda district: district.district_id,
    )
    reasons = Counter(
        codec.decode(record.value, DeadLetter).error_type
        for record in letters
        if record.value is not None
    )
    return Status(
        prefix=prefix,
        group_id=group_id,
        group_state=group_state,
        districts=districts,
        partitions=partitions,
        dead_letters=dict(sorted(reasons.items())),
    )


def _district(cursor: PollerCursor, now: datetime) -> DistrictState:
    last_event_at = object_id_time(cursor.last_event_id)
    forced_in = (
        None
        if last_event_at is None
        else (last_event_at + CLEVER_EVENT_RETENTION - now).total_seconds()
    )
    return DistrictState(
        district_id=cursor.district_id,
        phase=str(cursor.phase),
        api_version=cursor.api_version,
        last_event_id=cursor.last_event_id,
        last_event_at=last_event_at,
        cursor_updated_at=cursor.updated_at,
        cursor_age_s=(now - cursor.updated_at).total_seconds(),
        resync_forced_in_s=forced_in,
        sync_id=cursor.sync_id,
        sync_role=cursor.sync_role,
        sync_records=cursor.sync_records,
    )


async def _raw_partitions(
    bootstrap_servers: str, raw_topic: str, group_id: str, counts: dict[str, int]
) -> tuple[list[PartitionState], str]:
    """Each raw partition's end, committed offset and owner; and the group's state."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers, isolation_level="read_committed"
    )
    tps = [TopicPartition(raw_topic, partition) for partition in range(counts.get(raw_topic, 0))]
    await admin.start()
    await consumer.start()
    try:
        ends = await consumer.end_offsets(tps) if tps else {}
        committed = await admin.list_consumer_group_offsets(group_id)
        owners, state = await _owners(admin, group_id, raw_topic)
    finally:
        await consumer.stop()
        await admin.close()
    found = []
    for tp in tps:
        offset = committed[tp].offset if tp in committed else None
        found.append(
            PartitionState(
                partition=tp.partition,
                end=ends[tp],
                committed=offset,
                # A partition's end is its last transaction's marker, which the group never
                # commits past: a lag of one there is none.
                lag=max(0, ends[tp] - (offset or 0) - (1 if offset else 0)),
                owner=owners.get(tp.partition),
            )
        )
    return found, state


async def _owners(
    admin: AIOKafkaAdminClient, group_id: str, raw_topic: str
) -> tuple[dict[int, str], str]:
    """Which member (client ID @ host) owns each raw partition; the group's state."""
    owners: dict[int, str] = {}
    state = "unknown"
    for response in await admin.describe_consumer_groups([group_id]):
        for group in response.groups:
            # (error, group, state, protocol type, protocol, members, ...), every version.
            state = str(group[2])
            members = group[5]
            if not isinstance(members, list):
                continue
            for member in members:
                # (member, [instance,] client, host, metadata, assignment): from the end.
                client, host, assignment = member[-4], member[-3], member[-1]
                if not isinstance(assignment, bytes) or not assignment:
                    continue
                decoded = ConsumerProtocolMemberAssignment.decode(assignment)
                for topic, owned in decoded.assignment:
                    if topic == raw_topic:
                        for partition in owned:
                            owners[partition] = f"{client}@{host}"
    return owners, state


def status_lines(status: Status) -> list[str]:
    """The status as text, a few short lines per district and partition."""
    lines = [f"Districts ({len(status.districts)}, from {POLLER_CURSORS.name(status.prefix)}):"]
    for district in status.districts:
        lines.append(f"  {district.district_id}  {district.phase.lower()} ({district.api_version})")
        lines.append(f"    cursor written {_ago(district.cursor_age_s)}")
        if district.last_event_id is not None:
            at = (
                ""
                if district.last_event_at is None
                else f", made {district.last_event_at:%Y-%m-%d %H:%M:%S}"
            )
            lines.append(f"    last event {district.last_event_id}{at}")
        if district.resync_forced_in_s is not None:
            left = district.resync_forced_in_s
            lines.append(
                f"    Clever's 30-day window forces a resync in {left / 86400:.1f} days"
                if left > 0
                else "    past Clever's 30-day window: the next poll resyncs"
            )
        if district.sync_id is not None:
            records = "" if district.sync_records is None else f", {district.sync_records} records"
            lines.append(f"    sync {district.sync_id} ({district.sync_role or 'sync'}{records})")
    if not status.districts:
        lines.append("  none yet: no poller has committed a cursor")
    lines.append(
        f"Raw partitions and the worker group {status.group_id} ({status.group_state.lower()}):"
    )
    for partition in status.partitions:
        owner = partition.owner or "no owner"
        committed = "nothing" if partition.committed is None else f"{partition.committed:,}"
        lines.append(
            f"  {partition.partition}: end {partition.end:,}, committed {committed}, "
            f"lag {partition.lag:,}; {owner}"
        )
    total = sum(status.dead_letters.values())
    reasons = ", ".join(f"{reason} {count}" for reason, count in status.dead_letters.items())
    lines.append(f"Dead letters: {total}" + (f" ({reasons})" if reasons else ""))
    return lines


def _ago(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"
