"""The state the privilege processor keeps, as a Protocol, and an in-memory store of it.

The processor is pure apart from this store. Both engines give it a partition's
``streams.state.transaction.PartitionTransaction`` over their tables; tests and an in-process
replay use ``MemoryStore``. Every method is synchronous: the tables are in the worker's memory
or local files. A savepoint per raw record lets the processor undo a record that fails
half-way, so a dead-lettered record leaves no trace.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Final, Protocol

from schemas.records import ContactSnapshot

#: How many deleted contacts a district remembers to label re-creations (``reissued_from``).
RECENTLY_DELETED_LIMIT: Final = 256
#: How many distinct skipped record types a district counts; the rest count as ``OTHER_SKIPS``.
SKIP_COUNT_LIMIT: Final = 64
OTHER_SKIPS: Final = "(other)"
#: No value: a key the store did not hold.
_ABSENT: Final = object()


@dataclass(frozen=True, slots=True, kw_only=True)
class DistrictProgress:
    """Where one district's raw stream stands in the processor, and what it remembers.

    ``last_partition``/``last_offset`` are the last raw record applied: a record at or before
    it on the same partition is a replay (the same Kafka record again, after a crash or a
    rewind) and changes nothing. ``record_count`` counts the district's records applied so
    far: a record's number, in its change IDs, is the count once it is applied, so a replay
    of the raw stream numbers every record alike. ``event_day`` is the district's event time
    (the newest day of an event remembered, see ``streams.processor.events``).
    ``sync_id`` is the sync whose snapshot is arriving, if any.
    ``recently_deleted`` holds the last ``RECENTLY_DELETED_LIMIT`` deleted contacts that
    could be re-created under a new ID (no SIS ID, some students), oldest first.
    ``skipped`` counts records of other types by type, so an operator can see what arrives.
    """

    district_id: str
    last_partition: int | None = None
    last_offset: int | None = None
    record_count: int = 0
    event_day: int | None = None
    synced_through: str | None = None
    synced_api_version: str | None = None
    sync_id: str | None = None
    recently_deleted: tuple[tuple[str, ContactSnapshot], ...] = ()
    skipped: tuple[tuple[str, int], ...] = ()

    def has_applied(self, partition: int, offset: int) -> bool:
        """Whether the record at ``partition``/``offset`` was applied already.

        Offsets only compare within a partition; a district found on another partition (the
        raw topic was re-partitioned) starts counting afresh there.
        """
        return (
            self.last_partition == partition
            and self.last_offset is not None
            and offset <= self.last_offset
        )

    def at(self, partition: int, offset: int) -> DistrictProgress:
        """This progress with the record at ``partition``/``offset`` applied: its position,
        and one more record counted (built directly: every record makes one)."""
        return DistrictProgress(
            district_id=self.district_id,
            last_partition=partition,
            last_offset=offset,
            record_count=self.record_count + 1,
            event_day=self.event_day,
            synced_through=self.synced_through,
            synced_api_version=self.synced_api_version,
            sync_id=self.sync_id,
            recently_deleted=self.recently_deleted,
            skipped=self.skipped,
        )

    def remember_deleted(self, snapshot: ContactSnapshot) -> DistrictProgress:
        """This progress with ``snapshot`` as the newest deleted contact, the oldest dropped."""
        kept = tuple(entry for entry in self.recently_deleted if entry[0] != snapshot.contact_id)
        window = (*kept, (snapshot.contact_id, snapshot))[-RECENTLY_DELETED_LIMIT:]
        return replace(self, recently_deleted=window)

    def forget_deleted(self, contact_id: str) -> DistrictProgress:
        """This progress without ``contact_id`` among the deleted (it was re-created)."""
        window = tuple(entry for entry in self.recently_deleted if entry[0] != contact_id)
        if len(window) == len(self.recently_deleted):
            return self  # not among them: nothing to forget
        return replace(self, recently_deleted=window)

    def count_skip(self, record_type: str) -> DistrictProgress:
        """This progress with one more skipped record of ``record_type``."""
        counts = dict(self.skipped)
        if record_type not in counts and len(counts) >= SKIP_COUNT_LIMIT:
            record_type = OTHER_SKIPS
        counts[record_type] = counts.get(record_type, 0) + 1
        return replace(self, skipped=tuple(sorted(counts.items())))


@dataclass(frozen=True, slots=True, kw_only=True)
class PairGrant:
    """One live pair: when the pipeline granted it, the contact it was reissued from, if any,
    and the change that last changed it.

    Kept because ``PrivilegeState`` carries them on every later state of the pair (a cosmetic
    rewrite's too, which is no change), and ``ContactSnapshot`` (the contract's record of a
    contact) has no room for them. ``last_change_id`` is empty for a pair granted by a
    version that did not keep it.
    """

    student_id: str
    granted_at: datetime
    reissued_from_contact_id: str | None = None
    last_change_id: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ContactGrants:
    """The grants of one contact's live pairs, by student ID (sorted)."""

    district_id: str
    contact_id: str
    grants: tuple[PairGrant, ...] = field(default_factory=tuple)

    def get(self, student_id: str) -> PairGrant | None:
        """The grant of ``student_id``'s pair, if live."""
        return next((grant for grant in self.grants if grant.student_id == student_id), None)


