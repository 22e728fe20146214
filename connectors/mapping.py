"""Clever's JSON as records of the contract: pure functions, no I/O, tolerant of messy data.

Events and snapshot records keep Clever's JSON whole (``clever_json``), so nothing a district
sent is lost; only what the stream needs to route and order (IDs, types, times) is lifted
out. Missing or odd fields become None. Only an item that cannot be filed at all (not an
object, no ID, no type, not representable as JSON) raises ``MalformedRecordError``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from connectors.exceptions import MalformedRecordError
from schemas.records import RawCleverRecord
from schemas.values import RawRecordKind, RecordSource

# Unix times above this are taken as milliseconds (1e11 s is the year 5138).
_MILLIS_THRESHOLD = 1e11


def event_record(
    item: Mapping[str, Any] | Any, *, district_id: str, api_version: str, fetched_at: datetime
) -> RawCleverRecord:
    """The raw-stream record of one Clever event, as received."""
    event = _object(item, "event")
    event_id = _required_text(event, "id", "event")
    event_type = _required_text(event, "type", f"event {event_id}")
    data = event.get("data")
    obj = data.get("object") if isinstance(data, Mapping) else None
    record_id = obj.get("id") if isinstance(obj, Mapping) else None
    family = event_type.partition(".")[0].strip()
    return RawCleverRecord(
        district_id=district_id,
        api_version=api_version,
        kind=RawRecordKind.EVENT,
        source=RecordSource.EVENTS,
        event_id=event_id,
        event_type=event_type,
        record_type=family or None,
        record_id=record_id if isinstance(record_id, str) and record_id else None,
        created_at=parse_clever_time(event.get("created")),
        fetched_at=_utc(fetched_at),
        clever_json=_json(event, f"event {event_id}"),
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
    record_id = _required_text(obj, "id", f"{record_type} record")
    return RawCleverRecord(
        district_id=district_id,
        api_version=api_version,
        kind=RawRecordKind.SNAPSHOT,
        source=source,
        sync_id=sync_id,
        record_type=record_type,
        record_id=record_id,
        fetched_at=_utc(fetched_at),
        clever_json=_json(obj, f"{record_type} {record_id}"),
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


def _required_text(obj: Mapping[str, Any], key: str, what: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value.strip():
        raise MalformedRecordError(f"a Clever {what} has no {key} (got {type(value).__name__})")
    return value


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
