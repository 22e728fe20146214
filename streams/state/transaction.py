"""One raw partition's open transaction over its committed tables: the processor's store.

A ``PartitionTransaction`` is the processor's ``StateStore`` during processing:

- **read-your-writes**: values are kept decoded, by their typed key, as read or written;
  a read the transaction has not seen goes to the committed backing, once;
- **a savepoint per raw record**: ``savepoint()`` marks a record's start, and ``rollback()``
  undoes every write since, so a record that fails half-way leaves no trace;
- **prepare**: the changelog records of the keys written since the last prepare, each
  key's last value encoded once; they go to the changelog in the Kafka transaction;
- **commit**: once Kafka has committed that transaction, the prepared writes are applied to
  the backing in one step, with the changelog offset they bring it to;
- **abort**: every write is dropped, and so is what was kept (it may hold them).

What was read or written stays valid after a commit (the backing then holds exactly those
values), so later transactions of the partition read it without decoding; past ``keep``
entries a table's values are dropped at the next commit. This is the shape of Quix
Streams' ``PartitionTransaction`` (a read-your-writes cache, changelog records at
``prepare``, the store updated with the changelog offset at ``flush``), with the typed
state of the processor as its keys and values.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import replace
from typing import Any, Final

from schemas.records import ContactSnapshot
from streams.processor.store import ContactGrants, DistrictProgress, StudentEntry
from streams.state.backing import TableBacking, Writes
from streams.state.tables import (
    CONTACTS,
    DELETED,
    DISTRICTS,
    EVENTS,
    GRANTS,
    STUDENTS,
    TableFormat,
    district_prefix,
    ids_of,
    table_key,
)

#: A key the transaction had not kept when a savepoint's record first wrote it.
_MISSING: Final = object()
#: How many values of a table are kept past a commit, at most, by default.
DEFAULT_KEEP: Final = 50_000

DistrictDeleted = tuple[tuple[str, ContactSnapshot], ...]


class PartitionTransaction:
    """A partition's state during processing: a ``StateStore`` with savepoints, prepared for
    the changelog and committed to ``backing`` (see the module's doc)."""

    def __init__(
        self, backing: TableBacking, *, table_format: TableFormat, keep: int = DEFAULT_KEEP
    ) -> None:
        self.backing = backing
        self._format = table_format
        self._keep = keep
        self._contacts: dict[tuple[str, str], ContactSnapshot | None] = {}
        self._students: dict[tuple[str, str], StudentEntry | None] = {}
        self._grants: dict[tuple[str, str], ContactGrants | None] = {}
        self._districts: dict[str, DistrictProgress | None] = {}
        self._events: dict[tuple[str, str], int | None] = {}
        #: The keys written since the last prepare, per table.
        self._dirty: dict[str, set[Any]] = {
            CONTACTS: set(), STUDENTS: set(), GRANTS: set(), DISTRICTS: set(), EVENTS: set()
        }  # fmt: skip
        self._written_contacts = self._dirty[CONTACTS]
        self._written_students = self._dirty[STUDENTS]
        self._written_grants = self._dirty[GRANTS]
        self._written_districts = self._dirty[DISTRICTS]
        self._written_events = self._dirty[EVENTS]
        #: Each table's kept values, by name.
        self._kept: dict[str, dict[Any, Any]] = {
            CONTACTS: self._contacts,
            STUDENTS: self._students,
            GRANTS: self._grants,
            DISTRICTS: self._districts,
            EVENTS: self._events,
        }
        #: The recently deleted contacts the ``deleted`` table holds, per district read.
        self._deleted: dict[str, DistrictDeleted] = {}
        #: The prepared writes, encoded, not yet committed.
        self._prepared: dict[tuple[str, bytes], bytes | None] = {}
        #: The savepoint's undo log, oldest first: (a table's kept values, its written keys,
        #: the key, the value kept before the write or _MISSING, whether it was written).
        self._undo: list[tuple[dict[Any, Any], set[Any], Hashable, object, bool]] = []

    # -- savepoints -----------------------------------------------------------------------

    def savepoint(self) -> None:
        """Mark the start of a raw record: ``rollback`` returns here."""
        self._undo.clear()

    def rollback(self) -> None:
        """Undo every write since the savepoint, newest first (so the oldest value stays)."""
        for kept, written, key, before, was_written in reversed(self._undo):
            if before is _MISSING:
                kept.pop(key, None)
            else:
                kept[key] = before
            if not was_written:
                written.discard(key)
        self._undo.clear()

    def _write(self, kept: dict[Any, Any], written: set[Any], key: Hashable, value: object) -> None:
        self._undo.append((kept, written, key, kept.get(key, _MISSING), key in written))
        kept[key] = value
        written.add(key)

    # -- the StateStore -------------------------------------------------------------------

    def get_contact(self, district_id: str, contact_id: str) -> ContactSnapshot | None:
        key = (district_id, contact_id)
        try:
            return self._contacts[key]
        except KeyError:
            data = self.backing.get(CONTACTS, table_key(district_id, contact_id))
            found = None if data is None else self._format.decode_contact(data)
            self._contacts[key] = found
            return found

    def put_contact(self, snapshot: ContactSnapshot) -> None:
        key = (snapshot.district_id, snapshot.contact_id)
        self._write(self._contacts, self._written_contacts, key, snapshot)

    def delete_contact(self, district_id: str, contact_id: str) -> None:
        self._write(self._contacts, self._written_contacts, (district_id, contact_id), None)

    def contact_ids(self, district_id: str) -> Iterable[str]:
        return self._ids(CONTACTS, district_id)

    def get_student(self, district_id: str, student_id: str) -> StudentEntry | None:
        key = (district_id, student_id)
        try:
            found = self._students[key]
        except KeyError:
            data = self.backing.get(STUDENTS, table_key(district_id, student_id))
            found = None if data is None else self._format.decode_student(*key, data)
            self._students[key] = found
        return found if found is not None and found.kept else None

    def put_student(self, entry: StudentEntry) -> None:
        key = (entry.district_id, entry.student_id)
        self._write(self._students, self._written_students, key, entry)

    def student_ids(self, district_id: str) -> Iterable[str]:
        return self._ids(STUDENTS, district_id)

    def get_grants(self, district_id: str, contact_id: str) -> ContactGrants | None:
        key = (district_id, contact_id)
        try:
            found = self._grants[key]
        except KeyError:
            data = self.backing.get(GRANTS, table_key(district_id, contact_id))
            found = None if data is None else self._format.decode_grants(data)
            self._grants[key] = found
        return found if found is not None and found.grants else None

    def put_grants(self, grants: ContactGrants) -> None:
        key = (grants.district_id, grants.contact_id)
        self._write(self._grants, self._written_grants, key, grants)

    def get_district(self, district_id: str) -> DistrictProgress | None:
        try:
            return self._districts[district_id]
        except KeyError:
            found = self._districts[district_id] = self._read_district(district_id)
            return found

    def put_district(self, progress: DistrictProgress) -> None:
        district_id = progress.district_id
        self._write(self._districts, self._written_districts, district_id, progress)

    def event_day(self, district_id: str, event_id: str) -> int | None:
        key = (district_id, event_id)
        try:
            return self._events[key]
        except KeyError:
            data = self.backing.get(EVENTS, table_key(district_id, event_id))
            found = self._events[key] = None if data is None else self._format.decode_day(data)
            return found

    def remember_event(self, district_id: str, event_id: str, day: int) -> None:
        self._write(self._events, self._written_events, (district_id, event_id), day)

    def forget_event(self, district_id: str, event_id: str) -> None:
        self._write(self._events, self._written_events, (district_id, event_id), None)

    def remembered_events(self, district_id: str) -> Iterable[tuple[str, int]]:
        days = {event_id: self.event_day(district_id, event_id)
                for event_id in self._ids(EVENTS, district_id)}  # fmt: skip
        return [(event_id, day) for event_id, day in days.items() if day is not None]

    # -- the transaction ------------------------------------------------------------------

    def prepare(self) -> Writes:
        """Encode the keys written since the last prepare (each one's last value): the
        changelog records to send in the Kafka transaction, held until ``commit``.

        A deletion of a key that neither the backing nor this transaction holds is no
        write. The savepoint ends here: prepared writes are not rolled back.
        """
        found: dict[tuple[str, bytes], bytes | None] = {}
        encode = self._format
        dirty = self._dirty
        for district_id, contact_id in dirty[CONTACTS]:
            snapshot = self._contacts[(district_id, contact_id)]
            key = table_key(district_id, contact_id)
            found[(CONTACTS, key)] = None if snapshot is None else encode.encode_contact(snapshot)
        for district_id, student_id in dirty[STUDENTS]:
            entry = self._students[(district_id, student_id)]
            key = table_key(district_id, student_id)
            found[(STUDENTS, key)] = (
                encode.encode_student(entry) if entry is not None and entry.kept else None
            )
        for district_id, contact_id in dirty[GRANTS]:
            grants = self._grants[(district_id, contact_id)]
            key = table_key(district_id, contact_id)
            found[(GRANTS, key)] = (
                encode.encode_grants(grants) if grants is not None and grants.grants else None
            )
        for district_id in dirty[DISTRICTS]:
            progress = self._districts[district_id]
            if progress is not None:
                self._prepare_district(progress, found)
        for district_id, event_id in dirty[EVENTS]:
            day = self._events[(district_id, event_id)]
            key = table_key(district_id, event_id)
            found[(EVENTS, key)] = None if day is None else encode.encode_day(day)
        for written in dirty.values():
            written.clear()
        self._undo.clear()
        prepared = self._prepared
        for (table, key), value in list(found.items()):
            absent = value is None and (table, key) not in prepared
            if absent and self.backing.get(table, key) is None:
                del found[(table, key)]
        prepared.update(found)
        return found

    def _prepare_district(
        self, progress: DistrictProgress, found: dict[tuple[str, bytes], bytes | None]
    ) -> None:
        district_id = progress.district_id
        key = table_key(district_id)
        found[(DISTRICTS, key)] = self._format.encode_progress(progress)
        deleted = progress.recently_deleted
        stored = self._deleted.get(district_id, ())
        if deleted is not stored and deleted != stored:
            found[(DELETED, key)] = self._format.encode_deleted(district_id, deleted)
            self._deleted[district_id] = deleted

    @property
    def has_writes(self) -> bool:
        """Whether the transaction holds writes, prepared or not."""
        return bool(self._prepared) or any(self._dirty.values())

    def commit(self, changelog_offset: int | None) -> None:
        """Kafka committed the transaction: apply the prepared writes to the backing, with the
        changelog offset after their records (None: the transaction sent none)."""
        if any(self._dirty.values()):
            raise RuntimeError("commit before prepare: writes would be lost")
        if self._prepared:
            if changelog_offset is None:
                raise RuntimeError("prepared writes committed without their changelog offset")
            self.backing.apply(self._prepared, changelog_offset=changelog_offset)
            self._prepared = {}
        self._undo.clear()
        if any(len(kept) > self._keep for kept in self._kept.values()):
            self._forget_kept()

    def abort(self) -> None:
        """Drop every write of the transaction, and every value kept (it may hold them)."""
        self._prepared = {}
        for written in self._dirty.values():
            written.clear()
        self._undo.clear()
        self._forget_kept()

    def _forget_kept(self) -> None:
        for kept in self._kept.values():
            kept.clear()
        self._deleted.clear()

    # -- reading ----------------------------------------------------------------------------

    def _read_district(self, district_id: str) -> DistrictProgress | None:
        key = table_key(district_id)
        data = self.backing.get(DISTRICTS, key)
        if data is None:
            return None
        progress = self._format.decode_progress(data)
        deleted_data = self.backing.get(DELETED, key)
        if deleted_data is None:
            self._deleted[district_id] = ()
            return progress
        deleted = self._format.decode_progress(deleted_data).recently_deleted
        self._deleted[district_id] = deleted
        return replace(progress, recently_deleted=deleted)

    def _ids(self, table: str, district_id: str) -> list[str]:
        """The IDs of ``district_id`` in ``table``: the backing's, with this transaction's
        writes (prepared, then since), in the order of their keys."""
        prefix = district_prefix(district_id)
        found = set(self.backing.keys(table, prefix))
        for (written_table, key), value in self._prepared.items():
            if written_table == table and key.startswith(prefix):
                if value is None:
                    found.discard(key)
                else:
                    found.add(key)
        kept = self._kept[table]
        for written in self._dirty[table]:
            if written[0] != district_id:
                continue
            key = table_key(*written)
            if _present(kept[written]):
                found.add(key)
            else:
                found.discard(key)
        return ids_of(sorted(found), district_id)


def _present(value: object) -> bool:
    """Whether a kept value is an entry of its table (not deleted, not empty)."""
    if value is None:
        return False
    if isinstance(value, StudentEntry):
        return value.kept
    if isinstance(value, ContactGrants):
        return bool(value.grants)
    return True
