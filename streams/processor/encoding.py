"""``DistrictProgress``, ``ContactGrants`` and ``StudentEntry`` as JSON bytes, for the tables.

They are the processor's own bookkeeping, not part of the contract, so they are JSON (readable
with any Kafka tool on the tables' changelogs) rather than Avro. ``ContactSnapshot`` values
are contract records: store them with ``schemas.codec.default_codec()`` instead. Decoding
checks every field, so a corrupt changelog entry fails loudly as ``DecodeError``; values
written before a field was added read with its default.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from schemas.datum import from_datum, to_datum
from schemas.exceptions import DecodeError
from schemas.records import ContactSnapshot
from streams.processor.store import ContactGrants, DistrictProgress, PairGrant, StudentEntry

_FORMAT = 1


def encode_progress(progress: DistrictProgress) -> bytes:
    """The JSON bytes of a district's progress."""
    document = {
        "format": _FORMAT,
        "district_id": progress.district_id,
        "last_partition": progress.last_partition,
        "last_offset": progress.last_offset,
        "record_count": progress.record_count,
        "event_day": progress.event_day,
        "synced_through": progress.synced_through,
        "synced_api_version": progress.synced_api_version,
        "sync_id": progress.sync_id,
        "recently_deleted": [_snapshot_json(snapshot) for _, snapshot in progress.recently_deleted],
        "skipped": [[record_type, count] for record_type, count in progress.skipped],
    }
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def decode_progress(data: bytes) -> DistrictProgress:
    """The district progress ``encode_progress`` wrote; ``DecodeError`` if it is not one."""
    document = _document(data, "DistrictProgress")
    try:
        deleted = tuple(_snapshot(item) for item in document["recently_deleted"])
        return DistrictProgress(
            district_id=_text(document["district_id"]),
            last_partition=_optional_int(document["last_partition"]),
            last_offset=_optional_int(document["last_offset"]),
            record_count=_int(document.get("record_count", 0)),
            event_day=_optional_int(document.get("event_day")),
            synced_through=_optional_text(document.get("synced_through")),
            synced_api_version=_optional_text(document.get("synced_api_version")),
            sync_id=_optional_text(document["sync_id"]),
            recently_deleted=tuple((snapshot.contact_id, snapshot) for snapshot in deleted),
            skipped=tuple((_text(name), _int(count)) for name, count in document["skipped"]),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise DecodeError(f"not a DistrictProgress: {type(error).__name__}: {error}") from error


def encode_grants(grants: ContactGrants) -> bytes:
    """The JSON bytes of a contact's grants."""
    document = {
        "format": _FORMAT,
        "district_id": grants.district_id,
        "contact_id": grants.contact_id,
        "grants": [
            [
                grant.student_id,
                grant.granted_at.isoformat(),
                grant.reissued_from_contact_id,
                grant.last_change_id,
            ]
            for grant in grants.grants
        ],
    }
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def decode_grants(data: bytes) -> ContactGrants:
    """The contact grants ``encode_grants`` wrote; ``DecodeError`` if they are not."""
    document = _document(data, "ContactGrants")
    try:
        return ContactGrants(
            district_id=_text(document["district_id"]),
            contact_id=_text(document["contact_id"]),
            grants=tuple(_grant(*entry) for entry in document["grants"]),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise DecodeError(f"not ContactGrants: {type(error).__name__}: {error}") from error


def _grant(
    student_id: Any, granted_at: Any, reissued_from: Any, last_change_id: Any = ""
) -> PairGrant:
    """One grant of ``encode_grants``'s list (the last change's ID was added later)."""
    return PairGrant(
        student_id=_text(student_id),
        granted_at=_time(granted_at),
        reissued_from_contact_id=_optional_text(reissued_from),
        last_change_id=_text(last_change_id),
    )


def encode_student(entry: StudentEntry) -> bytes:
    """The JSON bytes of a student's entry (its district and ID are the table's key)."""
    document = {
        "exists": entry.exists,
        "last_sync_id": entry.last_sync_id,
        "listed_by": sorted(entry.listed_by),
    }
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def decode_student(district_id: str, student_id: str, data: bytes) -> StudentEntry:
    """The entry ``encode_student`` wrote; ``DecodeError`` if it is not one.

    A JSON list is the index of an earlier version: the contacts with a live pair of an
    existing student (it listed no others, and knew of no student without a pair).
    """
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise DecodeError(f"a StudentEntry is not JSON: {error}") from error
    try:
        if isinstance(document, list):
            return StudentEntry(
                district_id=district_id,
                student_id=student_id,
                exists=True,
                listed_by=frozenset(_text(contact) for contact in document),
            )
        return StudentEntry(
            district_id=district_id,
            student_id=student_id,
            exists=_bool(document["exists"]),
            last_sync_id=_optional_text(document["last_sync_id"]),
            listed_by=frozenset(_text(contact) for contact in document["listed_by"]),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise DecodeError(f"not a StudentEntry: {type(error).__name__}: {error}") from error


def _document(data: bytes, what: str) -> Mapping[str, Any]:
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise DecodeError(f"a {what} is not JSON: {error}") from error
    if not isinstance(document, dict) or document.get("format") != _FORMAT:
        raise DecodeError(f"a {what} is not a format-{_FORMAT} JSON object")
    return document


def _snapshot_json(snapshot: ContactSnapshot) -> dict[str, Any]:
    datum = to_datum(snapshot)
    datum["updated_at"] = snapshot.updated_at.isoformat()
    return datum


def _snapshot(item: Any) -> ContactSnapshot:
    if not isinstance(item, dict):
        raise TypeError("a recently deleted contact is not an object")
    return from_datum(ContactSnapshot, {**item, "updated_at": _time(item["updated_at"])})


def _time(value: Any) -> datetime:
    moment = datetime.fromisoformat(_text(value))
    if moment.tzinfo is None:
        raise ValueError(f"a naive time: {value!r}")
    return moment


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected text, found {type(value).__name__}")
    return value


def _optional_text(value: Any) -> str | None:
    return None if value is None else _text(value)


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected a boolean, found {type(value).__name__}")
    return value


def _int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"expected an integer, found {type(value).__name__}")
    return value


def _optional_int(value: Any) -> int | None:
    return None if value is None else _int(value)
