"""A store that keeps decoded values and writes each key once per transaction, at commit.

Through ``TableStore`` alone, every record decodes what it reads and encodes what it
writes: its district's progress (read and written by every record), the contact, its
students and grants, its event ID. Most of that is the same keys again and again; this
store keeps what was read or written as objects and encodes only the last value of each
written key, when the engine commits (``flush``). What it keeps stays valid after a
commit, which made the tables hold exactly those values, so later transactions read it
without decoding; an aborted transaction drops it all (``forget``), like the pending table
writes below it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from schemas.records import ContactSnapshot
from streams.processor.store import ContactGrants, DistrictProgress, StudentEntry
from streams.state.tables import TableStore


class WriteBackStore:
    """A ``StateStore`` over a ``TableStore``: reads cached, writes deferred to ``flush``."""

    def __init__(self, store: TableStore, *, keep: int = 50_000) -> None:
        self._store = store
        #: How many values of a table are kept past a flush, at most.
        self._keep = keep
        self._contacts: dict[tuple[str, str], ContactSnapshot | None] = {}
        self._students: dict[tuple[str, str], StudentEntry | None] = {}
        self._grants: dict[tuple[str, str], ContactGrants | None] = {}
        self._districts: dict[str, DistrictProgress | None] = {}
        self._events: dict[tuple[str, str], int | None] = {}
        #: The keys written since the last flush, per table.
        self._written_contacts: set[tuple[str, str]] = set()
        self._written_students: set[tuple[str, str]] = set()
        self._written_grants: set[tuple[str, str]] = set()
        self._written_districts: set[str] = set()
        self._written_events: set[tuple[str, str]] = set()

    def get_contact(self, district_id: str, contact_id: str) -> ContactSnapshot | None:
        key = (district_id, contact_id)
        try:
            return self._contacts[key]
        except KeyError:
            found = self._contacts[key] = self._store.get_contact(district_id, contact_id)
            return found

    def put_contact(self, snapshot: ContactSnapshot) -> None:
        key = (snapshot.district_id, snapshot.contact_id)
        self._contacts[key] = snapshot
        self._written_contacts.add(key)

    def delete_contact(self, district_id: str, contact_id: str) -> None:
        key = (district_id, contact_id)
        self._contacts[key] = None
        self._written_contacts.add(key)

    def contact_ids(self, district_id: str) -> Iterable[str]:
        # Rare (a sync's end): the table's own listing, once the deferred writes are in.
        self.flush()
        return self._store.contact_ids(district_id)

    def get_student(self, district_id: str, student_id: str) -> StudentEntry | None:
        key = (district_id, student_id)
        try:
            found = self._students[key]
        except KeyError:
            found = self._students[key] = self._store.get_student(district_id, student_id)
        return found if found is not None and found.kept else None

    def put_student(self, entry: StudentEntry) -> None:
        key = (entry.district_id, entry.student_id)
        self._students[key] = entry
        self._written_students.add(key)

    def student_ids(self, district_id: str) -> Iterable[str]:
        # As rare as contact_ids.
        self.flush()
        return self._store.student_ids(district_id)

    def get_grants(self, district_id: str, contact_id: str) -> ContactGrants | None:
        key = (district_id, contact_id)
        try:
            return self._grants[key]
        except KeyError:
            found = self._grants[key] = self._store.get_grants(district_id, contact_id)
            return found

    def put_grants(self, grants: ContactGrants) -> None:
        key = (grants.district_id, grants.contact_id)
        self._grants[key] = grants
        self._written_grants.add(key)

    def get_district(self, district_id: str) -> DistrictProgress | None:
        try:
            return self._districts[district_id]
        except KeyError:
            found = self._districts[district_id] = self._store.get_district(district_id)
            return found

    def put_district(self, progress: DistrictProgress) -> None:
        self._districts[progress.district_id] = progress
        self._written_districts.add(progress.district_id)

    def event_day(self, district_id: str, event_id: str) -> int | None:
        key = (district_id, event_id)
        try:
            return self._events[key]
        except KeyError:
            found = self._events[key] = self._store.event_day(district_id, event_id)
            return found

    def remember_event(self, district_id: str, event_id: str, day: int) -> None:
        key = (district_id, event_id)
        self._events[key] = day
        self._written_events.add(key)

    def forget_event(self, district_id: str, event_id: str) -> None:
        key = (district_id, event_id)
        self._events[key] = None
        self._written_events.add(key)

    def remembered_events(self, district_id: str) -> Iterable[tuple[str, int]]:
        # Once a day of a district's event time: the table's, with the writes not flushed.
        found = dict(self._store.remembered_events(district_id))
        for written_district, event_id in self._written_events:
            if written_district == district_id:
                day = self._events[(written_district, event_id)]
                if day is None:
                    found.pop(event_id, None)
                else:
                    found[event_id] = day
        return list(found.items())

    def flush(self) -> None:
        """Write every key written since the last flush, its last value, to the tables."""
        store = self._store
        for district_id, contact_id in self._written_contacts:
            snapshot = self._contacts[(district_id, contact_id)]
            if snapshot is None:
                store.delete_contact(district_id, contact_id)
            else:
                store.put_contact(snapshot)
        for key in self._written_students:
            entry = self._students[key]
            if entry is not None:
                store.put_student(entry)
        for key in self._written_grants:
            grants = self._grants[key]
            if grants is not None:
                store.put_grants(grants)
        for district_id in self._written_districts:
            progress = self._districts[district_id]
            if progress is not None:
                store.put_district(progress)
        for district_id, event_id in self._written_events:
            day = self._events[(district_id, event_id)]
            if day is None:
                store.forget_event(district_id, event_id)
            else:
                store.remember_event(district_id, event_id, day)
        self._clear_written()
        for cache in self._caches():
            if len(cache) > self._keep:
                cache.clear()

    def forget(self) -> None:
        """Drop every cached and deferred value (the transaction was aborted)."""
        for cache in self._caches():
            cache.clear()
        self._clear_written()

    def _caches(self) -> tuple[dict[Any, Any], ...]:
        return (self._contacts, self._students, self._grants, self._districts, self._events)

    def _clear_written(self) -> None:
        for written in (
            self._written_contacts,
            self._written_students,
            self._written_grants,
            self._written_districts,
            self._written_events,
        ):
            written.clear()
