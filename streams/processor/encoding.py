"""The processor's own table values as Avro: ``StudentEntry``, ``ContactGrants`` and
``DistrictProgress`` (the ``districts`` and ``deleted`` tables).

Each value is an Avro single-object message of the worker's internal schemas
(``schemas/internal/*.avsc``, loaded by ``schemas.internal_schemas``): ``C3 01``, the
writer schema's 8-byte CRC-64-AVRO fingerprint, then the Avro binary body. They are no part
of the contract, but any Avro tool reads them given the schema. Writers compiled from the
schemas write them (``streams.writers.table_values``); fastavro reads them.

Values an earlier version wrote as JSON (an object, or a student's list of contacts) still
decode, so a worker upgraded over an existing changelog reads them; whatever is written again
is written as Avro. Decoding checks every field, so a corrupt changelog entry fails loudly as
``DecodeError``. ``ContactSnapshot`` values of the contacts table are the contract's records:
store them with ``schemas.codec.default_codec()`` instead.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from operator import itemgetter
from typing import Any

import fastavro

from schemas.datum import from_datum
from schemas.exceptions import DecodeError
from schemas.internal_schemas import (
    CONTACT_GRANTS,
    DISTRICT_PROGRESS,
    SKIP_COUNT,
    STUDENT_ENTRY,
    internal_schema,
)
from schemas.records import ContactSnapshot
from schemas.wire import SINGLE_OBJECT_MARKER
from streams.processor.store import ContactGrants, DistrictProgress, PairGrant, StudentEntry
from streams.writers.grants_writer import GrantsWriter
from streams.writers.table_values import ValueWriter

#: The ``format`` of the JSON values an earlier version wrote.
_JSON_FORMAT = 1


def encode_progress(progress: DistrictProgress) -> bytes:
    """The ``DistrictProgress`` message of a district's progress."""
    return _progress_writer().write(progress)


