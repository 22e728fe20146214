"""``clever-stream status``: where a deployment stands, read from Kafka alone.

Nothing here asks a running process: the cursors topic says where each district's poller
stands, the health topic which districts fail and why, the requests topic which operator
resyncs are still pending, the raw topic's ends and the worker group's committed offsets how
far behind the workers are, the group's description who owns which raw partition, and the
dead-letter topic what could not be processed. So it answers whether the processes run or
not.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment

from connectors.cursors import read_all_cursors
from foundation.connection import KafkaConnection
from foundation.kafka_errors import kafka_errors, retrying
from foundation.reading import partition_counts, read_committed, read_latest
from schemas.codec import Codec
from schemas.exceptions import DecodeError
from schemas.records import DeadLetter, DistrictHealth, PollerCursor, ResyncRequest
from schemas.topics import DEAD_LETTERS, POLLER_CURSORS, POLLER_HEALTH, POLLER_REQUESTS, RAW_EVENTS

_Keyed = TypeVar("_Keyed", ResyncRequest, DistrictHealth)

#: How long Clever keeps events: a cursor older than this can no longer be polled on.
CLEVER_EVENT_RETENTION: Final = timedelta(days=30)


@dataclass(frozen=True, kw_only=True)
class ResyncState:
    """An operator's resync request of a district, and whether the poller took it up."""

    request_id: str
    reason: str
    requested_at: datetime
    #: Not taken up yet: no poller of the district has started it.
    pending: bool


@dataclass(frozen=True, kw_only=True)
class FailingState:
    """Why a district's poller is failing, and since when."""

    since: datetime | None
    failures: int
    error_type: str | None
    error_message: str | None
    reported_at: datetime


@dataclass(frozen=True, kw_only=True)
class DistrictState:
    """One district's poller: its last committed cursor, its health, an operator's request.

    A district without a cursor yet (a refused token, say) has only its health: its cursor
    fields are None then.
    """

    district_id: str
    phase: str | None
    api_version: str | None
    last_event_id: str | None
    #: When the last event was created, from its ID (Clever's IDs are ObjectIds).
    last_event_at: datetime | None
    cursor_updated_at: datetime | None
    cursor_age_s: float | None
    #: How long until Clever no longer holds the events after the cursor (a resync then).
    resync_forced_in_s: float | None
    sync_id: str | None
    sync_role: str | None
    sync_records: int | None
    #: Why and when the last sync began: the sync's first control record is in the raw
    #: topic; the cursor says whether it was an operator's request.
    resync: ResyncState | None
    failing: FailingState | None


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
    kafka: KafkaConnection, *, prefix: str, group_id: str, codec: Codec, now: datetime
) -> Status:
    """The status of the deployment of ``prefix`` and its worker group ``group_id``."""
    with kafka_errors("read the deployment's status", kafka):
        counts = await partition_counts(
            kafka, [spec.name(prefix) for spec in (DEAD_LETTERS, RAW_EVENTS)]
        )
        cursors = await read_all_cursors(kafka, topic=POLLER_CURSORS.name(prefix), codec=codec)
        requests = await _read_latest_of(kafka, POLLER_REQUESTS.name(prefix), ResyncRequest, codec)
        health = await _read_latest_of(kafka, POLLER_HEALTH.name(prefix), DistrictHealth, codec)
        letters_topic = DEAD_LETTERS.name(prefix)
        letters = await read_committed(kafka, letters_topic, counts.get(letters_topic, 0))
        partitions, group_state = await read_raw_partitions(
            kafka, RAW_EVENTS.name(prefix), group_id, counts
        )
    districts = [
        _district(
            district_id,
            cursors.get(district_id),
            requests.get(district_id),
            health.get(district_id),
            now,
        )
        for district_id in sorted(set(cursors) | set(requests) | set(health))
    ]
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