@dataclass(frozen=True, slots=True, kw_only=True)
class StudentEntry:
    """One student of a district as the processor knows it.

    ``exists``: some event or sync snapshot showed the student, and nothing deleted it since;
    a pair is live only while its student exists. ``last_sync_id``: the last sync whose
    snapshot held it (a sync's end makes every student it did not hold gone).
    ``listed_by``: the contacts whose current record lists the student, whether it exists or
    not, so that its deletion revokes them and its creation grants them without a scan. An
    entry that neither exists nor is listed is not kept.
    """

    district_id: str
    student_id: str
    exists: bool = False
    last_sync_id: str | None = None
    listed_by: frozenset[str] = frozenset()

    @property
    def kept(self) -> bool:
        """Whether the entry says anything: a store drops one that does not."""
        return self.exists or bool(self.listed_by)

    def listing(self, contact_id: str, *, listed: bool) -> StudentEntry:
        """This entry with ``contact_id`` among the contacts listing it, or not."""
        listed_by = self.listed_by | {contact_id} if listed else self.listed_by - {contact_id}
        return StudentEntry(
            district_id=self.district_id,
            student_id=self.student_id,
            exists=self.exists,
            last_sync_id=self.last_sync_id,
            listed_by=listed_by,
        )


class StateStore(Protocol):
    """The processor's tables: contacts, students, grants, districts, applied event IDs.

    Keys are Clever IDs (strings). Setting an empty value (no grants, a student neither
    existing nor listed) deletes the entry, so a table never fills with empty records.
    """

    def savepoint(self) -> None:
        """Mark the start of a raw record: ``rollback`` undoes every write made after it."""
        ...

    def rollback(self) -> None:
        """Undo every write since the savepoint."""
        ...

    def get_contact(self, district_id: str, contact_id: str) -> ContactSnapshot | None: ...

    def put_contact(self, snapshot: ContactSnapshot) -> None: ...

    def delete_contact(self, district_id: str, contact_id: str) -> None: ...

    def contact_ids(self, district_id: str) -> Iterable[str]:
        """Every stored contact of the district (read at a sync's end to reconcile)."""
        ...

    def get_student(self, district_id: str, student_id: str) -> StudentEntry | None: ...

    def put_student(self, entry: StudentEntry) -> None: ...

    def student_ids(self, district_id: str) -> Iterable[str]:
        """Every stored student of the district (read at a sync's end to reconcile)."""
        ...

    def get_grants(self, district_id: str, contact_id: str) -> ContactGrants | None: ...

    def put_grants(self, grants: ContactGrants) -> None: ...

    def get_district(self, district_id: str) -> DistrictProgress | None: ...

    def put_district(self, progress: DistrictProgress) -> None: ...

    def event_day(self, district_id: str, event_id: str) -> int | None:
        """The day (since the epoch) of an applied event still remembered, else None."""
        ...

    def remember_event(self, district_id: str, event_id: str, day: int) -> None: ...

    def forget_event(self, district_id: str, event_id: str) -> None: ...

    def remembered_events(self, district_id: str) -> Iterable[tuple[str, int]]:
        """Every remembered (event ID, day) of the district (read once a day to expire)."""
        ...