def decode_progress(data: bytes) -> DistrictProgress:
    """The district progress ``encode_progress`` (or an earlier version, as JSON) wrote;
    ``DecodeError`` if it is not one."""
    if data[:2] != SINGLE_OBJECT_MARKER:
        return _json_progress(data)
    datum = _read(data, DISTRICT_PROGRESS)
    try:
        deleted = [from_datum(ContactSnapshot, item) for item in datum["recently_deleted"]]
        return DistrictProgress(
            district_id=datum["district_id"],
            last_partition=datum["last_partition"],
            last_offset=datum["last_offset"],
            record_count=datum["record_count"],
            event_day=datum["event_day"],
            synced_through=datum["synced_through"],
            synced_api_version=datum["synced_api_version"],
            sync_id=datum["sync_id"],
            recently_deleted=tuple((snapshot.contact_id, snapshot) for snapshot in deleted),
            skipped=tuple((item["record_type"], item["count"]) for item in datum["skipped"]),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise DecodeError(f"not a DistrictProgress: {type(error).__name__}: {error}") from error


def encode_grants(grants: ContactGrants) -> bytes:
    """The ``ContactGrants`` message of a contact's grants."""
    return _grants_writer().grants(grants)


def decode_grants(data: bytes) -> ContactGrants:
    """The contact grants ``encode_grants`` (or an earlier version, as JSON) wrote;
    ``DecodeError`` if they are not."""
    if data[:2] != SINGLE_OBJECT_MARKER:
        return _json_grants(data)
    datum = _read(data, CONTACT_GRANTS)
    try:
        return ContactGrants(
            district_id=datum["district_id"],
            contact_id=datum["contact_id"],
            grants=tuple(
                PairGrant(
                    student_id=grant["student_id"],
                    granted_at=grant["granted_at"],
                    reissued_from_contact_id=grant["reissued_from_contact_id"],
                    last_change_id=grant["last_change_id"],
                )
                for grant in datum["grants"]
            ),
        )
    except (KeyError, TypeError) as error:
        raise DecodeError(f"not ContactGrants: {type(error).__name__}: {error}") from error


def encode_student(entry: StudentEntry) -> bytes:
    """The ``StudentEntry`` message of a student's entry (its district and ID are the
    table's key, not in the value)."""
    return _student_writer().write(entry)


def decode_student(district_id: str, student_id: str, data: bytes) -> StudentEntry:
    """The entry ``encode_student`` (or an earlier version, as JSON) wrote; ``DecodeError``
    if it is not one."""
    if data[:2] != SINGLE_OBJECT_MARKER:
        return _json_student(district_id, student_id, data)
    datum = _read(data, STUDENT_ENTRY)
    try:
        return StudentEntry(
            district_id=district_id,
            student_id=student_id,
            exists=datum["exists"],
            last_sync_id=datum["last_sync_id"],
            listed_by=frozenset(datum["listed_by"]),
        )
    except (KeyError, TypeError) as error:
        raise DecodeError(f"not a StudentEntry: {type(error).__name__}: {error}") from error


@cache
def _progress_writer() -> ValueWriter:
    # The deleted contacts' IDs are their snapshots' own; skip counts are (type, count) pairs.
    return ValueWriter(
        DISTRICT_PROGRESS,
        fields={
            DISTRICT_PROGRESS: {"recently_deleted": _deleted_snapshots},
            SKIP_COUNT: {"record_type": itemgetter(0), "count": itemgetter(1)},
        },
    )


def _deleted_snapshots(progress: DistrictProgress) -> list[ContactSnapshot]:
    return [snapshot for _, snapshot in progress.recently_deleted]


@cache
def _grants_writer() -> GrantsWriter:
    return GrantsWriter()


@cache
def _student_writer() -> ValueWriter:
    # Sorted: equal entries, equal bytes.
    return ValueWriter(STUDENT_ENTRY, fields={STUDENT_ENTRY: {"listed_by": _sorted_listed_by}})


def _sorted_listed_by(entry: StudentEntry) -> list[str]:
    return sorted(entry.listed_by)


def _read(data: bytes, full_name: str) -> dict[str, Any]:
    """The body of a single-object message of the internal schema ``full_name``, as fastavro
    reads it; ``DecodeError`` if the message is of another schema, corrupt, or too long."""
    schema = internal_schema(full_name)
    what = schema.schema.name
    size = len(schema.header)
    if data[:size] != schema.header:
        raise DecodeError(
            f"a {what} of an unknown schema (fingerprint {bytes(data[2:size]).hex()}): "
            "written by a newer version, or not a value of this table"
        )
    buffer = io.BytesIO(data)
    buffer.seek(size)
    # The bytes come from a changelog: whatever the reader trips on, the value is corrupt.
    try:
        datum = fastavro.schemaless_reader(buffer, schema.parsed, None)
    except Exception as error:
        raise DecodeError(f"corrupt {what}: {type(error).__name__}: {error}") from error
    if buffer.tell() != len(data):
        raise DecodeError(f"{len(data) - buffer.tell()} bytes left over after a {what}")
    if not isinstance(datum, dict):
        raise DecodeError(f"a {what} is not a record")
    return datum


# Values an earlier version wrote: compact JSON objects with a "format" of 1.


def _json_progress(data: bytes) -> DistrictProgress:
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


def _json_grants(data: bytes) -> ContactGrants:
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
    """One grant of a JSON list (the last change's ID came later, so it may be missing)."""
    return PairGrant(
        student_id=_text(student_id),
        granted_at=_time(granted_at),
        reissued_from_contact_id=_optional_text(reissued_from),
        last_change_id=_text(last_change_id),
    )


def _json_student(district_id: str, student_id: str, data: bytes) -> StudentEntry:
    """A JSON object, or a JSON list: the contacts with a live pair of an existing student
    (an index that listed no others, and knew of no student without a pair)."""
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise DecodeError(f"a StudentEntry is neither Avro nor JSON: {error}") from error
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
        raise DecodeError(f"a {what} is neither Avro nor JSON: {error}") from error
    if not isinstance(document, dict) or document.get("format") != _JSON_FORMAT:
        raise DecodeError(f"a {what} is not a format-{_JSON_FORMAT} JSON object")
    return document


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
