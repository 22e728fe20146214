"""The worker's tables: their names, keys and value format, and typed reads of committed state.

Both engines keep the same six tables, partitioned like the raw topic (a district's keys live
in its raw partition), bytes keyed by bytes:

| table | key | value |
| --- | --- | --- |
| ``contacts`` | ``district/contact`` | ``ContactSnapshot``, the contract's Avro single-object |
| ``students`` | ``district/student`` | ``StudentEntry``: exists? last sync, contacts listing it |
| ``grants`` | ``district/contact`` | ``ContactGrants``: each live pair's grant |
| ``districts`` | ``district`` | ``DistrictProgress`` without its recently deleted contacts |
| ``deleted`` | ``district`` | the district's recently deleted contacts |
| ``events`` | ``district/event`` | the day of a Clever event applied, ASCII digits |

The students, grants, districts and deleted values are the processor's own bookkeeping,
in ``streams.processor.encoding``'s format. A district's progress is written on every record
(its last offset), so it is kept small: the recently deleted contacts live in a table of
their own, written only when they change. So do the IDs of the events applied, a key each.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Final

from schemas.codec import Codec
from schemas.records import ContactSnapshot
from streams.processor.encoding import (
    decode_grants,
    decode_progress,
    decode_student,
    encode_progress,
    encode_student,
)
from streams.processor.store import ContactGrants, DistrictProgress, StudentEntry
from streams.writers.contact_writer import ContactWriter
from streams.writers.grants_writer import GrantsWriter

SEPARATOR: Final = "/"

CONTACTS: Final = "contacts"
STUDENTS: Final = "students"
GRANTS: Final = "grants"
DISTRICTS: Final = "districts"
DELETED: Final = "deleted"
EVENTS: Final = "events"
#: Every table of the worker, as named in the changelogs.
TABLE_NAMES: Final = (CONTACTS, STUDENTS, GRANTS, DISTRICTS, DELETED, EVENTS)


def table_key(*parts: str) -> bytes:
    """The key of a table entry: its IDs, district first, joined by ``SEPARATOR``."""
    return SEPARATOR.join(parts).encode("utf-8")


def district_of_key(key: bytes) -> str:
    """The district of a table key (its first part); ValueError if it names none."""
    district = key.split(SEPARATOR.encode("utf-8"), 1)[0].decode("utf-8")
    if not district:
        raise ValueError("a table key without a district")
    return district


def district_prefix(district_id: str) -> bytes:
    """The start of every key of ``district_id`` in the tables keyed ``district/<id>``."""
    return table_key(district_id, "")


class TableFormat:
    """The tables' values: each typed value to its bytes and back, in one place."""

    def __init__(self, codec: Codec) -> None:
        self._codec = codec
        # Made on the first write: a reader never writes.
        self._contact_writer: ContactWriter | None = None
        self._grants_writer: GrantsWriter | None = None

    def decode_contact(self, data: bytes) -> ContactSnapshot:
        return self._codec.decode(data, ContactSnapshot)

    def encode_contact(self, snapshot: ContactSnapshot) -> bytes:
        writer = self._contact_writer
        if writer is None:
            writer = self._contact_writer = ContactWriter(self._codec)
        return writer.contact(snapshot)

    @staticmethod
    def decode_student(district_id: str, student_id: str, data: bytes) -> StudentEntry:
        return decode_student(district_id, student_id, data)

    @staticmethod
    def encode_student(entry: StudentEntry) -> bytes:
        return encode_student(entry)

    @staticmethod
    def decode_grants(data: bytes) -> ContactGrants:
        return decode_grants(data)

    def encode_grants(self, grants: ContactGrants) -> bytes:
        writer = self._grants_writer
        if writer is None:
            writer = self._grants_writer = GrantsWriter()
        return writer.grants(grants)

    @staticmethod
    def decode_progress(data: bytes) -> DistrictProgress:
        """A ``districts`` or ``deleted`` value."""
        return decode_progress(data)

    @staticmethod
    def encode_progress(progress: DistrictProgress) -> bytes:
        """The ``districts`` value: ``progress`` without its recently deleted contacts."""
        if progress.recently_deleted:
            progress = replace(progress, recently_deleted=())
        return encode_progress(progress)

    @staticmethod
    def encode_deleted(district_id: str, deleted: tuple[tuple[str, ContactSnapshot], ...]) -> bytes:
        """The ``deleted`` value: a district's recently deleted contacts."""
        return encode_progress(DistrictProgress(district_id=district_id, recently_deleted=deleted))

    @staticmethod
    def decode_day(data: bytes) -> int:
        """An ``events`` value."""
        return int(data)

    @staticmethod
    def encode_day(day: int) -> bytes:
        return str(day).encode("ascii")


def ids_of(keys: Iterable[bytes], district_id: str) -> list[str]:
    """The IDs after ``district/`` of ``keys`` (which all start with it)."""
    start = len(district_prefix(district_id))
    return [key[start:].decode("utf-8") for key in keys]