class MemoryStore:
    """A ``StateStore`` in dicts: for tests, and for replaying the raw topic in one process."""

    def __init__(self) -> None:
        self.contacts: dict[tuple[str, str], ContactSnapshot] = {}
        self.students: dict[tuple[str, str], StudentEntry] = {}
        self.grants: dict[tuple[str, str], ContactGrants] = {}
        self.districts: dict[str, DistrictProgress] = {}
        self.events: dict[tuple[str, str], int] = {}
        #: The savepoint's undo log, oldest first: (a table, a key, its value before, or
        #: _ABSENT).
        self._undo: list[tuple[dict[Any, Any], Any, object]] = []

    def savepoint(self) -> None:
        self._undo.clear()

    def rollback(self) -> None:
        for table, key, before in reversed(self._undo):
            if before is _ABSENT:
                table.pop(key, None)
            else:
                table[key] = before
        self._undo.clear()

    def _mark(self, table: dict[Any, Any], key: Any) -> None:
        """Keep ``key``'s value before this write, for a rollback."""
        self._undo.append((table, key, table.get(key, _ABSENT)))

    def get_contact(self, district_id: str, contact_id: str) -> ContactSnapshot | None:
        return self.contacts.get((district_id, contact_id))

    def put_contact(self, snapshot: ContactSnapshot) -> None:
        key = (snapshot.district_id, snapshot.contact_id)
        self._mark(self.contacts, key)
        self.contacts[key] = snapshot

    def delete_contact(self, district_id: str, contact_id: str) -> None:
        self._mark(self.contacts, (district_id, contact_id))
        self.contacts.pop((district_id, contact_id), None)

    def contact_ids(self, district_id: str) -> Iterator[str]:
        # A list first: the caller deletes contacts while it walks them.
        return iter([contact for district, contact in self.contacts if district == district_id])

    def get_student(self, district_id: str, student_id: str) -> StudentEntry | None:
        return self.students.get((district_id, student_id))

    def put_student(self, entry: StudentEntry) -> None:
        key = (entry.district_id, entry.student_id)
        self._mark(self.students, key)
        if entry.kept:
            self.students[key] = entry
        else:
            self.students.pop(key, None)

    def student_ids(self, district_id: str) -> Iterator[str]:
        return iter([student for district, student in self.students if district == district_id])

    def get_grants(self, district_id: str, contact_id: str) -> ContactGrants | None:
        return self.grants.get((district_id, contact_id))

    def put_grants(self, grants: ContactGrants) -> None:
        key = (grants.district_id, grants.contact_id)
        self._mark(self.grants, key)
        if grants.grants:
            self.grants[key] = grants
        else:
            self.grants.pop(key, None)

    def get_district(self, district_id: str) -> DistrictProgress | None:
        return self.districts.get(district_id)

    def put_district(self, progress: DistrictProgress) -> None:
        self._mark(self.districts, progress.district_id)
        self.districts[progress.district_id] = progress

    def event_day(self, district_id: str, event_id: str) -> int | None:
        return self.events.get((district_id, event_id))

    def remember_event(self, district_id: str, event_id: str, day: int) -> None:
        self._mark(self.events, (district_id, event_id))
        self.events[district_id, event_id] = day

    def forget_event(self, district_id: str, event_id: str) -> None:
        self._mark(self.events, (district_id, event_id))
        self.events.pop((district_id, event_id), None)

    def remembered_events(self, district_id: str) -> Iterator[tuple[str, int]]:
        return iter(
            [
                (event, day)
                for (district, event), day in self.events.items()
                if district == district_id
            ]
        )