async def _read_latest_of(
    kafka: KafkaConnection, topic: str, record_type: type[_Keyed], codec: Codec
) -> dict[str, _Keyed]:
    """A compacted district-keyed topic's latest records, by district (unreadable ones left
    out: the status shows what it can)."""
    found: dict[str, _Keyed] = {}
    for key, value in (await read_latest(kafka, topic)).items():
        with contextlib.suppress(DecodeError):
            found[key.decode("utf-8", "replace")] = codec.decode(value, record_type)
    return found


def _district(
    district_id: str,
    cursor: PollerCursor | None,
    request: ResyncRequest | None,
    health: DistrictHealth | None,
    now: datetime,
) -> DistrictState:
    last_event_id = None if cursor is None else cursor.last_event_id
    last_event_at = object_id_time(last_event_id)
    forced_in = (
        None
        if last_event_at is None
        else (last_event_at + CLEVER_EVENT_RETENTION - now).total_seconds()
    )
    resync = (
        None
        if request is None
        else ResyncState(
            request_id=request.request_id,
            reason=request.reason,
            requested_at=request.requested_at,
            pending=cursor is None or cursor.resync_request_id != request.request_id,
        )
    )
    failing = (
        None
        if health is None or not health.failing
        else FailingState(
            since=health.failing_since,
            failures=health.failures,
            error_type=health.error_type,
            error_message=health.error_message,
            reported_at=health.updated_at,
        )
    )
    return DistrictState(
        district_id=district_id,
        phase=None if cursor is None else str(cursor.phase),
        api_version=None if cursor is None else cursor.api_version,
        last_event_id=last_event_id,
        last_event_at=last_event_at,
        cursor_updated_at=None if cursor is None else cursor.updated_at,
        cursor_age_s=None if cursor is None else (now - cursor.updated_at).total_seconds(),
        resync_forced_in_s=forced_in,
        sync_id=None if cursor is None else cursor.sync_id,
        sync_role=None if cursor is None else cursor.sync_role,
        sync_records=None if cursor is None else cursor.sync_records,
        resync=resync,
        failing=failing,
    )


async def read_raw_partitions(
    kafka: KafkaConnection, raw_topic: str, group_id: str, counts: dict[str, int]
) -> tuple[list[PartitionState], str]:
    """Each raw partition's end, committed offset and owner; and the group's state."""
    admin = AIOKafkaAdminClient(**kafka.client_options())
    consumer = AIOKafkaConsumer(**kafka.client_options(), isolation_level="read_committed")
    tps = [TopicPartition(raw_topic, partition) for partition in range(counts.get(raw_topic, 0))]
    try:
        await admin.start()
        await consumer.start()
        ends = await consumer.end_offsets(tps) if tps else {}
        committed = await retrying(lambda: admin.list_consumer_group_offsets(group_id))
        owners, state = await retrying(lambda: _owners(admin, group_id, raw_topic))
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
        if district.phase is None or district.cursor_age_s is None:
            lines.append(f"  {district.district_id}  no cursor yet")
        else:
            lines.append(
                f"  {district.district_id}  {district.phase.lower()} ({district.api_version})"
            )
            lines.append(f"    cursor written {_ago(district.cursor_age_s)}")
        lines += _failing_lines(district.failing)
        lines += _resync_lines(district.resync)
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


def _failing_lines(failing: FailingState | None) -> list[str]:
    if failing is None:
        return []
    since = "" if failing.since is None else f" since {failing.since:%Y-%m-%d %H:%M:%S}"
    return [
        f"    FAILING{since} ({failing.failures} attempts): {failing.error_type}",
        f"      {failing.error_message or ''}".rstrip(),
    ]


def _resync_lines(resync: ResyncState | None) -> list[str]:
    if resync is None:
        return []
    state = "pending" if resync.pending else "taken up"
    return [
        f"    resync requested {resync.requested_at:%Y-%m-%d %H:%M:%S} ({resync.reason}): {state}"
    ]


def _ago(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"
