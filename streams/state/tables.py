"""The processor's ``StateStore`` over the worker's tables: bytes keyed by bytes.

The same store serves both engines. Under Faust the tables are Faust tables, whose every
write goes to a changelog in the transaction of the raw record being processed. Under the
native engine they are views of a partition's committed state and its open transaction's
writes.
Either way a crash loses the writes and the outputs together, and recovery rebuilds exactly
the committed state.

A district's progress is written on every record (its last offset), so it is kept small: the
recently deleted contacts that a re-created contact may be linked to live in a table of
their own, written only when they change. So do the IDs of the events applied, a key each.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from dataclasses import replace
from typing import Final, Protocol

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

SEPARATOR = "/"

#: The tables, as named in the changelogs (both engines).
CONTACTS = "contacts"
STUDENTS = "students"
GRANTS = "grants"
DISTRICTS = "districts"
DELETED = "deleted"
EVENTS = "events"
#: Every table of the worker.
TABLE_NAMES: Final = (CONTACTS, STUDENTS, GRANTS, DISTRICTS, DELETED, EVENTS)


def _key(*parts: str) -> bytes:
    return SEPARATOR.join(parts).encode("utf-8")


class TableSet(Protocol):
    """The six tables (see ``streams.engines.faust.tables``), whatever keeps them."""

    @property
    def contacts(self) -> MutableMapping[bytes, bytes]: ...

    @property
    def students(self) -> MutableMapping[bytes, bytes]: ...

    @property
    def grants(self) -> MutableMapping[bytes, bytes]: ...

    @property
    def districts(self) -> MutableMapping[bytes, bytes]: ...

    @property
    def deleted(self) -> MutableMapping[bytes, bytes]: ...

    @property
    def events(self) -> MutableMapping[bytes, bytes]: ...


class TableStore:
    """Reads and writes the tables; decoding is cached by the identity of the stored bytes."""

    def __init__(self, tables: TableSet, *, codec: Codec) -> None:
        self._tables = tables
        self._codec = codec
        # district -> (the stored bytes, what they decode to): reused while the bytes are.
        self._deleted: dict[str, tuple[bytes, DistrictProgress]] = {}
        #: The codec's and ``encode_grants``'s bytes, written faster; made on the first
        #: write (a store of the views only reads).
        self._contact_writer: ContactWriter | None = None
        self._grants_writer: GrantsWriter | None = None

    def get_contact(self, district_id: str, contact_id: str) -> ContactSnapshot | None:
        data = self._tables.contacts.get(_key(district_id, contact_id))
        return None if data is None else self._codec.decode(data, ContactSnapshot)

    def put_contact(self, snapshot: ContactSnapshot) -> None:
        key = _key(snapshot.district_id, snapshot.contact_id)
        writer = self._contact_writer
        if writer is None:
            writer = self._contact_writer = ContactWriter(self._codec)
        self._tables.contacts[key] = writer.contact(snapshot)

    def delete_contact(self, district_id: str, contact_id: str) -> None:
        self._tables.contacts.pop(_key(district_id, contact_id), None)

    def contact_ids(self, district_id: str) -> Iterator[str]:
        return self._ids(self._tables.contacts, district_id)

    def get_student(self, district_id: str, student_id: str) -> StudentEntry | None:
        data = self._tables.students.get(_key(district_id, student_id))
        return None if data is None else decode_student(district_id, student_id, data)

    def put_student(self, entry: StudentEntry) -> None:
        key = _key(entry.district_id, entry.student_id)
        if entry.kept:
            self._tables.students[key] = encode_student(entry)
        else:
            self._tables.students.pop(key, None)

    def student_ids(self, district_id: str) -> Iterator[str]:
        return self._ids(self._tables.students, district_id)

    def get_grants(self, district_id: str, contact_id: str) -> ContactGrants | None:
        data = self._tables.grants.get(_key(district_id, contact_id))
        return None if data is None else decode_grants(data)

    def put_grants(self, grants: ContactGrants) -> None:
        key = _key(grants.district_id, grants.contact_id)
        if grants.grants:
            writer = self._grants_writer
            if writer is None:
                writer = self._grants_writer = GrantsWriter()
            self._tables.grants[key] = writer.grants(grants)
        else:
            self._tables.grants.pop(key, None)

    def get_district(self, district_id: str) -> DistrictProgress | None:
        data = self._tables.districts.get(_key(district_id))
        if data is None:
            return None
        progress = decode_progress(data)
        return replace(progress, recently_deleted=self._recently_deleted(district_id))

    def put_district(self, progress: DistrictProgress) -> None:
        district_id = progress.district_id
        self._tables.districts[_key(district_id)] = encode_progress(
            replace(progress, recently_deleted=())
        )
        cached = self._deleted.get(district_id)
        if cached is not None and cached[1].recently_deleted is progress.recently_deleted:
            return  # unchanged: the same tuple that was read
        if not progress.recently_deleted and cached is None:
            return
        deleted_only = DistrictProgress(
            district_id=district_id, recently_deleted=progress.recently_deleted
        )
        data = encode_progress(deleted_only)
        self._tables.deleted[_key(district_id)] = data
        self._deleted[district_id] = (data, deleted_only)

    def event_day(self, district_id: str, event_id: str) -> int | None:
        data = self._tables.events.get(_key(district_id, event_id))
        return None if data is None else int(data)

    def remember_event(self, district_id: str, event_id: str, day: int) -> None:
        self._tables.events[_key(district_id, event_id)] = str(day).encode("ascii")

    def forget_event(self, district_id: str, event_id: str) -> None:
        self._tables.events.pop(_key(district_id, event_id), None)

    def remembered_events(self, district_id: str) -> Iterator[tuple[str, int]]:
        events = self._tables.events
        days = [(event_id, events.get(_key(district_id, event_id))) for event_id in
                self._ids(events, district_id)]  # fmt: skip
        return iter([(event_id, int(day)) for event_id, day in days if day is not None])

    @staticmethod
    def _ids(table: MutableMapping[bytes, bytes], district_id: str) -> Iterator[str]:
        """The IDs after ``district/`` of ``table``'s keys, read before the caller writes."""
        prefix = _key(district_id, "")
        with_prefix = getattr(table, "with_prefix", None)
        keys = with_prefix(prefix) if with_prefix is not None else table
        # A list first: the caller deletes entries while it walks them.
        found = [key[len(prefix) :] for key in keys if key.startswith(prefix)]
        return iter([found_id.decode("utf-8") for found_id in found])

    def _recently_deleted(self, district_id: str) -> tuple[tuple[str, ContactSnapshot], ...]:
        data = self._tables.deleted.get(_key(district_id))
        if data is None:
            self._deleted.pop(district_id, None)
            return ()
        cached = self._deleted.get(district_id)
        if cached is None or cached[0] is not data:
            cached = (data, decode_progress(data))
            self._deleted[district_id] = cached
        return cached[1].recently_deleted
