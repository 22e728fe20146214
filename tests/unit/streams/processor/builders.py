"""Clever JSON as Clever sends it (after seeds/003 and seeds/004), the raw records the poller
makes of it, and a harness that feeds them to the processor at increasing offsets."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.mapping import (
    event_record,
    snapshot_record,
    sync_completed_record,
    sync_started_record,
)
from schemas.records import Privilege, RawCleverRecord
from schemas.values import RecordSource
from streams.core import contact_from_snapshot
from streams.processor import MemoryStore, Outputs, Position, StudentEntry, process

DISTRICT = "6385008f69df036e83e984a3"
NOW = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
FETCHED = datetime(2025, 3, 4, 5, 0, 0, tzinfo=UTC)
PARENT = ("Parent", "Parent/Guardian")
AUNT = ("Aunt/Uncle", "Family")
EMERGENCY = ("Parent", "Emergency")

_event_ids = itertools.count(1)


def v3_contact(
    contact_id: str,
    students: dict[str, tuple[str, str]],
    *,
    sis_id: str = "",
    district: str = DISTRICT,
) -> dict[str, Any]:
    """A v3 contact user like seeds/003's example; ``students`` maps student ID to
    (relationship, type)."""
    return {
        "created": "2022-11-28T18:46:36.819Z",
        "district": district,
        "email": f"{contact_id}@example.com",
        "last_modified": "2024-11-04T21:05:06.631Z",
        "name": {"last": "Aaron Collins"},
        "id": contact_id,
        "roles": {
            "contact": {
                "phone": "1-(330) 280-1898",
                "phone_type": "Other",
                "sis_id": sis_id,
                "student_relationships": [
                    {"relationship": relationship, "student": student, "type": contact_type}
                    for student, (relationship, contact_type) in students.items()
                ],
                "legacy_id": f"legacy-{contact_id}",
            }
        },
    }


def v3_student(student_id: str, *, district: str = DISTRICT) -> dict[str, Any]:
    """A v3 student user."""
    return {
        "id": student_id,
        "district": district,
        "name": {"first": "Jean", "last": "Grey"},
        "roles": {"student": {"grade": "8", "sis_id": f"sis-{student_id}", "school": "sch1"}},
        "created": "2015-09-30T21:07:57.525Z",
    }


def v21_contact(
    contact_id: str,
    students: list[str],
    relationship: tuple[str, str] = PARENT,
    *,
    sis_id: str | None = None,
) -> dict[str, Any]:
    """A v2.1 contact: one relationship and type for every student."""
    return {
        "id": contact_id,
        "district": DISTRICT,
        "students": students,
        "relationship": relationship[0],
        "type": relationship[1],
        "phone": "(555) 555-0100",
        "phone_type": "Cell",
        "sis_id": sis_id,
        "name": "Aaron Collins",
    }


def event(
    event_type: str, obj: dict[str, Any], *, event_id: str | None = None, **extra: Any
) -> dict[str, Any]:
    """A Clever event envelope (seeds/004)."""
    return {
        "id": event_id or f"evt{next(_event_ids):05d}",
        "type": event_type,
        "created": "2025-03-04T05:00:00.000Z",
        "data": {"object": obj, **extra},
    }


def raw_event(item: dict[str, Any], *, api_version: str = "v3.0") -> RawCleverRecord:
    return event_record(item, district_id=DISTRICT, api_version=api_version, fetched_at=FETCHED)


def raw_snapshot(
    obj: dict[str, Any], sync_id: str, *, record_type: str = "users"
) -> RawCleverRecord:
    return snapshot_record(
        obj,
        district_id=DISTRICT,
        api_version="v3.0",
        record_type=record_type,
        sync_id=sync_id,
        source=RecordSource.RESYNC,
        fetched_at=FETCHED,
    )


def raw_sync_started(sync_id: str) -> RawCleverRecord:
    return sync_started_record(
        district_id=DISTRICT,
        api_version="v3.0",
        sync_id=sync_id,
        source=RecordSource.RESYNC,
        bookmark_event_id=None,
        fetched_at=FETCHED,
    )


def raw_sync_completed(sync_id: str, count: int = 0) -> RawCleverRecord:
    return sync_completed_record(
        district_id=DISTRICT,
        api_version="v3.0",
        sync_id=sync_id,
        source=RecordSource.RESYNC,
        snapshot_records=count,
        fetched_at=FETCHED,
    )


Pairs = dict[tuple[str, str, str], Privilege]


#: The students a ``Harness`` district has from the start.
STUDENTS = ("s1", "s2", "s3", "s4", "s9")


def existing(*student_ids: str, district_id: str = DISTRICT) -> MemoryStore:
    """A store whose district knows these students exist (as if a sync had shown them)."""
    store = MemoryStore()
    for student_id in student_ids:
        store.put_student(StudentEntry(district_id=district_id, student_id=student_id, exists=True))
    return store


@dataclass
class Harness:
    """A processor over a ``MemoryStore``, fed records at increasing offsets of partition 0.

    The district's ``STUDENTS`` exist from the start (a pair is live only while its student
    exists), so a scenario needs no student events unless it is about them.
    """

    store: MemoryStore = field(default_factory=lambda: existing(*STUDENTS))
    offset: int = 0
    now: datetime = NOW

    def feed(self, record: RawCleverRecord) -> Outputs:
        outputs = self.at(self.offset, record)
        self.offset += 1
        self.now += timedelta(seconds=1)
        return outputs

    def feed_all(self, records: Iterable[RawCleverRecord]) -> list[Outputs]:
        return [self.feed(record) for record in records]

    def at(self, offset: int, record: RawCleverRecord) -> Outputs:
        return process(record, position=Position(0, offset), store=self.store, now=self.now)

    def pairs(self) -> Pairs:
        return live_pairs(self.store)


def live_pairs(store: MemoryStore) -> Pairs:
    """Every live (district, contact, student) pair the store holds: its grants, with the
    privileges the contacts list."""
    return {
        (district, contact, grant.student_id): dict(
            (relation.student_id, relation.privilege)
            for relation in store.contacts[district, contact].relationships
        )[grant.student_id]
        for (district, contact), grants in store.grants.items()
        for grant in grants.grants
    }


def listed_and_existing(store: MemoryStore) -> set[tuple[str, str, str]]:
    """The pairs whose contact lists an existing student: the live pairs outside a sync."""
    return {
        (district, contact, student)
        for (district, contact), snapshot in store.contacts.items()
        for student in contact_from_snapshot(snapshot).relationships
        if (entry := store.students.get((district, student))) is not None and entry.exists
    }


def kinds(outputs: Outputs) -> list[tuple[str, str, str]]:
    """(kind, contact, student) of each change, in emission order."""
    return [(str(change.kind), change.contact_id, change.student_id) for change in outputs.changes]
