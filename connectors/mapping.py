"""Clever's JSON as records of the contract: pure functions, no I/O, tolerant of messy data.

Events and snapshot records keep Clever's JSON whole (``clever_json``), so nothing a district
sent is lost; only what the stream needs to route and order (IDs, types, times) is lifted
out. Missing or odd fields become None. Only an item that cannot be filed at all (not an
object, no usable ID, no type, not representable as JSON) raises ``MalformedRecordError``,
and one whose record would not fit in a Kafka record ``RecordTooLargeError``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from connectors.exceptions import MalformedRecordError, RecordTooLargeError
from schemas.records import RawCleverRecord
from schemas.topics import MAX_RECORD_BYTES
from schemas.values import RawRecordKind, RecordSource

# Unix times above this are taken as milliseconds (1e11 s is the year 5138).
_MILLIS_THRESHOLD = 1e11
#: The longest ID the poller files and pages by: Clever's are 24 characters, and a cursor
#: travels in a URL (``starting_after``), where a huge one would be refused.
MAX_ID_CHARS = 256
# What a record holds besides its strings, at most: enum indexes, times, counts, the header.
_RECORD_OVERHEAD = 256


def usable_id(value: Any) -> str | None:
    """``value`` if it can name a Clever item, in a record and in a URL; else None.

    A non-blank string of at most ``MAX_ID_CHARS`` characters, writable as UTF-8 (JSON can
    carry lone surrogates, ``\\ud800``, which no UTF-8 text can).
    """
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_ID_CHARS:
        return None
    return value if _is_text(value) else None


def event_record(
    item: Mapping[str, Any] | Any, *, district_id: str, api_version: str, fetched_at: datetime
) -> RawCleverRecord:
    """The raw-stream record of one Clever event, as received."""
    event = _object(item, "event")
    event_id = _required_id(event, "event")
    event_type = _required_text(event, "type", f"event {event_id}")
    data = event.get("data")
    obj = data.get("object") if isinstance(data, Mapping) else None
    record_id = usable_id(obj.get("id")) if isinstance(obj, Mapping) else None
    family = event_type.partition(".")[0].strip()
    return _fitting(
        RawCleverRecord(
            district_id=district_id,
            api_version=api_version,
            kind=RawRecordKind.EVENT,
            source=RecordSource.EVENTS,
            event_id=event_id,
            event_type=event_type,
            record_type=family or None,
            record_id=record_id,
            created_at=parse_clever_time(event.get("created")),
            fetched_at=_utc(fetched_at),
            clever_json=_json(event, f"event {event_id}"),
        ),
        f"event {event_id}",
    )


def snapshot_record(
    item: Mapping[str, Any] | Any,
    *,
    district_id: str,
    api_version: str,
    record_type: str,
    sync_id: str,
    source: RecordSource,
    fetched_at: datetime,
) -> RawCleverRecord:
    """The raw-stream record of one Data API object read by a sync."""
    obj = _object(item, f"{record_type} record")
    record_id = _required_id(obj, f"{record_type} record")
    return _fitting(
        RawCleverRecord(
            district_id=district_id,
            api_version=api_version,
            kind=RawRecordKind.SNAPSHOT,
            source=source,
            sync_id=sync_id,
            record_type=record_type,
            record_id=record_id,
            fetched_at=_utc(fetched_at),
            clever_json=_json(obj, f"{record_type} {record_id}"),
        ),
        f"{record_type} {record_id}",
    )


def sync_started_record(
    *,
    district_id: str,
    api_version: str,
    sync_id: str,
    source: RecordSource,
    bookmark_event_id: str | None,
    fetched_at: datetime,
) -> RawCleverRecord:
    """The record that opens a sync; ``event_id`` is the event polling resumes after."""
    return RawCleverRecord(
        district_id=district_id,
        api_version=api_version,
        kind=RawRecordKind.SYNC_STARTED,
        source=source,
        sync_id=sync_id,
        event_id=bookmark_event_id,
        fetched_at=_utc(fetched_at),
    )


def sync_completed_record(
    *,
    district_id: str,
    api_version: str,
    sync_id: str,
    source: RecordSource,
    snapshot_records: int,
    fetched_at: datetime,
) -> RawCleverRecord:
    """The record that closes a sync, with how many snapshot records it published."""
    if snapshot_records < 0:
        raise ValueError("snapshot_records must not be negative")
    return RawCleverRecord(
        district_id=district_id,
        api_version=api_version,
        kind=RawRecordKind.SYNC_COMPLETED,
        source=source,
        sync_id=sync_id,
        snapshot_records=snapshot_records,
        fetched_at=_utc(fetched_at),
    )


def previous_attributes(event: Mapping[str, Any] | Any) -> Mapping[str, Any]:
    """An ``*.updated`` event's prior values: ``data.previous_attributes`` (Clever's docs),
    else the event's own ``previous_attributes`` (Clever's swagger), else empty."""
    if not isinstance(event, Mapping):
        return {}
    data = event.get("data")
    if isinstance(data, Mapping):
        inner = data.get("previous_attributes")
        if isinstance(inner, Mapping):
            return inner
    outer = event.get("previous_attributes")
    return outer if isinstance(outer, Mapping) else {}


def parse_clever_time(value: Any) -> datetime | None:
    """A UTC datetime (whole milliseconds) from Clever's ``created``, or None.

    ISO-8601 with or without fraction, ``Z`` or offset (naive means UTC); Unix seconds or
    milliseconds as a number. Anything else is None: a time is informational, never fatal.
    """
    try:
        if isinstance(value, str):
            moment = _iso(value)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            moment = _unix(value)
        else:
            return None
        if moment is None:
            return None
        moment = _utc(moment)
        return moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    except (ValueError, OverflowError, OSError):
        return None


def _iso(text: str) -> datetime | None:
    text = text.strip()
    if not text or len(text) > 64:
        return None
    if text[-1] in "zZ":
        text = f"{text[:-1]}+00:00"
    return datetime.fromisoformat(text)


def _unix(number: float) -> datetime | None:
    if not math.isfinite(number):
        return None
    seconds = number / 1000 if abs(number) >= _MILLIS_THRESHOLD else number
    return datetime.fromtimestamp(seconds, tz=UTC)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _object(item: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(item, Mapping):
        raise MalformedRecordError(f"a Clever {what} is {type(item).__name__}, not an object")
    return item


def _required_id(obj: Mapping[str, Any], what: str) -> str:
    value = obj.get("id")
    found = usable_id(value)
    if found is None:
        raise MalformedRecordError(f"a Clever {what} has no id ({_describe(value)})")
    return found


def _required_text(obj: Mapping[str, Any], key: str, what: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value.strip() or not _is_text(value):
        raise MalformedRecordError(f"a Clever {what} has no {key} ({_describe(value)})")
    return value


def _describe(value: Any) -> str:
    """What a field held instead, without quoting it (it may be huge, or personal)."""
    if not isinstance(value, str):
        return f"got {type(value).__name__}"
    if not value.strip():
        return "got a blank str"
    if len(value) > MAX_ID_CHARS:
        return f"got a str of {len(value):,} characters"
    return "got a str that is not UTF-8 text"


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _fitting(record: RawCleverRecord, what: str) -> RawCleverRecord:
    """``record``, unless it is larger than a Kafka record may be (``RecordTooLargeError``).

    A bound of its Avro encoding: each string's UTF-8 bytes and length, and the rest.
    """
    texts = (
        record.district_id, record.api_version, record.sync_id, record.event_id,
        record.event_type, record.record_type, record.record_id, record.clever_json,
    )  # fmt: skip
    size = _RECORD_OVERHEAD + sum(len(text.encode("utf-8")) + 5 for text in texts if text)
    if size > MAX_RECORD_BYTES:
        raise RecordTooLargeError(
            f"{what[:80]} is a record of over {size:,} bytes, more than the "
            f"{MAX_RECORD_BYTES:,} a Kafka record may hold"
        )
    return record


def _json(obj: Mapping[str, Any], what: str) -> str:
    """Compact JSON of ``obj``, key order kept; readable UTF-8 unless it cannot be encoded."""
    try:
        text = json.dumps(dict(obj), separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            # Lone surrogates (from \\ud800 escapes) cannot travel as UTF-8: escape them all.
            text = json.dumps(dict(obj), separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError, RecursionError) as error:
        raise MalformedRecordError(
            f"{what} cannot be written as JSON ({type(error).__name__})"
        ) from None
    return text
