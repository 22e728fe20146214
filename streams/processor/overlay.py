"""A write buffer over a ``StateStore``: one record's writes land together or not at all.

A record can fail half-way (an ID a state key cannot hold, found after its contact was
written). It is then dead-lettered, and the store must look as if it had never been seen,
or a later replay of the district would start from a state no record produced.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from schemas.records import ContactSnapshot
from streams.processor.store import ContactGrants, DistrictProgress, StateStore, StudentEntry

_DELETED: Final = None


class Overlay:
    """A ``StateStore`` that reads through to ``base`` and keeps writes until ``commit``."""

    def __init__(self, base: StateStore) -> None:
        self._base = base
        self._contacts: dict[tuple[str, str], ContactSnapshot | None] = {}
        self._students: dict[tuple[str, str], StudentEntry] = {}
        self._grants: dict[tuple[str, str], ContactGrants] = {}
        self._districts: dict[str, DistrictProgress] = {}
        #: Event days, None where an event is forgotten.
        self._events: dict[tuple[str, str], int | None] = {}

    def get_contact(self, district_id: str, contact_id: str) -> ContactSnapshot | None:
        key = (district_id, contact_id)
        if key in self._contacts:
            return self._contacts[key]
        return self._base.get_contact(district_id, contact_id)

    def put_contact(self, snapshot: ContactSnapshot) -> None:
        self._contacts[snapshot.district_id, snapshot.contact_id] = snapshot

    def delete_contact(self, district_id: str, contact_id: str) -> None:
        self._contacts[district_id, contact_id] = _DELETED

    def contact_ids(self, district_id: str) -> Iterator[str]:
        written = {
            contact: snapshot
            for (district, contact), snapshot in self._contacts.items()
            if district == district_id
        }
        base = [
            contact for contact in self._base.contact_ids(district_id) if contact not in written
        ]
        added = [contact for contact, snapshot in written.items() if snapshot is not _DELETED]
        return iter(base + added)

    def get_student(self, district_id: str, student_id: str) -> StudentEntry | None:
        key = (district_id, student_id)
        if key in self._students:
            entry = self._students[key]
            return entry if entry.kept else None
        return self._base.get_student(district_id, student_id)

    def put_student(self, entry: StudentEntry) -> None:
        self._students[entry.district_id, entry.student_id] = entry

    def student_ids(self, district_id: str) -> Iterator[str]:
        written = {
            student: entry
            for (district, student), entry in self._students.items()
            if district == district_id
        }
        base = [
            student for student in self._base.student_ids(district_id) if student not in written
        ]
        added = [student for student, entry in written.items() if entry.kept]
        return iter(base + added)

    def get_grants(self, district_id: str, contact_id: str) -> ContactGrants | None:
        key = (district_id, contact_id)
        if key in self._grants:
            grants = self._grants[key]
            return grants if grants.grants else None
        return self._base.get_grants(district_id, contact_id)

    def put_grants(self, grants: ContactGrants) -> None:
        self._grants[grants.district_id, grants.contact_id] = grants

    def get_district(self, district_id: str) -> DistrictProgress | None:
        return self._districts.get(district_id) or self._base.get_district(district_id)

    def put_district(self, progress: DistrictProgress) -> None:
        self._districts[progress.district_id] = progress

    def event_day(self, district_id: str, event_id: str) -> int | None:
        key = (district_id, event_id)
        if key in self._events:
            return self._events[key]
        return self._base.event_day(district_id, event_id)

    def remember_event(self, district_id: str, event_id: str, day: int) -> None:
        self._events[district_id, event_id] = day

    def forget_event(self, district_id: str, event_id: str) -> None:
        self._events[district_id, event_id] = None

    def remembered_events(self, district_id: str) -> Iterator[tuple[str, int]]:
        written = {
            event: day for (district, event), day in self._events.items() if district == district_id
        }
        base = [
            (event, day)
            for event, day in self._base.remembered_events(district_id)
            if event not in written
        ]
        added = [(event, day) for event, day in written.items() if day is not None]
        return iter(base + added)

    def commit(self) -> None:
        """Write everything buffered to the base store, in a deterministic order."""
        for (district_id, contact_id), snapshot in self._contacts.items():
            if snapshot is _DELETED:
                self._base.delete_contact(district_id, contact_id)
            else:
                self._base.put_contact(snapshot)
        for entry in self._students.values():
            self._base.put_student(entry)
        for grants in self._grants.values():
            self._base.put_grants(grants)
        for progress in self._districts.values():
            self._base.put_district(progress)
        for (district_id, event_id), day in self._events.items():
            if day is None:
                self._base.forget_event(district_id, event_id)
            else:
                self._base.remember_event(district_id, event_id, day)
